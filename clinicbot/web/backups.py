"""Backups for staff: the list, the state of the daily backup, and "back up now"."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Controller, get, post
from litestar.exceptions import ServiceUnavailableException

from clinicbot.services.backups import Backup, BackupError, DailyBackups, list_backups, prune
from clinicbot.web.params import Clock, errors


class BackupInfo(msgspec.Struct, frozen=True):
    name: str
    taken_at: str  # ISO 8601, UTC
    size: int  # bytes


class Backups(msgspec.Struct, frozen=True):
    folder: str
    copy_folder: str | None  # the second folder (USB drive, share), when one is set
    last_error: str | None  # why the last daily backup failed, if it did
    backups: list[BackupInfo]  # newest first


def _info(backup: Backup) -> BackupInfo:
    return BackupInfo(backup.path.name, backup.taken_at.isoformat(), backup.size)


class BackupController(Controller):
    path = "/backups"
    tags = ["backups"]

    @get(summary="The backups kept, newest first")
    async def list_backups(self, backups: DailyBackups | None) -> Backups:
        """Daily backups are kept 7 days, then one a week for 4 weeks and one a month for a
        year; each was checked with ``PRAGMA integrity_check`` when it was made."""
        if backups is None:
            return Backups("", None, "This server does not make backups.", [])
        found = await asyncio.to_thread(list_backups, backups.folder)
        return Backups(
            str(backups.folder),
            None if backups.copy_dir is None else str(backups.copy_dir),
            backups.last_error,
            [_info(b) for b in found],
        )

    @post(summary="Back up now", responses=errors(503))
    async def back_up_now(self, backups: DailyBackups | None, clock: Clock) -> BackupInfo:
        """A backup now, through SQLite's online backup API (the clinic keeps working),
        checked, then kept by the same retention; copied to the second folder if set.
        503 with the reason when it cannot be written (a full disk, a missing drive)."""
        if backups is None:
            raise ServiceUnavailableException("This server does not make backups.")
        try:
            made = await asyncio.to_thread(backups.back_up_now, clock())
        except BackupError as exc:
            raise ServiceUnavailableException(str(exc)) from None
        await asyncio.to_thread(prune, backups.folder)
        return _info(made)
