"""The clinic's setup rows, made through clinicbot's own setup services, as staff would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from bench.clinic import CLINIC, DOCTORS, HOLIDAYS, SERVICES, Calendar, clock
from bench.rows import Ids
from clinicbot.db.database import transaction
from clinicbot.domain import (
    DoctorCreate,
    ServiceCreate,
    TimeOffCreate,
    WorkingHoursCreate,
)
from clinicbot.services import setup


def create_setup(
    conn: sqlite3.Connection, now: datetime, calendar: Calendar, years: Iterable[int]
) -> Ids:
    """The clinic, its doctors and their weekly hours, its services, holidays and leave."""
    with transaction(conn):
        clinic = setup.create_clinic(conn, CLINIC, now)
        doctors = [_doctor(conn, clinic.id, index, now) for index in range(len(DOCTORS))]
        services = [
            setup.create_service(
                conn,
                ServiceCreate(
                    clinic_id=clinic.id,
                    name=shape.name,
                    duration_minutes=shape.minutes,
                    price=shape.price,
                    doctor_ids=[doctors[i] for i in shape.doctors],
                ),
                now,
            ).id
            for shape in SERVICES
        ]
        for year in years:
            _time_off(conn, clinic.id, doctors, calendar, year)
    return Ids(clinic.id, doctors, services)


def _doctor(conn: sqlite3.Connection, clinic_id: str, index: int, now: datetime) -> str:
    shape = DOCTORS[index]
    doctor = setup.create_doctor(
        conn, DoctorCreate(clinic_id=clinic_id, name=shape.name, specialty=shape.specialty), now
    )
    for weekday, intervals in shape.week.items():
        for start, end in intervals:
            setup.create_working_hours(
                conn, WorkingHoursCreate(doctor.id, weekday, clock(start), clock(end))
            )
    return doctor.id


def _days_off(
    conn: sqlite3.Connection,
    clinic_id: str,
    first: date,
    days: int,
    reason: str,
    doctor_id: str | None = None,
) -> None:
    setup.create_time_off(
        conn,
        TimeOffCreate(
            clinic_id=clinic_id,
            starts_at=f"{first.isoformat()}T00:00:00",
            ends_at=f"{(first + timedelta(days=days)).isoformat()}T00:00:00",
            doctor_id=doctor_id,
            reason=reason,
        ),
    )


def _time_off(
    conn: sqlite3.Connection, clinic_id: str, doctors: list[str], calendar: Calendar, year: int
) -> None:
    """A year's clinic holidays, and each doctor's week of leave (as the calendar has them)."""
    for month, day, name in HOLIDAYS:
        _days_off(conn, clinic_id, date(year, month, day), 1, name)
    for index, doctor_id in enumerate(doctors):
        _days_off(conn, clinic_id, calendar.leave_start(index, year), 7, "Annual leave", doctor_id)
