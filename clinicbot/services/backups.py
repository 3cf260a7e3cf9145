"""Backups of ``clinicbot.db``: SQLite's online backup API (never a file copy of the live
database), an integrity check of every copy, retention (7 daily, 4 weekly, 12 monthly), an
optional second folder, and a restore that first keeps the database it replaces.

A backup is ``<data>/backups/clinicbot-YYYYMMDD-HHMMSS.db`` (UTC). It is written under a
temporary name, checked, flushed to disk and only then renamed, so a crash or a full disk
never leaves a file that looks like a finished backup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from clinicbot.db import Database
from clinicbot.errors import Conflict, InvalidInput, NotFound
from clinicbot.services.backoff import pause

if TYPE_CHECKING:
    from clinicbot.services.restore import Restored

log = logging.getLogger(__name__)

NAME = re.compile(r"^clinicbot-(\d{8})-(\d{6})\.db$")
KEPT = re.compile(r"^before-restore-(\d{8})-(\d{6})(?:-\d+)?\.db$")  # what a restore replaced
KEEP_DAILY, KEEP_WEEKLY, KEEP_MONTHLY = 7, 4, 12
FIRST_BACKUP_MARGIN = timedelta(minutes=10)


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why, in words."""


@dataclass(frozen=True)
class Backup:
    path: Path
    taken_at: datetime  # UTC
    size: int


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection (a file URI, escaped: spaces, '#' or '?' in a Windows user
    name must not break it)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def backup_dir(data_dir: Path) -> Path:
    return data_dir / "backups"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d-%H%M%S")


def parse(path: Path, pattern: re.Pattern[str] = NAME) -> datetime | None:
    found = pattern.match(path.name)
    if found is None:
        return None
    return datetime.strptime(found[1] + found[2], "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def list_backups(folder: Path, pattern: re.Pattern[str] = NAME) -> list[Backup]:
    """The finished backups in ``folder`` (or, with ``KEPT``, the databases restores
    replaced), newest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.iterdir():
        taken = parse(path, pattern)
        if taken is not None and path.is_file():
            found.append(Backup(path, taken, path.stat().st_size))
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def check(path: Path) -> None:
    """Raise BackupError unless ``path`` is a sound clinicbot database."""
    try:
        conn = read_only(path)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path.name} is not a readable database ({exc}).") from None
    if result != [("ok",)]:
        raise BackupError(f"{path.name} failed its integrity check: {result[0][0]}")
    if not {"clinics", "patients", "appointments"} <= tables:
        raise BackupError(f"{path.name} is not a clinicbot database.")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_database(source: sqlite3.Connection, target: Path) -> None:
    """The whole database through the online backup API, in one step (one consistent
    snapshot, even while the app keeps writing), into ``target``."""
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
    finally:
        dest.close()


def publish(final: Path, write: Callable[[Path], object], failure: str) -> None:
    """``write`` a database under a temporary name beside ``final``, check it, flush it to
    disk and only then rename it: a crash or a full disk never leaves a file that looks
    like a finished backup."""
    part = final.parent / f".{final.name}.part"
    try:
        final.parent.mkdir(parents=True, exist_ok=True)  # a file in the way, a drive gone
        write(part)
        check(part)
        _fsync(part)
        os.replace(part, final)
        with contextlib.suppress(OSError):  # the rename itself, on file systems that allow it
            _fsync(final.parent)
    except (OSError, sqlite3.Error, BackupError) as exc:
        with contextlib.suppress(OSError):
            part.unlink()
        raise BackupError(f"{failure}: {exc}") from None


def make_backup(db_path: Path, folder: Path, now: datetime) -> Backup:
    """Back ``db_path`` up into ``folder`` and check the copy; return it."""
    final = folder / f"clinicbot-{stamp(now)}.db"

    def write(part: Path) -> None:
        source = read_only(db_path)
        try:
            copy_database(source, part)
        finally:
            source.close()

    publish(final, write, f"Could not write a backup into {folder}")
    return Backup(final, now.astimezone(UTC).replace(microsecond=0), final.stat().st_size)


def copy_to(backup: Backup, folder: Path) -> Backup:
    """A finished backup (a closed file, not the live database) copied to a second folder
    (a USB drive, a network share), checked there too."""
    final = folder / backup.path.name
    publish(
        final,
        lambda part: shutil.copyfile(backup.path, part),
        f"Could not copy the backup to {folder}",
    )
    return Backup(final, backup.taken_at, final.stat().st_size)


def to_keep(
    taken: Iterable[datetime],
    *,
    daily: int = KEEP_DAILY,
    weekly: int = KEEP_WEEKLY,
    monthly: int = KEEP_MONTHLY,
) -> set[datetime]:
    """Grandfather-father-son: the newest backup of each of the ``daily`` latest days that
    have one, of each of the ``weekly`` latest ISO weeks, and of each of the ``monthly``
    latest months."""
    newest_first = sorted(set(taken), reverse=True)
    keep: set[datetime] = set()
    for count, period in (
        (daily, lambda t: t.date()),
        (weekly, lambda t: tuple(t.isocalendar())[:2]),
        (monthly, lambda t: (t.year, t.month)),
    ):
        seen: list[object] = []
        for moment in newest_first:
            key = period(moment)
            if key in seen:
                continue
            if len(seen) == count:
                break
            seen.append(key)
            keep.add(moment)
    return keep


def prune(folder: Path) -> list[Path]:
    """Delete the backups retention no longer keeps; return them."""
    backups = list_backups(folder)
    keep = to_keep(b.taken_at for b in backups)
    gone = []
    for backup in backups:
        if backup.taken_at not in keep:
            backup.path.unlink(missing_ok=True)
            gone.append(backup.path)
    return gone


def taken_today(folder: Path, today: date) -> bool:
    """Is there already a backup from ``today`` (UTC)?"""
    return any(b.taken_at.date() == today for b in list_backups(folder))


class DailyBackups:
    """In the server: one backup a day (UTC), kept by retention, copied to the second folder
    when one is set. The first look waits ``delay`` seconds after start (a clinic PC has
    just been switched on; a test server should not copy its database at once)."""

    CHECK_EVERY = 1800.0

    def __init__(
        self, db_path: Path, *, copy_dir: Path | None, delay: float, clock: Callable[[], datetime]
    ) -> None:
        self.db_path = db_path
        self.folder = backup_dir(db_path.parent)
        self.copy_dir = copy_dir
        self.delay = delay
        self.clock = clock
        self.last_error: str | None = None
        self.started_at = clock()
        self._restoring = threading.Lock()

    @property
    def first_due(self) -> datetime:
        """When the first daily backup should exist, with a margin for writing it."""
        return self.started_at + timedelta(seconds=self.delay) + FIRST_BACKUP_MARGIN

    def find(self, name: str) -> Path:
        """A backup (or a database a restore replaced) by its file name, from the backups
        folder or the second folder; nothing else can be named."""
        if not (NAME.match(name) or KEPT.match(name)):
            raise InvalidInput("Choose a backup from the list (clinicbot-….db).", field="name")
        for folder in (self.folder, self.copy_dir):
            if folder is not None and (folder / name).is_file():
                return folder / name
        raise NotFound(f"There is no backup called {name}.", field="name")

    async def restore(self, db: Database, name: str) -> Restored:
        """Restore the backup called ``name`` into the running app (one at a time)."""
        path = self.find(name)
        if not self._restoring.acquire(blocking=False):
            raise Conflict("A restore is already under way.")
        try:
            try:
                await asyncio.to_thread(check, path)
            except BackupError as exc:
                raise InvalidInput(str(exc), field="name") from None
            from clinicbot.services.restore import restore_live  # it builds on this module

            return await restore_live(db, path, self.clock())
        finally:
            self._restoring.release()

    def back_up_now(self, now: datetime) -> Backup:
        """A backup now (daily, or staff's "Back up now"); its failure is remembered for the
        health view until the next backup succeeds."""
        try:
            made = make_backup(self.db_path, self.folder, now)
            if self.copy_dir is not None:
                copy_to(made, self.copy_dir)
                prune(self.copy_dir)
        except (BackupError, OSError) as exc:
            self.last_error = str(exc)
            raise BackupError(str(exc)) from None
        self.last_error = None
        return made

    def run_once(self) -> Backup | None:
        now = self.clock()
        if taken_today(self.folder, now.astimezone(UTC).date()):
            return None
        made = self.back_up_now(now)
        prune(self.folder)
        return made

    async def run(self, stop: asyncio.Event) -> None:
        wait = self.delay
        while not await pause(stop, wait):
            wait = self.CHECK_EVERY
            try:
                made = await asyncio.to_thread(self.run_once)
            except (BackupError, OSError) as exc:  # the task must live on to try tomorrow
                self.last_error = str(exc)
                log.error("daily backup failed: %s", exc)
                continue
            self.last_error = None
            if made is not None:
                log.info("daily backup written: %s (%d bytes)", made.path.name, made.size)
