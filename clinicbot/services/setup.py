"""The clinic's setup: clinics, doctors, services, working hours, time off."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import phonenumbers

from clinicbot.domain import (
    Clinic,
    ClinicCreate,
    ClinicUpdate,
    Doctor,
    DoctorCreate,
    DoctorUpdate,
    Service,
    ServiceCreate,
    ServiceUpdate,
    TimeOff,
    TimeOffCreate,
    TimeOffUpdate,
    WorkingHours,
    WorkingHoursCreate,
    WorkingHoursUpdate,
)
from clinicbot.errors import Conflict, InvalidInput, NotFound
from clinicbot.phones import normalize_phone
from clinicbot.scheduling import parse_when
from clinicbot.store import clinics as store
from clinicbot.store.rows import new_id, set_fields, stamp


def _check_region(values: dict[str, object]) -> None:
    if "timezone" in values:
        try:
            ZoneInfo(str(values["timezone"]))
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "America" is a directory
            raise InvalidInput(
                f"{values['timezone']!r} is not a time zone (try Asia/Kolkata).", field="timezone"
            ) from None
    if "country" in values:
        country = str(values["country"]).upper()
        if country not in phonenumbers.SUPPORTED_REGIONS:
            raise InvalidInput(f"{country!r} is not a country code.", field="country")
        values["country"] = country


def _check_number_id(conn: sqlite3.Connection, number_id: object, clinic_id: str) -> None:
    if number_id is None:
        return
    row = conn.execute(
        "SELECT id FROM clinics WHERE whatsapp_phone_number_id = ? AND id != ?",
        [number_id, clinic_id],
    ).fetchone()
    if row is not None:
        raise Conflict(
            "Another clinic already uses that WhatsApp number.", field="whatsapp_phone_number_id"
        )


def create_clinic(conn: sqlite3.Connection, data: ClinicCreate, now: datetime) -> Clinic:
    values = set_fields(data)
    _check_region(values)
    values["reminder_minutes"] = store.reminder_column(data.reminder_minutes)
    if data.phone:
        values["phone"] = normalize_phone(data.phone, str(values["country"]))
    clinic_id, at = new_id(), stamp(now)
    _check_number_id(conn, values.get("whatsapp_phone_number_id"), clinic_id)
    values.update(id=clinic_id, created_at=at, updated_at=at)
    columns = ", ".join(values)
    conn.execute(
        f"INSERT INTO clinics ({columns}) VALUES ({', '.join('?' for _ in values)})",  # noqa: S608
        list(values.values()),
    )
    return store.get_clinic(conn, clinic_id)


def update_clinic(
    conn: sqlite3.Connection, clinic_id: str, patch: ClinicUpdate, now: datetime
) -> Clinic:
    clinic = store.get_clinic(conn, clinic_id)
    values = set_fields(patch)
    _check_region(values)
    if values.get("phone"):
        values["phone"] = normalize_phone(
            str(values["phone"]), str(values.get("country", clinic.country))
        )
    if "whatsapp_phone_number_id" in values:
        _check_number_id(conn, values["whatsapp_phone_number_id"], clinic.id)
    if isinstance(patch.reminder_minutes, list):
        values["reminder_minutes"] = store.reminder_column(patch.reminder_minutes)
    if values:
        store.update_row(conn, "clinics", clinic.id, {**values, "updated_at": stamp(now)})
    return store.get_clinic(conn, clinic.id)


def create_doctor(conn: sqlite3.Connection, data: DoctorCreate, now: datetime) -> Doctor:
    clinic = store.get_clinic(conn, data.clinic_id)
    doctor_id, at = new_id(), stamp(now)
    conn.execute(
        "INSERT INTO doctors (id, clinic_id, name, specialty, active, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [doctor_id, clinic.id, data.name.strip(), data.specialty, data.active, at, at],
    )
    return store.get_doctor(conn, doctor_id)


def update_doctor(
    conn: sqlite3.Connection, doctor_id: str, patch: DoctorUpdate, now: datetime
) -> Doctor:
    doctor = store.get_doctor(conn, doctor_id)
    values = set_fields(patch)
    if values:
        store.update_row(conn, "doctors", doctor.id, {**values, "updated_at": stamp(now)})
    return store.get_doctor(conn, doctor.id)


def _check_doctors(conn: sqlite3.Connection, clinic_id: str, doctor_ids: list[str]) -> None:
    for doctor_id in doctor_ids:
        row = conn.execute("SELECT clinic_id FROM doctors WHERE id = ?", [doctor_id]).fetchone()
        if row is None or row[0] != clinic_id:
            raise InvalidInput(f"No doctor {doctor_id!r} at this clinic.", field="doctor_ids")


def create_service(conn: sqlite3.Connection, data: ServiceCreate, now: datetime) -> Service:
    clinic = store.get_clinic(conn, data.clinic_id)
    _check_doctors(conn, clinic.id, data.doctor_ids)
    service_id, at = new_id(), stamp(now)
    conn.execute(
        "INSERT INTO services"
        " (id, clinic_id, name, duration_minutes, price, active, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            service_id,
            clinic.id,
            data.name.strip(),
            data.duration_minutes,
            data.price,
            data.active,
            at,
            at,
        ],
    )
    store.set_service_doctors(conn, service_id, data.doctor_ids)
    return store.get_service(conn, service_id)


def update_service(
    conn: sqlite3.Connection, service_id: str, patch: ServiceUpdate, now: datetime
) -> Service:
    service = store.get_service(conn, service_id)
    values = set_fields(patch)
    doctor_ids = values.pop("doctor_ids", None)
    if isinstance(doctor_ids, list):
        _check_doctors(conn, service.clinic_id, doctor_ids)
        store.set_service_doctors(conn, service.id, doctor_ids)
    store.update_row(conn, "services", service.id, {**values, "updated_at": stamp(now)})
    return store.get_service(conn, service.id)


def _check_hours(
    conn: sqlite3.Connection, doctor_id: str, weekday: int, start: str, end: str, own_id: str
) -> None:
    if start >= end:
        raise InvalidInput("The start must be before the end.", field="end_time")
    for other_start, other_end in conn.execute(
        "SELECT start_time, end_time FROM working_hours"
        " WHERE doctor_id = ? AND weekday = ? AND id != ?",
        [doctor_id, weekday, own_id],
    ):
        if other_start < end and start < other_end:
            raise Conflict(
                f"Overlaps the hours {other_start}–{other_end} of that day.", field="start_time"
            )


def create_working_hours(conn: sqlite3.Connection, data: WorkingHoursCreate) -> WorkingHours:
    doctor = store.get_doctor(conn, data.doctor_id)
    hours_id = new_id()
    _check_hours(conn, doctor.id, data.weekday, data.start_time, data.end_time, hours_id)
    conn.execute(
        "INSERT INTO working_hours (id, doctor_id, weekday, start_time, end_time)"
        " VALUES (?, ?, ?, ?, ?)",
        [hours_id, doctor.id, data.weekday, data.start_time, data.end_time],
    )
    return store.get_working_hours(conn, hours_id)


def update_working_hours(
    conn: sqlite3.Connection, hours_id: str, patch: WorkingHoursUpdate
) -> WorkingHours:
    current = store.get_working_hours(conn, hours_id)
    values = set_fields(patch)
    merged = {**msgspec.structs.asdict(current), **values}
    _check_hours(
        conn,
        current.doctor_id,
        int(str(merged["weekday"])),
        str(merged["start_time"]),
        str(merged["end_time"]),
        current.id,
    )
    store.update_row(conn, "working_hours", current.id, values)
    return store.get_working_hours(conn, current.id)


def delete_working_hours(conn: sqlite3.Connection, hours_id: str) -> None:
    store.get_working_hours(conn, hours_id)
    conn.execute("DELETE FROM working_hours WHERE id = ?", [hours_id])


def _span_values(tz: ZoneInfo, starts_at: str, ends_at: str) -> dict[str, object]:
    start = parse_when(starts_at, tz, field="starts_at")
    end = parse_when(ends_at, tz, field="ends_at")
    if start >= end:
        raise InvalidInput("The start must be before the end.", field="ends_at")
    return {
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "start_ts": int(start.timestamp()),
        "end_ts": int(end.timestamp()),
    }


def create_time_off(conn: sqlite3.Connection, data: TimeOffCreate) -> TimeOff:
    clinic = store.get_clinic(conn, data.clinic_id)
    if data.doctor_id is not None:
        doctor = store.get_doctor(conn, data.doctor_id)
        if doctor.clinic_id != clinic.id:
            raise NotFound("No doctor with that id at this clinic.", field="doctor_id")
    values = _span_values(ZoneInfo(clinic.timezone), data.starts_at, data.ends_at)
    time_off_id = new_id()
    conn.execute(
        "INSERT INTO time_off (id, clinic_id, doctor_id, starts_at, ends_at, start_ts, end_ts,"
        " reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            time_off_id,
            clinic.id,
            data.doctor_id,
            values["starts_at"],
            values["ends_at"],
            values["start_ts"],
            values["end_ts"],
            data.reason,
        ],
    )
    return store.get_time_off(conn, time_off_id)


def update_time_off(conn: sqlite3.Connection, time_off_id: str, patch: TimeOffUpdate) -> TimeOff:
    current = store.get_time_off(conn, time_off_id)
    clinic = store.get_clinic(conn, current.clinic_id)
    values = set_fields(patch)
    if "starts_at" in values or "ends_at" in values:
        values.update(
            _span_values(
                ZoneInfo(clinic.timezone),
                str(values.get("starts_at", current.starts_at)),
                str(values.get("ends_at", current.ends_at)),
            )
        )
    store.update_row(conn, "time_off", current.id, values)
    return store.get_time_off(conn, current.id)


def delete_time_off(conn: sqlite3.Connection, time_off_id: str) -> None:
    store.get_time_off(conn, time_off_id)
    conn.execute("DELETE FROM time_off WHERE id = ?", [time_off_id])
