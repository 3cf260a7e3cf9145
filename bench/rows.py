"""The generated rows: patients, and appointments on the plan's grid, in the real columns.

Statuses follow time: visits that ended before the build are mostly completed, some no-show
(and a few left confirmed, as a busy desk forgets); later ones are confirmed. Patients arrive
evenly over the years, and each visit goes to a patient who has arrived by then: mostly
anyone, sometimes one of the newest (a first visit, then its follow-ups).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bench.people import Person
from bench.plan import DoctorDay, Layout, Visit

PATIENT_COLUMNS = (
    "id",
    "clinic_id",
    "name",
    "phone",
    "whatsapp_name",
    "created_at",
    "updated_at",
    "is_active",
)
APPOINTMENT_COLUMNS = (
    "id",
    "clinic_id",
    "doctor_id",
    "service_id",
    "patient_id",
    "patient_name",
    "patient_phone",
    "starts_at",
    "ends_at",
    "start_ts",
    "end_ts",
    "date",
    "status",
    "source",
    "notes",
    "cancellation_reason",
    "created_at",
    "updated_at",
)

# One draw in twenty: 11 WhatsApp, 6 front desk, 3 walk-ins.
SOURCES = ("whatsapp",) * 11 + ("staff",) * 6 + ("walk-in",) * 3
REASONS = (None, None, "Patient asked on WhatsApp", "Feeling better", "Travelling", "Rebooked")
DAY = 86_400
_CLOCKS = [f"{m // 60:02d}:{m % 60:02d}:00" for m in range(24 * 60 + 1)]
Row = tuple[object, ...]


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def stamp(ts: int) -> str:
    """The app's stored timestamp form (UTC, seconds), from a Unix time."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


@dataclass(frozen=True)
class Ids:
    clinic: str
    doctors: list[str]
    services: list[str]


class LocalDays:
    """Clinic-local day starts and ISO offsets, computed once per day."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self._cache: dict[date, tuple[int, str]] = {}

    def start(self, day: date) -> tuple[int, str]:
        """(Unix time of local midnight, the day's offset like ``+05:30``)."""
        if day not in self._cache:
            midnight = datetime.combine(day, time(0), self.tz)
            self._cache[day] = (int(midnight.timestamp()), midnight.isoformat()[-6:])
        return self._cache[day]


def patient_rows(
    rng: random.Random, people: list[Person], clinic_id: str, layout: Layout, days: LocalDays
) -> list[Row]:
    """Patients in the order they arrived, evenly over the span; one in a hundred inactive."""
    rows: list[Row] = []
    for i, person in enumerate(people):
        arrival = layout.first_day + timedelta(days=i * layout.span_days // len(people))
        created = stamp(days.start(arrival)[0] + rng.randrange(8 * 3600, 21 * 3600))
        active = 0 if rng.random() < 0.01 else 1
        row = (seeded_uuid(rng), clinic_id, person.name, person.phone, person.whatsapp_name)
        rows.append((*row, created, created, active))
    return rows


class AppointmentRows:
    """Appointment rows for every visit of the layout, in time order."""

    def __init__(
        self,
        rng: random.Random,
        layout: Layout,
        ids: Ids,
        patients: list[Row],
        days: LocalDays,
        now_ts: int,
    ) -> None:
        self.rng, self.layout, self.ids, self.patients = rng, layout, ids, patients
        self.days, self.now_ts = days, now_ts
        self.recent = max(1, len(patients) // 100)

    def arrived(self, day: date) -> int:
        """How many patients have arrived by the end of ``day``."""
        n = len(self.patients)
        elapsed = (day - self.layout.first_day).days + 1
        return max(1, min(n, -(-n * elapsed // self.layout.span_days)))

    def patient(self, arrived: int) -> Row:
        rng = self.rng
        if rng.random() < 0.25:
            return self.patients[arrived - 1 - int(rng.random() * min(arrived, self.recent))]
        return self.patients[int(rng.random() * arrived)]

    def __iter__(self) -> Iterator[Row]:
        for doctor_day in self.layout.days():
            yield from self.day_rows(doctor_day)

    def day_rows(self, doctor_day: DoctorDay) -> Iterator[Row]:
        midnight, offset = self.days.start(doctor_day.day)
        local = (doctor_day.day.isoformat(), midnight, offset)
        arrived = self.arrived(doctor_day.day)
        doctor_id = self.ids.doctors[doctor_day.doctor]
        for visit in doctor_day.visits:
            yield self.row(visit, doctor_id, local, self.patient(arrived))

    def row(self, visit: Visit, doctor_id: str, local: tuple[str, int, str], patient: Row) -> Row:
        day, midnight, offset = local
        start_ts = midnight + visit.start * 60
        end_ts = start_ts + visit.minutes * 60
        status = self.status(visit, end_ts)
        source = SOURCES[int(self.rng.random() * len(SOURCES))]
        if source == "walk-in" and start_ts > self.now_ts:
            source = "staff"
        created = self.created(source, start_ts)
        updated = self.updated(status, created, start_ts, end_ts)
        reason = REASONS[int(self.rng.random() * len(REASONS))] if status == "cancelled" else None
        return (
            seeded_uuid(self.rng),
            self.ids.clinic,
            doctor_id,
            self.ids.services[visit.service],
            patient[0],
            patient[2],
            patient[3],
            f"{day}T{_CLOCKS[visit.start]}{offset}",
            f"{day}T{_CLOCKS[visit.start + visit.minutes]}{offset}",
            start_ts,
            end_ts,
            day,
            status,
            source,
            "",
            reason,
            stamp(created),
            stamp(updated),
        )

    def status(self, visit: Visit, end_ts: int) -> str:
        if visit.cancelled:
            return "cancelled"
        if end_ts > self.now_ts:
            return "confirmed"
        roll = self.rng.random()
        return "completed" if roll < 0.905 else "no_show" if roll < 0.995 else "confirmed"

    def created(self, source: str, start_ts: int) -> int:
        rng = self.rng
        if source == "walk-in":
            created = start_ts - rng.randrange(0, 1800)
        else:
            created = start_ts - rng.randrange(3600, 14 * DAY)
        if created > self.now_ts:
            created = self.now_ts - rng.randrange(0, 3 * DAY)
        return created

    def updated(self, status: str, created: int, start_ts: int, end_ts: int) -> int:
        if status in ("completed", "no_show"):
            return max(created, min(end_ts + self.rng.randrange(0, 7200), self.now_ts))
        if status == "cancelled":
            latest = max(created, min(start_ts, self.now_ts))
            return created + int(self.rng.random() * (latest - created))
        return created
