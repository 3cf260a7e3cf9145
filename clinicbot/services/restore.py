"""Restoring a backup: into the running app (``restore_live``, on the writer between two
batches) or while clinicbot is stopped (``restore``, for ``clinicbot restore``); and the
preview of what a restore would bring back and undo.

Both check the backup, migrate it forward aside, keep the database they replace as
``backups/before-restore-<stamp>.db``, and carry over from it what happened outside since the
backup (messages sent, reminders settled, the relay's position), so nothing goes out twice.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from clinicbot.db import Database, connect, migrate
from clinicbot.db.database import transaction
from clinicbot.services.backups import (
    KEPT,
    BackupError,
    backup_dir,
    check,
    copy_database,
    parse,
    publish,
    read_only,
    stamp,
)
from clinicbot.sessions import Sessions

log = logging.getLogger(__name__)


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
        source = read_only(backup_path)
        try:
            copy_database(source, staged)
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
        publish(kept, lambda part: copy_database(live, part), "Could not keep the database")
    conn = _plain(staged)
    try:
        carried = _carry_over(conn, kept) if kept is not None else (0, 0)
        conn.backup(live, progress=_give_up_when_locked())
    finally:
        conn.close()
    return carried


def _kept_path(folder: Path, now: datetime) -> Path:
    path, n = folder / f"before-restore-{stamp(now)}.db", 1
    while path.exists():
        n += 1
        path = folder / f"before-restore-{stamp(now)}-{n}.db"
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
    staged = _stage(backup_path, folder, stamp(now))
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
    staged = await asyncio.to_thread(_stage, backup_path, folder, stamp(now))
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
    taken = parse(backup_path) or parse(backup_path, KEPT)
    conn = read_only(db_path)
    counts: dict[str, int | None] = {}
    try:
        conn.execute("ATTACH DATABASE ? AS b", [f"{backup_path.resolve().as_uri()}?mode=ro"])
        for name, sql in _PREVIEW.items():
            counts[name] = _count(conn, sql, _ERASED_ALL if name == "erased_since" else None)
    finally:
        conn.close()
    moment = taken or datetime.fromtimestamp(backup_path.stat().st_mtime, UTC)
    return Preview(taken_at=moment, **counts)
