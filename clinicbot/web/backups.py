"""Backups for staff: the list, the state of the daily backup, "back up now", and restoring a
backup into the running app (with a preview of what it would undo)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.exceptions import ServiceUnavailableException
from litestar.params import Parameter

from clinicbot.db import Database
from clinicbot.errors import InvalidInput
from clinicbot.services.backups import (
    KEPT,
    Backup,
    BackupError,
    DailyBackups,
    list_backups,
    prune,
)
from clinicbot.services.restore import preview
from clinicbot.web.params import Clock, errors

BackupName = Annotated[str, Parameter(min_length=1, max_length=200)]


class BackupInfo(msgspec.Struct, frozen=True):
    name: str
    taken_at: str  # ISO 8601, UTC
    size: int  # bytes


class Backups(msgspec.Struct, frozen=True):
    folder: str
    copy_folder: str | None  # the second folder (USB drive, share), when one is set
    last_error: str | None  # why the last daily backup failed, if it did
    backups: list[BackupInfo]  # newest first
    copies: list[BackupInfo] = []  # in the second folder, newest first
    before_restore: list[BackupInfo] = []  # the databases restores replaced, newest first


class RestorePreview(msgspec.Struct, frozen=True):
    """What a restore of ``name`` would bring back and undo; a count is null when the
    backup's schema cannot tell."""

    name: str
    taken_at: str
    patients: int | None  # in the backup (simulator aside)
    appointments: int | None
    new_patients: int | None  # added since the backup: they would be lost
    new_appointments: int | None  # booked since: lost
    changed_appointments: int | None  # moved or changed status since: put back
    new_messages: int | None  # WhatsApp messages received since: gone from the inbox
    erased_since: int | None  # patients erased on request since: they would come back


class RestoreRequest(msgspec.Struct, frozen=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]  # a file from the list


class RestoreDone(msgspec.Struct, frozen=True):
    name: str
    kept: str | None  # the database replaced, kept in the backups folder under this name
    kept_sent: int  # messages sent since the backup, kept as sent so they never go twice
    held: int  # waiting messages the replaced data did not know: failed, for staff to check


def _info(backup: Backup) -> BackupInfo:
    return BackupInfo(backup.path.name, backup.taken_at.isoformat(), backup.size)


def _listing(backups: DailyBackups) -> Backups:
    copies = list_backups(backups.copy_dir) if backups.copy_dir is not None else []
    return Backups(
        str(backups.folder),
        None if backups.copy_dir is None else str(backups.copy_dir),
        backups.last_error,
        [_info(b) for b in list_backups(backups.folder)],
        [_info(b) for b in copies],
        [_info(b) for b in list_backups(backups.folder, KEPT)],
    )


def _present(backups: DailyBackups | None) -> DailyBackups:
    if backups is None:
        raise ServiceUnavailableException("This server does not make backups.")
    return backups


class BackupController(Controller):
    path = "/backups"
    tags = ["backups"]

    @get(summary="The backups kept, newest first")
    async def list_backups(self, backups: DailyBackups | None) -> Backups:
        """Daily backups are kept 7 days, then one a week for 4 weeks and one a month for a
        year; each was checked with ``PRAGMA integrity_check`` when it was made. Also lists
        the second folder's copies and the databases earlier restores replaced."""
        if backups is None:
            return Backups("", None, "This server does not make backups.", [])
        return await asyncio.to_thread(_listing, backups)

    @post(summary="Back up now", responses=errors(503))
    async def back_up_now(self, backups: DailyBackups | None, clock: Clock) -> BackupInfo:
        """A backup now, through SQLite's online backup API (the clinic keeps working),
        checked, then kept by the same retention; copied to the second folder if set.
        503 with the reason when it cannot be written (a full disk, a missing drive)."""
        backups = _present(backups)
        try:
            made = await asyncio.to_thread(backups.back_up_now, clock())
        except BackupError as exc:
            raise ServiceUnavailableException(str(exc)) from None
        await asyncio.to_thread(prune, backups.folder)
        return _info(made)

    @get("/preview", summary="What restoring a backup would undo", responses=errors(400, 404))
    async def preview_restore(
        self, backups: DailyBackups | None, db: Database, name: BackupName
    ) -> RestorePreview:
        """The backup named (from the list) compared with the database now: what it holds,
        and what was entered since and would be lost. 400 for a name that is not a backup
        or a backup that fails its check, 404 for one that is not there."""
        backups = _present(backups)
        path = backups.find(name)
        try:
            found = await asyncio.to_thread(preview, db.path, path)
        except BackupError as exc:
            raise InvalidInput(str(exc), field="name") from None
        return RestorePreview(
            name,
            found.taken_at.isoformat(),
            found.patients,
            found.appointments,
            found.new_patients,
            found.new_appointments,
            found.changed_appointments,
            found.new_messages,
            found.erased_since,
        )

    @post("/restore", summary="Restore a backup", responses=errors(400, 404, 409, 503))
    async def restore(
        self,
        data: RestoreRequest,
        backups: DailyBackups | None,
        db: Database,
        drop_sessions: Callable[[str], object],
        wake_sender: Callable[[], None],
        wake_worker: Callable[[], None],
    ) -> RestoreDone:
        """Replace the clinic's data with a backup from the list, while the app runs. The
        backup is checked and migrated forward; the database it replaces is kept first as
        ``before-restore-<time>.db`` (it can be restored the same way); messages sent since
        the backup stay marked as sent, so none goes out twice. Open windows reload; the
        bot's conversations start afresh. 409 while another restore runs, 503 when it
        cannot be written (nothing is changed then)."""
        backups = _present(backups)
        try:
            done = await backups.restore(db, data.name)
        except BackupError as exc:
            raise ServiceUnavailableException(str(exc)) from None
        await asyncio.to_thread(drop_sessions, "")  # conversations restart from the data
        wake_sender()
        wake_worker()
        kept = None if done.kept is None else done.kept.name
        return RestoreDone(data.name, kept, done.kept_sent, done.held)
