"""``GET /api/v1/status``: how the installation is doing, for the health view and a glance
from the corner: the last WhatsApp message received (and through what), what waits to be
sent and what failed, the last backup and the second folder, the free disk space where the
data lives, the database's size, the log folder and the version, and the list of what needs
someone's attention."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
from litestar import get

from clinicbot import __version__
from clinicbot.db import Database
from clinicbot.services.backups import DailyBackups, list_backups
from clinicbot.store import outbox
from clinicbot.web.params import Clock

LOW_DISK = 1_000_000_000  # bytes: below this, backups and the database are at risk
BACKUP_TOO_OLD = timedelta(days=2)
WAITING_TOO_LONG = timedelta(minutes=30)  # a message not out after this: the sender is stuck

# What ``attention`` may list, worst first.
ATTENTION = (
    "disk_low",  # under 1 GB free
    "backup_failing",  # the last daily backup failed
    "backup_old",  # no backup for 2 days (or none at all once the first should be there)
    "copy_folder",  # the second folder is set but cannot be written
    "failed_sends",  # messages WhatsApp would not take
    "waiting",  # a message has waited over 30 minutes to go out
)


class Status(msgspec.Struct, frozen=True):
    last_message_at: str | None  # the last WhatsApp message stored (simulator aside)
    backlog: int  # messages waiting to go out
    failed: int  # messages WhatsApp would not take
    last_backup_at: str | None
    backup_error: str | None  # why the last daily backup failed, if it did
    disk_free_bytes: int
    disk_low: bool  # under 1 GB free where the data lives
    data_dir: str
    last_message_via: str | None = None  # "webhook" or "relay"
    oldest_waiting_at: str | None = None  # when the oldest message waiting was written
    backup_folder: str | None = None
    copy_folder: str | None = None  # the second folder for backups, when one is set
    copy_folder_problem: str | None = None  # why it cannot take backups, in words
    last_copy_at: str | None = None  # the newest backup in the second folder
    database_bytes: int = 0  # clinicbot.db with its write-ahead log
    log_dir: str = ""
    version: str = __version__
    checked_at: str = ""  # the server's time of this answer
    attention: list[str] = []  # codes from ATTENTION, worst first; empty when all is well


class _Data(msgspec.Struct, frozen=True):
    last_message_at: str | None
    last_message_via: str | None
    backlog: int
    failed: int
    oldest_waiting_at: str | None


def _last_message(conn: sqlite3.Connection) -> str | None:
    for received_at, sender in conn.execute(  # newest first: rowids grow with arrival
        "SELECT received_at, sender FROM inbound_messages ORDER BY rowid DESC LIMIT 200"
    ):
        if not str(sender).startswith("SIM."):
            return str(received_at)
    return None


def _via(conn: sqlite3.Connection, received_at: str | None) -> str | None:
    """The relay poller stores the cursor in the same transaction (and with the same time)
    as the messages it brings; a message newer than the cursor came by the webhook."""
    if received_at is None:
        return None
    row = conn.execute("SELECT updated_at FROM app_state WHERE key = 'relay_cursor'").fetchone()
    return "relay" if row is not None and str(row[0]) >= received_at else "webhook"


def _read(conn: sqlite3.Connection) -> _Data:
    backlog, failed = outbox.counts(conn, None)
    oldest = conn.execute(
        "SELECT min(created_at) FROM outbox WHERE status IN ('queued', 'sending')"
        " AND simulated = 0 AND kind != 'read'"
    ).fetchone()[0]
    last = _last_message(conn)
    return _Data(last, _via(conn, last), backlog, failed, oldest)


def _copy_problem(folder: Path) -> str | None:
    if not folder.is_dir():
        return f"The folder {folder} is not there (is the USB drive plugged in?)."
    if not os.access(folder, os.W_OK):
        return f"clinicbot may not write into {folder}."
    return None


def _database_bytes(db_path: Path) -> int:
    files = (db_path, db_path.with_name(db_path.name + "-wal"))
    return sum(f.stat().st_size for f in files if f.exists())


def _attention(
    status: Status, data: _Data, now: datetime, first_backup_due: datetime | None
) -> list[str]:
    """``first_backup_due``: when a first backup should exist (None: no backups here)."""

    def older(stamp: str | None, limit: timedelta) -> bool:
        return stamp is not None and now - datetime.fromisoformat(stamp) > limit

    if status.last_backup_at is not None:
        backup_old = older(status.last_backup_at, BACKUP_TOO_OLD)
    else:
        backup_old = first_backup_due is not None and now > first_backup_due
    found = {
        "disk_low": status.disk_low,
        "backup_failing": status.backup_error is not None,
        "backup_old": backup_old,
        "copy_folder": status.copy_folder_problem is not None,
        "failed_sends": status.failed > 0,
        "waiting": older(data.oldest_waiting_at, WAITING_TOO_LONG),
    }
    return [code for code in ATTENTION if found[code]]


class _Files(msgspec.Struct, frozen=True):
    last_backup_at: str | None
    backup_folder: str | None
    copy_folder: str | None
    copy_folder_problem: str | None
    last_copy_at: str | None
    disk_free_bytes: int
    database_bytes: int


def _files(data_dir: Path, db_path: Path, backups: DailyBackups | None) -> _Files:
    """What the file system says (off the event loop: a network share may be slow)."""
    kept = list_backups(backups.folder) if backups else []
    copy = backups.copy_dir if backups else None
    copies = list_backups(copy) if copy is not None else []
    return _Files(
        last_backup_at=kept[0].taken_at.isoformat() if kept else None,
        backup_folder=str(backups.folder) if backups else None,
        copy_folder=None if copy is None else str(copy),
        copy_folder_problem=None if copy is None else _copy_problem(copy),
        last_copy_at=copies[0].taken_at.isoformat() if copies else None,
        disk_free_bytes=shutil.disk_usage(data_dir).free,
        database_bytes=_database_bytes(db_path),
    )


@get("/status", tags=["system"])
async def installation_status(
    db: Database, data_dir: Path, backups: DailyBackups | None, clock: Clock
) -> Status:
    """The installation at a glance. ``disk_low`` is true under 1 GB free; ``attention``
    lists what needs someone, worst first (see the codes in the health view)."""
    data = await db.read(_read)
    files = await asyncio.to_thread(_files, data_dir, db.path, backups)
    now = clock()
    status = Status(
        last_message_at=data.last_message_at,
        last_message_via=data.last_message_via,
        backlog=data.backlog,
        failed=data.failed,
        oldest_waiting_at=data.oldest_waiting_at,
        backup_error=backups.last_error if backups else None,
        last_backup_at=files.last_backup_at,
        backup_folder=files.backup_folder,
        copy_folder=files.copy_folder,
        copy_folder_problem=files.copy_folder_problem,
        last_copy_at=files.last_copy_at,
        disk_free_bytes=files.disk_free_bytes,
        disk_low=files.disk_free_bytes < LOW_DISK,
        database_bytes=files.database_bytes,
        data_dir=str(data_dir),
        log_dir=str(data_dir / "logs"),
        checked_at=now.isoformat(),
    )
    due = backups.first_due if backups else None
    return msgspec.structs.replace(status, attention=_attention(status, data, now, due))
