"""The clinic's setup: clinics, doctors, services, working hours, time off."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

from clinicbot.domain import Clinic, Doctor, Service, TimeOff, WorkingHours
from clinicbot.errors import NotFound
from clinicbot.store.rows import assignments, record, records


def _one(conn: sqlite3.Connection, sql: str, args: Sequence[object], what: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute(sql, args).fetchone()
    if row is None:
        raise NotFound(f"No {what} with that id.", field="id")
    return row


def update_row(
    conn: sqlite3.Connection, table: str, row_id: str, values: Mapping[str, object]
) -> None:
    if values:
        sql, args = assignments(values)
        conn.execute(f"UPDATE {table} SET {sql} WHERE id = ?", [*args, row_id])  # noqa: S608


# clinics ---------------------------------------------------------------------------------


def get_clinic(conn: sqlite3.Connection, clinic_id: str) -> Clinic:
    return _clinic(_one(conn, "SELECT * FROM clinics WHERE id = ?", [clinic_id], "clinic"))


def list_clinics(conn: sqlite3.Connection) -> list[Clinic]:
    return [_clinic(row) for row in conn.execute("SELECT * FROM clinics ORDER BY created_at, name")]


def reminder_column(minutes: list[int]) -> str:
    """How reminder offsets are kept: ``[1440, 120]`` -> ``"1440,120"``, largest first."""
    return ",".join(str(m) for m in sorted(set(minutes), reverse=True))


def _clinic(row: sqlite3.Row) -> Clinic:
    values = dict(row)
    text = str(values.get("reminder_minutes") or "")
    values["reminder_minutes"] = [int(p) for p in text.split(",") if p.strip().isdigit()]
    return record(values, Clinic)


# doctors ---------------------------------------------------------------------------------


def get_doctor(conn: sqlite3.Connection, doctor_id: str) -> Doctor:
    return record(_one(conn, "SELECT * FROM doctors WHERE id = ?", [doctor_id], "doctor"), Doctor)


def list_doctors(conn: sqlite3.Connection, clinic_id: str | None) -> list[Doctor]:
    if clinic_id is None:
        return records(conn.execute("SELECT * FROM doctors ORDER BY name"), Doctor)
    return records(
        conn.execute("SELECT * FROM doctors WHERE clinic_id = ? ORDER BY name", [clinic_id]),
        Doctor,
    )


# services --------------------------------------------------------------------------------


def _service(conn: sqlite3.Connection, row: sqlite3.Row) -> Service:
    doctor_ids = [
        r[0]
        for r in conn.execute(
            "SELECT doctor_id FROM service_doctors WHERE service_id = ? ORDER BY doctor_id",
            [row["id"]],
        )
    ]
    return record({**dict(row), "doctor_ids": doctor_ids}, Service)


def get_service(conn: sqlite3.Connection, service_id: str) -> Service:
    row = _one(conn, "SELECT * FROM services WHERE id = ?", [service_id], "service")
    return _service(conn, row)


def list_services(conn: sqlite3.Connection, clinic_id: str | None) -> list[Service]:
    if clinic_id is None:
        rows = conn.execute("SELECT * FROM services ORDER BY name").fetchall()
    else:
        rows = conn.execute(
            "SELECT * FROM services WHERE clinic_id = ? ORDER BY name", [clinic_id]
        ).fetchall()
    return [_service(conn, row) for row in rows]


def set_service_doctors(conn: sqlite3.Connection, service_id: str, doctor_ids: list[str]) -> None:
    conn.execute("DELETE FROM service_doctors WHERE service_id = ?", [service_id])
    conn.executemany(
        "INSERT INTO service_doctors(service_id, doctor_id) VALUES (?, ?)",
        [(service_id, d) for d in dict.fromkeys(doctor_ids)],
    )


def doctor_offers(conn: sqlite3.Connection, service: Service, doctor_id: str) -> bool:
    """A service with no doctors named is offered by every doctor of its clinic."""
    return not service.doctor_ids or doctor_id in service.doctor_ids


# working hours ---------------------------------------------------------------------------


def get_working_hours(conn: sqlite3.Connection, hours_id: str) -> WorkingHours:
    row = _one(conn, "SELECT * FROM working_hours WHERE id = ?", [hours_id], "working hours")
    return record(row, WorkingHours)


def list_working_hours(
    conn: sqlite3.Connection, *, clinic_id: str | None, doctor_id: str | None
) -> list[WorkingHours]:
    sql = (
        "SELECT w.* FROM working_hours w JOIN doctors d ON d.id = w.doctor_id"
        " WHERE (? IS NULL OR d.clinic_id = ?) AND (? IS NULL OR w.doctor_id = ?)"
        " ORDER BY d.name, w.weekday, w.start_time"
    )
    return records(conn.execute(sql, [clinic_id, clinic_id, doctor_id, doctor_id]), WorkingHours)


def day_hours(conn: sqlite3.Connection, doctor_id: str, weekday: int) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT start_time, end_time FROM working_hours WHERE doctor_id = ? AND weekday = ?"
        " ORDER BY start_time",
        [doctor_id, weekday],
    )
    return [(r[0], r[1]) for r in rows]


# time off --------------------------------------------------------------------------------


def get_time_off(conn: sqlite3.Connection, time_off_id: str) -> TimeOff:
    row = _one(conn, "SELECT * FROM time_off WHERE id = ?", [time_off_id], "time off")
    return record(row, TimeOff)


def list_time_off(
    conn: sqlite3.Connection, *, clinic_id: str | None, doctor_id: str | None
) -> list[TimeOff]:
    sql = (
        "SELECT * FROM time_off WHERE (? IS NULL OR clinic_id = ?) AND (? IS NULL"
        " OR doctor_id = ?"
        " OR (doctor_id IS NULL AND clinic_id = (SELECT clinic_id FROM doctors WHERE id = ?)))"
        " ORDER BY start_ts"
    )
    args = [clinic_id, clinic_id, doctor_id, doctor_id, doctor_id]
    return records(conn.execute(sql, args), TimeOff)


def time_off_spans(
    conn: sqlite3.Connection, clinic_id: str, doctor_id: str, start_ts: int, end_ts: int
) -> list[tuple[int, int]]:
    """Leave of this doctor and holidays of the clinic overlapping [start_ts, end_ts)."""
    rows = conn.execute(
        "SELECT start_ts, end_ts FROM time_off WHERE clinic_id = ? AND end_ts > ?"
        " AND start_ts < ? AND (doctor_id IS NULL OR doctor_id = ?)",
        [clinic_id, start_ts, end_ts, doctor_id],
    )
    return [(r[0], r[1]) for r in rows]
