"""``GET /api/v1/status``: how the installation is doing, for the health view and a glance
from the corner: the last WhatsApp message received, what waits to be sent and what failed,
the last backup, and the free disk space where the data lives."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import msgspec
from litestar import get

from clinicbot.db import Database
from clinicbot.services.backups import DailyBackups, list_backups
from clinicbot.store import outbox

LOW_DISK = 1_000_000_000  # bytes: below this, backups and the database are at risk


class Status(msgspec.Struct, frozen=True):
    last_message_at: str | None  # the last WhatsApp message stored (simulator aside)
    backlog: int  # messages waiting to go out
    failed: int  # messages WhatsApp would not take
    last_backup_at: str | None
    backup_error: str | None  # why the last daily backup failed, if it did
    disk_free_bytes: int
    disk_low: bool  # under 1 GB free where the data lives
    data_dir: str


def _last_message(conn: sqlite3.Connection) -> str | None:
    for received_at, sender in conn.execute(  # newest first: rowids grow with arrival
        "SELECT received_at, sender FROM inbound_messages ORDER BY rowid DESC LIMIT 200"
    ):
        if not str(sender).startswith("SIM."):
            return str(received_at)
    return None


def _read(conn: sqlite3.Connection) -> tuple[str | None, int, int]:
    backlog, failed = outbox.counts(conn, None)
    return _last_message(conn), backlog, failed


@get("/status", tags=["system"])
async def installation_status(db: Database, data_dir: Path, backups: DailyBackups | None) -> Status:
    """The installation at a glance. ``disk_low`` is true under 1 GB free."""
    last, backlog, failed = await db.read(_read)
    kept = await asyncio.to_thread(list_backups, backups.folder) if backups else []
    free = (await asyncio.to_thread(shutil.disk_usage, data_dir)).free
    return Status(
        last_message_at=last,
        backlog=backlog,
        failed=failed,
        last_backup_at=kept[0].taken_at.isoformat() if kept else None,
        backup_error=backups.last_error if backups else None,
        disk_free_bytes=free,
        disk_low=free < LOW_DISK,
        data_dir=str(data_dir),
    )
