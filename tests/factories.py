"""Building clinics for tests, over the real API or the real services."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import httpx

from clinicbot.db.database import transaction
from clinicbot.domain import (
    ClinicCreate,
    DoctorCreate,
    ServiceCreate,
    WorkingHoursCreate,
)
from clinicbot.services import setup

# Mon–Sat 09:00–13:00 and 14:00–18:00 (lunch 13–14); Sunday closed.
WEEK = [(wd, "09:00", "13:00") for wd in range(6)] + [(wd, "14:00", "18:00") for wd in range(6)]


@dataclass
class TestClinic:
    __test__ = False  # a factory's product, not a test class
    id: str
    doctor_ids: list[str]
    service_ids: list[str] = field(default_factory=list)

    @property
    def doctor(self) -> str:
        return self.doctor_ids[0]

    @property
    def service(self) -> str:
        return self.service_ids[0]


def next_weekday(after: date, weekday: int = 0) -> date:
    """The first ``weekday`` (0 = Monday) strictly after ``after``, at least two days on."""
    day = after + timedelta(days=2)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def make_clinic_api(
    client: httpx.Client, *, doctors: int = 1, min_notice_minutes: int = 60, name: str = "Test"
) -> TestClinic:
    """A clinic over HTTP: doctors working WEEK, a 15-minute consultation and a 30-minute one."""
    clinic = client.post(
        "/api/v1/clinics",
        json={
            "name": f"{name} Clinic",
            "min_notice_minutes": min_notice_minutes,
        },
    )
    assert clinic.status_code == 201, clinic.text
    clinic_id = clinic.json()["id"]
    doctor_ids = []
    for i in range(doctors):
        r = client.post("/api/v1/doctors", json={"clinic_id": clinic_id, "name": f"Dr. Test {i}"})
        assert r.status_code == 201, r.text
        doctor_ids.append(r.json()["id"])
        for weekday, start, end in WEEK:
            r = client.post(
                "/api/v1/working-hours",
                json={
                    "doctor_id": doctor_ids[-1],
                    "weekday": weekday,
                    "start_time": start,
                    "end_time": end,
                },
            )
            assert r.status_code == 201, r.text
    made = TestClinic(clinic_id, doctor_ids)
    for name_, minutes in (("Consultation", 15), ("Follow-up", 30)):
        r = client.post(
            "/api/v1/services",
            json={
                "clinic_id": clinic_id,
                "name": name_,
                "duration_minutes": minutes,
                "price": 500,
            },
        )
        assert r.status_code == 201, r.text
        made.service_ids.append(r.json()["id"])
    return made


def make_clinic_db(
    conn: sqlite3.Connection,
    now: datetime,
    *,
    doctors: int = 1,
    min_notice_minutes: int = 60,
    horizon_days: int = 60,
) -> TestClinic:
    """The same clinic through the services, for tests below the HTTP layer."""
    with transaction(conn):
        clinic = setup.create_clinic(
            conn,
            ClinicCreate(
                name="Test Clinic",
                min_notice_minutes=min_notice_minutes,
                horizon_days=horizon_days,
            ),
            now,
        )
        doctor_ids = []
        for i in range(doctors):
            doctor = setup.create_doctor(
                conn, DoctorCreate(clinic_id=clinic.id, name=f"Dr. Test {i}"), now
            )
            doctor_ids.append(doctor.id)
            for weekday, start, end in WEEK:
                setup.create_working_hours(
                    conn,
                    WorkingHoursCreate(
                        doctor_id=doctor.id, weekday=weekday, start_time=start, end_time=end
                    ),
                )
        made = TestClinic(clinic.id, doctor_ids)
        for name_, minutes in (("Consultation", 15), ("Follow-up", 30)):
            service = setup.create_service(
                conn,
                ServiceCreate(clinic_id=clinic.id, name=name_, duration_minutes=minutes, price=500),
                now,
            )
            made.service_ids.append(service.id)
    return made
