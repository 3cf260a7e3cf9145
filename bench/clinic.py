"""The benchmark's clinic: five doctors with Indian OPD hours, their services, and a calendar
of holidays and leave that says who works when.

A busy Indian outpatient clinic sees patients every few minutes, morning and evening, six
days a week; that is what lets a million appointments fit in about eight years.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from clinicbot.domain import ClinicCreate

SLOT_STEP_MINUTES = 5

CLINIC = ClinicCreate(
    name="Arogya Family Clinic",
    address="14 FC Road, Shivajinagar, Pune 411005",
    phone="+912025531234",
    country="IN",
    timezone="Asia/Kolkata",
    min_notice_minutes=60,
    horizon_days=60,
    slot_step_minutes=SLOT_STEP_MINUTES,
)

Interval = tuple[int, int]  # minutes after local midnight, [start, end)


def _hours(text: str) -> tuple[Interval, ...]:
    """``"09:00-14:00 17:00-21:30"`` -> ((540, 840), (1020, 1290))."""
    spans = []
    for part in text.split():
        start, end = part.split("-")
        spans.append((_minutes(start), _minutes(end)))
    return tuple(spans)


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class DoctorShape:
    name: str
    specialty: str
    week: dict[int, tuple[Interval, ...]]  # weekday (0 = Monday) -> intervals; breaks are gaps


@dataclass(frozen=True)
class ServiceShape:
    name: str
    minutes: int
    price: float
    doctors: tuple[int, ...]  # indexes into DOCTORS; empty means every doctor
    weight: float  # how often a visit of one of its doctors is this service


def _days(days: str, hours: str) -> dict[int, tuple[Interval, ...]]:
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    return {names.index(d): _hours(hours) for d in days.split()}


DOCTORS = (
    DoctorShape(
        "Dr. Anjali Sharma",
        "General physician",
        _days("mon tue wed thu fri sat", "09:00-14:00 17:00-21:30"),
    ),
    DoctorShape(
        "Dr. Rajesh Mehta",
        "Paediatrician",
        {
            **_days("mon tue wed thu fri sat", "09:00-14:00 17:00-21:00"),
            **_days("sun", "10:00-13:00"),
        },
    ),
    DoctorShape(
        "Dr. Priya Iyer",
        "Gynaecologist",
        _days("mon tue wed fri sat", "09:00-14:00 16:30-20:30"),
    ),
    DoctorShape(
        "Dr. Vikram Singh",
        "Orthopaedic surgeon",
        _days("mon tue wed thu fri sat", "08:30-13:30 17:30-21:30"),
    ),
    DoctorShape(
        "Dr. Farah Khan",
        "Dermatologist",
        _days("tue wed thu fri sat sun", "10:00-15:00 17:30-21:30"),
    ),
)

SERVICES = (
    ServiceShape("Follow-up visit", 5, 200, (), 0.55),
    ServiceShape("Consultation", 10, 500, (), 0.35),
    ServiceShape("ECG", 15, 350, (0,), 0.1),
    ServiceShape("Vaccination", 5, 300, (1,), 0.1),
    ServiceShape("Antenatal check-up", 15, 800, (2,), 0.1),
    ServiceShape("Plaster or dressing", 20, 600, (3,), 0.1),
    ServiceShape("Skin procedure", 30, 1500, (4,), 0.1),
)

# The service every benchmark booking asks for: all doctors offer it.
BOOKING_SERVICE = 1

HOLIDAYS = ((1, 26, "Republic Day"), (8, 15, "Independence Day"), (10, 2, "Gandhi Jayanti"))


def services_of(doctor: int) -> list[int]:
    """Indexes of the services a doctor offers."""
    return [i for i, s in enumerate(SERVICES) if not s.doctors or doctor in s.doctors]


@dataclass(frozen=True)
class Calendar:
    """Who works on which day: weekly hours, less clinic holidays and each doctor's leave.

    Every doctor takes one week of leave a year, in a week drawn from the seed.
    """

    seed: int

    def holiday(self, day: date) -> bool:
        return any((day.month, day.day) == (m, d) for m, d, _ in HOLIDAYS)

    def leave_start(self, doctor: int, year: int) -> date:
        rng = random.Random(self.seed * 100_003 + year * 11 + doctor)
        return date.fromordinal(date(year, 1, 1).toordinal() + rng.randrange(20, 330))

    def on_leave(self, doctor: int, day: date) -> bool:
        offset = day.toordinal() - self.leave_start(doctor, day.year).toordinal()
        return 0 <= offset < 7

    def intervals(self, doctor: int, day: date) -> tuple[Interval, ...]:
        """The doctor's working intervals that day; empty when they do not work."""
        if self.holiday(day) or self.on_leave(doctor, day):
            return ()
        return DOCTORS[doctor].week.get(day.weekday(), ())
