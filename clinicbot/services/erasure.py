"""Erasing a patient on request (the patient asks the clinic to forget them).

Afterwards nothing in the database or the session store identifies them: their record,
WhatsApp conversation, every message either way (with the raw webhook bodies and delivery
statuses that name their number), queued messages, reminders, slot holds and session go.
What stays is anonymous: their appointments, moved to a new record named "Erased patient"
with a fresh id, no phone and the same counters, so every count the clinic keeps (per day,
doctor and status, no-show rates, new versus returning visitors, total appointments) is
unchanged. That record is not active, so ``total_patients`` (active records) drops by one:
the clinic no longer has this person as a patient. Erasures are audited by time and
numbers, never by who.

The database part is one write; every writing connection has ``PRAGMA secure_delete`` on
(``clinicbot.db.connect``), so the freed bytes are zeroed; then :func:`scrub_files`
truncates the WAL (old page images) and vacuums the session store. Backups made before
still hold the patient until they age out (a year at most).

An erasure is refused (409, in words) while the patient has an upcoming confirmed
appointment, unless the caller asks to cancel it, and while anything of theirs is still
being processed (a message not yet answered, a message being sent).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from clinicbot.db import connect
from clinicbot.domain import Patient, Status
from clinicbot.errors import Conflict
from clinicbot.services.booking import set_status
from clinicbot.store.clinics import get_clinic
from clinicbot.store.patients import get_patient
from clinicbot.store.rows import new_id, stamp

ERASED_NAME = "Erased patient"
ERASE_REASON = "erased on request"
# Event details that name no one: how an appointment was made, a correction, our reason.
_SAFE_DETAILS = ("", "whatsapp", "staff", "walk-in", "correction", ERASE_REASON)
SESSIONS_DB = "cache.db"  # diskcache's file inside the sessions directory


class ErasureReport(msgspec.Struct, frozen=True):
    erased_at: str
    appointments_kept: int  # anonymous now, still counted
    appointments_cancelled: int  # the upcoming ones, when the caller asked
    messages_removed: int  # inbound and outbound


class Erased(msgspec.Struct, frozen=True):
    """The write's outcome, with the session keys to drop after the commit."""

    report: ErasureReport
    session_keys: list[str]


def _senders(conn: sqlite3.Connection, patient: Patient) -> list[str]:
    """Every id WhatsApp may know the patient by: the number's digits, the conversation's
    wa_id and business-scoped user id, and the stored phone itself (a user id when WhatsApp
    gave no number)."""
    found = {patient.phone, patient.phone.lstrip("+")}
    row = conn.execute(
        "SELECT wa_id, user_id FROM conversations WHERE patient_id = ?", [patient.id]
    ).fetchone()
    if row is not None:
        found.update(v for v in row if v)
    return sorted(v for v in found if v)


def _marks(values: Iterable[object]) -> str:
    return ", ".join("?" for _ in values)


def _refuse_in_flight(conn: sqlite3.Connection, patient: Patient, senders: list[str]) -> None:
    waiting = conn.execute(
        "SELECT count(*) FROM inbound_messages WHERE processed_at IS NULL"  # noqa: S608
        f" AND (patient_id = ? OR sender IN ({_marks(senders)}))",
        [patient.id, *senders],
    ).fetchone()[0]
    if waiting:
        raise Conflict(
            "A WhatsApp message from this patient is still being answered. "
            "Try again in a minute; nothing was erased."
        )
    sending = conn.execute(
        "SELECT count(*) FROM outbox WHERE patient_id = ? AND status = 'sending'", [patient.id]
    ).fetchone()[0]
    if sending:
        raise Conflict(
            "A message to this patient is being sent right now. "
            "Try again in a minute; nothing was erased."
        )


def _upcoming(conn: sqlite3.Connection, patient_id: str, now: datetime) -> list[sqlite3.Row]:
    return conn.execute(
        "SELECT a.id, a.starts_at, d.name AS doctor FROM appointments a"
        " JOIN doctors d ON d.id = a.doctor_id"
        " WHERE a.patient_id = ? AND a.status = 'confirmed' AND a.end_ts > ?"
        " ORDER BY a.start_ts",
        [patient_id, int(now.timestamp())],
    ).fetchall()


def _cancel_upcoming(
    conn: sqlite3.Connection, patient: Patient, now: datetime, *, cancel: bool
) -> int:
    upcoming = _upcoming(conn, patient.id, now)
    if upcoming and not cancel:
        zone = ZoneInfo(get_clinic(conn, patient.clinic_id).timezone)
        first = datetime.fromisoformat(upcoming[0]["starts_at"]).astimezone(zone)
        more = f" and {len(upcoming) - 1} more" if len(upcoming) > 1 else ""
        raise Conflict(
            f"This patient has an upcoming appointment ({first:%a %d %b %Y, %H:%M} with "
            f"{upcoming[0]['doctor']}{more}). Cancel it first, or erase with "
            "cancel_upcoming to cancel it as part of the erasure. Nothing was erased.",
            field="cancel_upcoming",
        )
    for row in upcoming:
        set_status(conn, row["id"], Status.CANCELLED, now, reason=ERASE_REASON)
    return len(upcoming)


def _anonymous_record(conn: sqlite3.Connection, patient: Patient, at: str) -> str:
    """A new, inactive record with the same counters and no identity; returns its id."""
    anon = new_id()
    conn.execute(
        "INSERT INTO patients (id, clinic_id, name, phone, whatsapp_name, total_visits,"
        " total_cancellations, total_no_shows, first_visit_date, last_visit_date, created_at,"
        " updated_at, is_active, simulated, erased_at)"
        " SELECT ?, clinic_id, ?, ?, NULL, total_visits, total_cancellations, total_no_shows,"
        " first_visit_date, last_visit_date, created_at, ?, 0, simulated, ?"
        " FROM patients WHERE id = ?",
        [anon, ERASED_NAME, f"erased:{anon}", at, at, patient.id],
    )
    return anon


def _detach_appointments(conn: sqlite3.Connection, patient: Patient, anon: str, at: str) -> int:
    kept = conn.execute(
        "UPDATE appointments SET patient_id = ?, patient_name = ?, patient_phone = '',"
        " notes = '', updated_at = ?,"
        " cancellation_reason = CASE WHEN cancellation_reason IS NULL THEN NULL"
        "   WHEN cancellation_reason = ? THEN cancellation_reason ELSE '' END"
        " WHERE patient_id = ? OR (clinic_id = ? AND patient_id IS NULL AND patient_phone = ?)",
        [anon, ERASED_NAME, at, ERASE_REASON, patient.id, patient.clinic_id, patient.phone],
    ).rowcount
    conn.execute(
        "UPDATE appointment_events SET detail = ''"  # noqa: S608
        " WHERE appointment_id IN (SELECT id FROM appointments WHERE patient_id = ?)"
        f" AND detail NOT IN ({_marks(_SAFE_DETAILS)})",
        [anon, *_SAFE_DETAILS],
    )
    return kept


def _remove_messages(
    conn: sqlite3.Connection, patient: Patient, anon: str, senders: list[str]
) -> int:
    marks = _marks(senders)
    outbox = f"(patient_id = ? OR (clinic_id = ? AND recipient IN ({marks})))"
    out_args = [patient.id, patient.clinic_id, *senders]
    conn.execute(
        "DELETE FROM reminders WHERE appointment_id IN"  # noqa: S608
        f" (SELECT id FROM appointments WHERE patient_id = ?)"
        f" OR outbox_id IN (SELECT id FROM outbox WHERE {outbox})",
        [anon, *out_args],
    )
    conn.execute(
        "DELETE FROM message_statuses WHERE wa_message_id IN"  # noqa: S608
        f" (SELECT wa_message_id FROM outbox WHERE {outbox} AND wa_message_id IS NOT NULL)"
        f" OR recipient IN ({marks})",
        [*out_args, *senders],
    )
    sent = conn.execute(f"DELETE FROM outbox WHERE {outbox}", out_args).rowcount  # noqa: S608
    received = conn.execute(
        "DELETE FROM inbound_messages WHERE patient_id = ?"  # noqa: S608
        f" OR ((clinic_id = ? OR clinic_id IS NULL) AND sender IN ({marks}))",
        [patient.id, patient.clinic_id, *senders],
    ).rowcount
    # Other webhook bodies (calls, odd statuses) that carry the number or the user id.
    digits = [s for s in senders if not s.startswith("+")]
    if digits:
        found = " OR ".join("instr(body, ?) > 0" for _ in digits)
        conn.execute(f"DELETE FROM webhook_events WHERE {found}", digits)  # noqa: S608
    return int(sent) + int(received)


def erase_patient(
    conn: sqlite3.Connection, patient_id: str, now: datetime, *, cancel_upcoming: bool = False
) -> Erased:
    """Erase the patient in this transaction (see the module's docstring)."""
    patient = get_patient(conn, patient_id)
    if conn.execute("SELECT erased_at FROM patients WHERE id = ?", [patient.id]).fetchone()[0]:
        raise Conflict("This record is already the anonymous remains of an erased patient.")
    senders = _senders(conn, patient)
    _refuse_in_flight(conn, patient, senders)
    cancelled = _cancel_upcoming(conn, patient, now, cancel=cancel_upcoming)
    at = stamp(now)
    anon = _anonymous_record(conn, patient, at)
    kept = _detach_appointments(conn, patient, anon, at)
    removed = _remove_messages(conn, patient, anon, senders)
    conn.execute("DELETE FROM slot_holds WHERE patient_id = ?", [patient.id])
    conn.execute("DELETE FROM conversations WHERE patient_id = ?", [patient.id])
    conn.execute("DELETE FROM patients WHERE id = ?", [patient.id])
    # The search index keeps a deleted row's trigrams in its old segments until they merge.
    conn.execute("INSERT INTO patients_fts(patients_fts) VALUES ('optimize')")
    conn.execute(
        "INSERT INTO erasures (clinic_id, erased_at, appointments_kept, appointments_cancelled,"
        " messages_removed) VALUES (?, ?, ?, ?, ?)",
        [patient.clinic_id, at, kept, cancelled, removed],
    )
    report = ErasureReport(at, kept, cancelled, removed)
    return Erased(report, [f"{patient.clinic_id}:{s}" for s in senders])


def scrub_files(db_path: Path, sessions_dir: Path | None) -> bool:
    """After an erasure's commit: copy the WAL back and truncate it (its old page images
    still hold what was erased), and rewrite the session store without the freed session.
    Returns whether both were done (False: a long reader kept the WAL; the next erasure
    or checkpoint finishes it)."""
    done = _truncate_wal(db_path)
    if sessions_dir is not None and (sessions_dir / SESSIONS_DB).exists():
        conn = sqlite3.connect(str(sessions_dir / SESSIONS_DB), isolation_level=None, timeout=5)
        try:
            conn.execute("VACUUM")
            done = _checkpointed(conn) and done
        except sqlite3.OperationalError:
            done = False
        finally:
            conn.close()
    return done


def _checkpointed(conn: sqlite3.Connection) -> bool:
    with contextlib.suppress(sqlite3.OperationalError):
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        return not busy
    return False


def _truncate_wal(db_path: Path) -> bool:
    conn = connect(db_path)
    try:
        return _checkpointed(conn)
    finally:
        conn.close()
