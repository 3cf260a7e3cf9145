"""Appointments and their audit trail."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from clinicbot.db.migrations import MAX_APPOINTMENT_SECONDS
from clinicbot.domain import Appointment, AppointmentEvent, PatientAppointment, Status
from clinicbot.errors import NotFound, SlotTaken
from clinicbot.store.clinics import update_row
from clinicbot.store.rows import record, records

HELD = (Status.CONFIRMED, Status.ARRIVED, Status.COMPLETED, Status.NO_SHOW)
_HELD_SQL = "('confirmed', 'arrived', 'completed', 'no_show')"


def get_appointment(conn: sqlite3.Connection, appointment_id: str) -> Appointment:
    row = conn.execute("SELECT * FROM appointments WHERE id = ?", [appointment_id]).fetchone()
    if row is None:
        raise NotFound("No appointment with that id.", field="id")
    return record(row, Appointment)


@contextmanager
def _overlap_guard() -> Iterator[None]:
    """The overlap trigger's refusal (``RAISE(ABORT, 'slot_taken')``) becomes a SlotTaken."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        if "slot_taken" in str(exc):
            raise SlotTaken("The doctor already has an appointment at that time.") from exc
        raise


def insert_appointment(conn: sqlite3.Connection, values: Mapping[str, object]) -> None:
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    with _overlap_guard():
        conn.execute(
            f"INSERT INTO appointments ({columns}) VALUES ({marks})",  # noqa: S608
            list(values.values()),
        )


def update_appointment(
    conn: sqlite3.Connection, appointment_id: str, values: Mapping[str, object]
) -> None:
    with _overlap_guard():
        update_row(conn, "appointments", appointment_id, values)


def taken_spans(
    conn: sqlite3.Connection,
    doctor_id: str,
    start_ts: int,
    end_ts: int,
    *,
    ignore_id: str | None = None,
) -> list[tuple[int, int]]:
    """Appointments of the doctor that hold time overlapping [start_ts, end_ts)."""
    rows = conn.execute(
        f"""
        SELECT start_ts, end_ts FROM appointments
        WHERE doctor_id = ? AND start_ts > ? AND start_ts < ? AND end_ts > ?
          AND status IN {_HELD_SQL} AND id IS NOT ?
        """,  # noqa: S608
        [doctor_id, start_ts - MAX_APPOINTMENT_SECONDS, end_ts, start_ts, ignore_id],
    )
    return [(r[0], r[1]) for r in rows]


def list_appointments(
    conn: sqlite3.Connection,
    *,
    clinic_id: str | None,
    doctor_id: str | None,
    date_from: str | None,
    date_to: str | None,
    status: Status | None,
    limit: int,
    offset: int,
) -> list[Appointment]:
    """Appointments in time order, filtered by what was given."""
    where, args = [], []
    for column, op, value in (
        ("clinic_id", "=", clinic_id),
        ("doctor_id", "=", doctor_id),
        ("date", ">=", date_from),
        ("date", "<=", date_to),
        ("status", "=", status),
    ):
        if value is not None:
            where.append(f"{column} {op} ?")
            args.append(value)
    sql = "SELECT * FROM appointments"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY start_ts, doctor_id, id LIMIT ? OFFSET ?"
    return records(conn.execute(sql, [*args, limit, offset]), Appointment)


def patient_history(
    conn: sqlite3.Connection, patient_id: str, *, limit: int, offset: int
) -> list[PatientAppointment]:
    rows = conn.execute(
        """
        SELECT a.id, a.date, a.starts_at, a.ends_at, a.status, a.doctor_id, d.name AS doctor,
               a.service_id, s.name AS service, a.source
        FROM appointments a
        JOIN doctors d ON d.id = a.doctor_id
        JOIN services s ON s.id = a.service_id
        WHERE a.patient_id = ?
        ORDER BY a.start_ts DESC, a.id LIMIT ? OFFSET ?
        """,
        [patient_id, limit, offset],
    )
    return records(rows, PatientAppointment)


def add_event(
    conn: sqlite3.Connection,
    appointment_id: str,
    *,
    at: str,
    actor: str,
    kind: str,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: str = "",
) -> None:
    conn.execute(
        "INSERT INTO appointment_events"
        " (appointment_id, at, actor, kind, from_status, to_status, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [appointment_id, at, actor, kind, from_status, to_status, detail],
    )


def list_events(conn: sqlite3.Connection, appointment_id: str) -> list[AppointmentEvent]:
    rows = conn.execute(
        "SELECT * FROM appointment_events WHERE appointment_id = ? ORDER BY id", [appointment_id]
    )
    return records(rows, AppointmentEvent)
