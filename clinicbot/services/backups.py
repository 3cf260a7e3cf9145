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

from clinicbot.db import Database, connect, migrate
from clinicbot.db.database import transaction
from clinicbot.errors import Conflict, InvalidInput, NotFound
from clinicbot.sessions import Sessions

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


def _read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection (a file URI, escaped: spaces, '#' or '?' in a Windows user
    name must not break it)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def backup_dir(data_dir: Path) -> Path:
    return data_dir / "backups"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d-%H%M%S")


def _parse(path: Path, pattern: re.Pattern[str] = NAME) -> datetime | None:
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
        taken = _parse(path, pattern)
        if taken is not None and path.is_file():
            found.append(Backup(path, taken, path.stat().st_size))
    return sorted(found, key=lambda b: b.taken_at, reverse=True)


def check(path: Path) -> None:
    """Raise BackupError unless ``path`` is a sound clinicbot database."""
    try:
        conn = _read_only(path)
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


def _copy_database(source: sqlite3.Connection, target: Path) -> None:
    """The whole database through the online backup API, in one step (one consistent
    snapshot, even while the app keeps writing), into ``target``."""
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
    finally:
        dest.close()


def _publish(final: Path, write: Callable[[Path], object], failure: str) -> None:
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
    final = folder / f"clinicbot-{_stamp(now)}.db"

    def write(part: Path) -> None:
        source = _read_only(db_path)
        try:
            _copy_database(source, part)
        finally:
            source.close()

    _publish(final, write, f"Could not write a backup into {folder}")
    return Backup(final, now.astimezone(UTC).replace(microsecond=0), final.stat().st_size)


def copy_to(backup: Backup, folder: Path) -> Backup:
    """A finished backup (a closed file, not the live database) copied to a second folder
    (a USB drive, a network share), checked there too."""
    final = folder / backup.path.name
    _publish(
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


SENT = "('sending', 'sent', 'delivered', 'read')"  # statuses a message may have reached Meta in
_OUTBOX = (
    "key, clinic_id, patient_id, recipient, kind, payload, preview, author, in_reply_to,"
    " appointment_id, status, attempts, not_before, wa_message_id, error_code, error_reason,"
    " simulated, created_at, sent_at, updated_at"
)
_DELIVERY = (
    "status, attempts, not_before, wa_message_id, error_code, error_reason, sent_at, updated_at"
)
_X_OUTBOX = ", ".join(
    "CASE WHEN x.patient_id IN (SELECT id FROM main.patients) THEN x.patient_id END"
    if name == "patient_id"
    else "x." + name
    for name in _OUTBOX.split(", ")
)
_X_DELIVERY = ", ".join("x." + name for name in _DELIVERY.split(", "))


def _rank(table: str) -> str:
    return (
        f"CASE {table}.status WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'sent' THEN 2"
        " WHEN 'failed' THEN 3 WHEN 'delivered' THEN 4 WHEN 'read' THEN 5 ELSE 6 END"
    )


# What happened outside the database since the backup, carried from the replaced database
# (``old``) into the restored one, so that a restore never sends a message twice.
_CARRY_SENT = (
    # A message the backup holds as waiting (or less far along) went out since: say so.
    f"UPDATE OR IGNORE outbox AS o SET ({_DELIVERY}) = ({_X_DELIVERY}) FROM old.outbox AS x"  # noqa: S608
    f" WHERE x.key = o.key AND {_rank('x')} > {_rank('o')}",
    # A message written and sent since the backup: kept as sent, so that writing it again
    # (the bot answering the same message, the same reminder) is a no-op. Under its own id
    # where that is free (a status may name it by id), else under a new one.
    *(
        f"INSERT OR IGNORE INTO outbox (id, {_OUTBOX}) SELECT {new_id}, {_X_OUTBOX}"  # noqa: S608
        f" FROM old.outbox x WHERE x.status IN {SENT} AND x.key NOT IN (SELECT key FROM"
        " main.outbox) AND x.clinic_id IN (SELECT id FROM main.clinics)"
        f" AND x.id {taken} (SELECT id FROM main.outbox) ORDER BY x.id"
        for new_id, taken in (("x.id", "NOT IN"), ("NULL", "IN"))
    ),
)
# A message the backup holds as waiting that the replaced database does not have at all (an
# erasure removed it, or the backup is from another history) may have gone out already: it
# is held back as failed, with the reason, for staff to send again if it is still wanted.
_HOLD_UNKNOWN = (
    "UPDATE outbox SET status = 'failed', error_code = NULL, error_reason = 'Not sent after"
    " restoring a backup: it may have gone out before. Send it again if it is still needed.',"
    " updated_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')"
    " WHERE status IN ('queued', 'sending') AND simulated = 0"
    " AND key NOT IN (SELECT key FROM old.outbox)"
)
_CARRY_STATE = (
    # Reminders settled since (a reminder is never sent twice for one visit time).
    "INSERT OR IGNORE INTO reminders"
    " (appointment_id, start_ts, minutes_before, outbox_id, outcome, created_at)"
    " SELECT r.appointment_id, r.start_ts, r.minutes_before,"
    " (SELECT o.id FROM main.outbox o JOIN old.outbox ox ON ox.key = o.key"
    " WHERE ox.id = r.outbox_id), r.outcome, r.created_at FROM old.reminders r"
    " WHERE r.appointment_id IN (SELECT id FROM main.appointments)",
    # Messages the backup holds as unanswered that the bot has answered since.
    "UPDATE inbound_messages AS m SET processed_at = x.processed_at, outcome = x.outcome"
    " FROM old.inbound_messages AS x WHERE x.wa_message_id = m.wa_message_id"
    " AND m.processed_at IS NULL AND x.processed_at IS NOT NULL",
    # Delivery statuses WhatsApp reported since.
    "INSERT OR IGNORE INTO message_statuses"
    " (wa_message_id, status, wa_timestamp, recipient, body, received_at)"
    " SELECT wa_message_id, status, wa_timestamp, recipient, body, received_at"
    " FROM old.message_statuses",
    # Where the relay had got to (its events since are acknowledged and gone).
    "INSERT INTO app_state (key, value, updated_at) SELECT key, value, updated_at"
    " FROM old.app_state WHERE key = 'relay_cursor'"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    # Outbox ids are never used twice: a late status names its message by id.
    "UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(seq), 0)"
    " FROM old.sqlite_sequence WHERE name = 'outbox')) WHERE name = 'outbox'",
    "INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox', seq FROM old.sqlite_sequence"
    " WHERE name = 'outbox' AND NOT EXISTS (SELECT 1 FROM main.sqlite_sequence"
    " WHERE name = 'outbox')",
)


@dataclass(frozen=True)
class Restored:
    backup: Path
    kept: Path | None  # the database it replaced, kept beside the backups
    kept_sent: int  # messages sent since the backup, kept as sent (never sent again)
    held: int = 0  # waiting messages the replaced data did not know, held back as failed


def _plain(path: Path) -> sqlite3.Connection:
    """A connection to a file being prepared (not the live database: no WAL)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _stage(backup_path: Path, folder: Path, stamp: str) -> Path:
    """The backup copied beside the backups and migrated forward (an older backup has an
    older schema): what goes into the live database, prepared while the clinic works on."""
    staged = folder / f".restore-{stamp}.part"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        source = _read_only(backup_path)
        try:
            _copy_database(source, staged)
        finally:
            source.close()
        conn = _plain(staged)
        try:
            migrate(conn)
        finally:
            conn.close()
        check(staged)
    except (OSError, sqlite3.Error, BackupError) as exc:
        staged.unlink(missing_ok=True)
        raise BackupError(f"Could not prepare {backup_path.name} for restoring: {exc}") from None
    return staged


def _carry_over(conn: sqlite3.Connection, old: Path) -> tuple[int, int]:
    """Carry into ``conn`` (the staged backup) what happened outside since the backup, from
    ``old`` (the database it replaces); return how many sent messages were kept as sent,
    and how many waiting ones were held back (see ``_HOLD_UNKNOWN``)."""
    conn.execute("ATTACH DATABASE ? AS old", [str(old)])
    try:
        with transaction(conn):
            sent = sum(conn.execute(sql).rowcount for sql in _CARRY_SENT)
            held = conn.execute(_HOLD_UNKNOWN).rowcount
            for sql in _CARRY_STATE:
                conn.execute(sql)
    finally:
        conn.execute("DETACH DATABASE old")
    return sent, held


def _give_up_when_locked(tries: int = 40) -> Callable[[int, int, int], None]:
    """A backup progress callback that stops retrying after ``tries`` busy rounds (Python
    would retry for ever while another program holds the database)."""
    busy = 0

    def progress(status: int, remaining: int, total: int) -> None:
        nonlocal busy
        if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            busy += 1
            if busy > tries:
                raise BackupError("another program holds the database; close it and try again")

    return progress


def _replace(live: sqlite3.Connection, staged: Path, kept: Path | None) -> tuple[int, int]:
    """With nothing else writing: keep the live database as ``kept``, carry what happened
    outside since into the staged copy, then copy that into the live database in one step
    (the backup API: the file stays open, readers see the new content)."""
    if kept is not None:
        _publish(kept, lambda part: _copy_database(live, part), "Could not keep the database")
    conn = _plain(staged)
    try:
        carried = _carry_over(conn, kept) if kept is not None else (0, 0)
        conn.backup(live, progress=_give_up_when_locked())
    finally:
        conn.close()
    return carried


def _kept_path(folder: Path, now: datetime) -> Path:
    path, n = folder / f"before-restore-{_stamp(now)}.db", 1
    while path.exists():
        n += 1
        path = folder / f"before-restore-{_stamp(now)}-{n}.db"
    return path


def _is_clinicbot(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'clinics'").fetchone()
    return found is not None


def restore(db_path: Path, backup_path: Path, now: datetime) -> Path:
    """Replace the database with ``backup_path``; return the copy kept of the one replaced.

    For ``clinicbot restore`` with clinicbot stopped (the caller holds the data directory's
    lock); the running app uses ``restore_live``. Both check the backup, migrate it forward,
    keep the database replaced as ``backups/before-restore-<stamp>.db`` and carry over what
    was sent since, so nothing goes out twice; both forget the bot's conversations."""
    check(backup_path)
    folder = backup_dir(db_path.parent)
    staged = _stage(backup_path, folder, _stamp(now))
    kept = _kept_path(folder, now)
    try:
        live = connect(db_path)
        try:
            _replace(live, staged, kept if _is_clinicbot(live) else None)
        finally:
            live.close()
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"Could not restore {backup_path.name}: {exc}") from None
    finally:
        staged.unlink(missing_ok=True)
    check(db_path)
    sessions = Sessions(db_path.parent / "sessions")  # conversations restart from the data
    try:
        sessions.drop_prefix("")
    finally:
        sessions.close()
    return kept


async def restore_live(db: Database, backup_path: Path, now: datetime) -> Restored:
    """Restore into the running app's database: prepared aside, then swapped in on the
    writer between two writes (``Database.exclusive``). Writes queued meanwhile run after,
    on the restored content; commit listeners (the open windows) learn of it."""
    folder = backup_dir(db.path.parent)
    staged = await asyncio.to_thread(_stage, backup_path, folder, _stamp(now))
    kept = _kept_path(folder, now)
    try:
        sent, held = await db.exclusive(lambda live: _replace(live, staged, kept))
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"Could not restore {backup_path.name}: {exc}") from None
    finally:
        staged.unlink(missing_ok=True)
    log.warning("restored %s; the database it replaced is kept as %s", backup_path.name, kept.name)
    return Restored(backup_path, kept, sent, held)


@dataclass(frozen=True)
class Preview:
    """What restoring a backup would bring back and what it would undo (None: the backup's
    schema cannot say)."""

    taken_at: datetime
    patients: int | None  # in the backup
    appointments: int | None  # in the backup
    new_patients: int | None  # added since: not in the backup, so lost
    new_appointments: int | None  # booked since: lost
    changed_appointments: int | None  # moved or changed status since: put back as they were
    new_messages: int | None  # WhatsApp messages received since: gone from the inbox
    erased_since: int | None  # patients erased on request since: they would come back


_PREVIEW = {
    "patients": "SELECT count(*) FROM b.patients WHERE simulated = 0",
    "appointments": "SELECT count(*) FROM b.appointments WHERE simulated = 0",
    "new_patients": "SELECT count(*) FROM main.patients WHERE simulated = 0"
    " AND id NOT IN (SELECT id FROM b.patients)",
    "new_appointments": "SELECT count(*) FROM main.appointments WHERE simulated = 0"
    " AND id NOT IN (SELECT id FROM b.appointments)",
    "changed_appointments": "SELECT count(*) FROM main.appointments a JOIN b.appointments x"
    " ON x.id = a.id WHERE a.simulated = 0 AND (a.status != x.status OR a.start_ts != x.start_ts)",
    "new_messages": "SELECT count(*) FROM main.inbound_messages WHERE sender NOT LIKE 'SIM.%'"
    " AND wa_message_id NOT IN (SELECT wa_message_id FROM b.inbound_messages)",
    "erased_since": "SELECT count(*) FROM main.erasures"
    " WHERE id NOT IN (SELECT id FROM b.erasures)",
}
# A backup older than the erasures table: every erasure came after it.
_ERASED_ALL = "SELECT count(*) FROM main.erasures"


def _count(conn: sqlite3.Connection, sql: str, fallback: str | None) -> int | None:
    """``sql``'s count; when a table or column is missing from the backup's schema (or this
    one's), ``fallback``'s, else None."""
    for query in (sql, fallback):
        if query is None:
            return None
        try:
            return int(conn.execute(query).fetchone()[0])
        except sqlite3.OperationalError:
            continue
    return None


def preview(db_path: Path, backup_path: Path) -> Preview:
    """Compare ``backup_path`` (checked first) with the database as it is now."""
    check(backup_path)
    taken = _parse(backup_path) or _parse(backup_path, KEPT)
    conn = _read_only(db_path)
    counts: dict[str, int | None] = {}
    try:
        conn.execute("ATTACH DATABASE ? AS b", [f"{backup_path.resolve().as_uri()}?mode=ro"])
        for name, sql in _PREVIEW.items():
            counts[name] = _count(conn, sql, _ERASED_ALL if name == "erased_since" else None)
    finally:
        conn.close()
    moment = taken or datetime.fromtimestamp(backup_path.stat().st_mtime, UTC)
    return Preview(taken_at=moment, **counts)


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
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)
            if stop.is_set():
                return
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
