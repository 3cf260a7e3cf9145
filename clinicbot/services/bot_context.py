"""The clinic and the patient as the conversation engine sees them, read from one snapshot;
and slot holds, which keep a slot for one patient while they confirm it (or, for a shorter
while, the first of the times just offered to them)."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from clinicbot.conversation.model import Context, Language
from clinicbot.domain import Appointment, Clinic, Service, Status, WorkingHours
from clinicbot.errors import SlotTaken
from clinicbot.scheduling import free_slots, from_ts, shift
from clinicbot.services.booking import load_day
from clinicbot.store import clinics as setup
from clinicbot.store.rows import records

HOLD_MINUTES = 10  # a time the patient picked, while they confirm it
OFFER_HOLD_MINUTES = 3  # the first of the times just offered, while the patient chooses


class SnapshotAvailability:
    """Free starts from the snapshot's connection, less what other patients hold."""

    def __init__(
        self, conn: sqlite3.Connection, clinic: Clinic, patient_id: str | None, now: datetime
    ) -> None:
        self._conn, self._clinic, self._patient_id, self._now = conn, clinic, patient_id, now
        self._services: dict[str, Service] = {}
        self._cache: dict[tuple[str, str, date], list[datetime]] = {}

    def _service(self, service_id: str) -> Service | None:
        if service_id not in self._services:
            rows = self._conn.execute("SELECT id FROM services WHERE id = ?", [service_id])
            if rows.fetchone() is None:
                return None
            self._services[service_id] = setup.get_service(self._conn, service_id)
        return self._services[service_id]

    def free_starts(self, doctor_id: str, service_id: str, day: date) -> list[datetime]:
        key = (doctor_id, service_id, day)
        if key not in self._cache:
            self._cache[key] = self._compute(doctor_id, service_id, day)
        return list(self._cache[key])

    def _compute(self, doctor_id: str, service_id: str, day: date) -> list[datetime]:
        service = self._service(service_id)
        if service is None or not service.active:
            return []
        if not setup.doctor_offers(self._conn, service, doctor_id):
            return []
        schedule = load_day(self._conn, self._clinic, doctor_id, day)
        held = held_by_others(self._conn, doctor_id, self._patient_id, self._now, schedule.tz)
        schedule = type(schedule)(
            schedule.day, schedule.tz, schedule.working, schedule.off, [*schedule.taken, *held]
        )
        duration = timedelta(minutes=service.duration_minutes)
        return [start for start, _ in free_slots(schedule, duration, self._clinic.rules, self._now)]


def held_by_others(
    conn: sqlite3.Connection,
    doctor_id: str,
    patient_id: str | None,
    now: datetime,
    tz: ZoneInfo,
) -> list[tuple[datetime, datetime]]:
    rows = conn.execute(
        "SELECT start_ts, end_ts FROM slot_holds WHERE doctor_id = ? AND expires_ts > ?"
        " AND patient_id IS NOT ?",
        [doctor_id, int(now.timestamp()), patient_id],
    )
    return [(from_ts(a, tz), from_ts(b, tz)) for a, b in rows]


def check_not_held(
    conn: sqlite3.Connection,
    doctor_id: str,
    start: datetime,
    minutes: int,
    patient_id: str,
    now: datetime,
) -> None:
    """SlotTaken when another patient holds any part of this time."""
    start_ts = int(start.timestamp())
    end_ts = int(shift(start, minutes).timestamp())
    row = conn.execute(
        "SELECT 1 FROM slot_holds WHERE doctor_id = ? AND expires_ts > ? AND patient_id != ?"
        " AND start_ts < ? AND end_ts > ? LIMIT 1",
        [doctor_id, int(now.timestamp()), patient_id, end_ts, start_ts],
    ).fetchone()
    if row is not None:
        raise SlotTaken("Another patient is confirming that time.")


def hold_slot(
    conn: sqlite3.Connection,
    doctor_id: str,
    start: datetime,
    minutes: int,
    patient_id: str,
    now: datetime,
    *,
    keep_minutes: int = HOLD_MINUTES,
) -> None:
    """Keep this time for the patient for ``keep_minutes`` (one hold per patient)."""
    check_not_held(conn, doctor_id, start, minutes, patient_id, now)
    now_ts = int(now.timestamp())
    conn.execute(
        "DELETE FROM slot_holds WHERE patient_id = ? OR expires_ts <= ?", [patient_id, now_ts]
    )
    conn.execute(
        "INSERT INTO slot_holds (doctor_id, start_ts, end_ts, patient_id, expires_ts)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            doctor_id,
            int(start.timestamp()),
            int(shift(start, minutes).timestamp()),
            patient_id,
            now_ts + keep_minutes * 60,
        ],
    )


def release_holds(conn: sqlite3.Connection, patient_id: str) -> None:
    conn.execute("DELETE FROM slot_holds WHERE patient_id = ?", [patient_id])


def build_context(
    conn: sqlite3.Connection,
    clinic: Clinic,
    *,
    patient_id: str | None,
    patient_name: str,
    language: Language,
    now: datetime,
) -> Context:
    """Everything the engine may consult for one message, from this connection's snapshot."""
    doctors = tuple(d for d in setup.list_doctors(conn, clinic.id) if d.active)
    # A service naming no doctors is offered by every doctor (``setup.doctor_offers``):
    # the engine reads ``doctor_ids`` as the full list, so name them all for it.
    everyone = [d.id for d in doctors]
    services = tuple(
        s if s.doctor_ids else msgspec.structs.replace(s, doctor_ids=everyone)
        for s in setup.list_services(conn, clinic.id)
        if s.active
    )
    hours: dict[str, list[WorkingHours]] = {d.id: [] for d in doctors}
    for h in setup.list_working_hours(conn, clinic_id=clinic.id, doctor_id=None):
        hours.setdefault(h.doctor_id, []).append(h)
    tz = ZoneInfo(clinic.timezone)
    now_ts = int(now.timestamp())
    holidays = tuple(
        (from_ts(a, tz), from_ts(b, tz))
        for a, b in conn.execute(
            "SELECT start_ts, end_ts FROM time_off WHERE clinic_id = ? AND doctor_id IS NULL"
            " AND end_ts > ? ORDER BY start_ts",
            [clinic.id, now_ts],
        )
    )
    upcoming: tuple[Appointment, ...] = ()
    if patient_id is not None:
        rows = conn.execute(
            "SELECT * FROM appointments WHERE patient_id = ? AND status IN (?, ?)"
            " AND end_ts > ? ORDER BY start_ts",
            [patient_id, Status.CONFIRMED.value, Status.ARRIVED.value, now_ts],
        )
        upcoming = tuple(records(rows, Appointment))
    return Context(
        now=now.astimezone(tz),
        clinic=clinic,
        doctors=doctors,
        services=services,
        hours={k: tuple(v) for k, v in hours.items()},
        availability=SnapshotAvailability(conn, clinic, patient_id, now),
        language=language,
        patient_name=patient_name,
        upcoming=upcoming,
        holidays=holidays,
    )
