"""The demo clinic behind ``clinicbot serve --demo``: setup, patients, six months of visits
and, from ``demo_chats``, the WhatsApp conversations of the last days.

Owns the generator only. It writes through the same setup services and stores as the app,
but inserts past appointments directly: the booking service rightly refuses to book in the
past, and history is what the analytics screens need. Everything is drawn from one seeded
``random.Random``, so the same ``now`` always gives the same clinic.
"""

from __future__ import annotations

import random
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinicbot.demo_chats import load_conversations
from clinicbot.demo_names import (
    CANCEL_REASONS,
    DOCTORS,
    SERVICES,
    VISIT_NOTES,
    Person,
    Roster,
    make_people,
)
from clinicbot.domain import (
    ClinicCreate,
    DoctorCreate,
    ServiceCreate,
    Source,
    Status,
    TimeOffCreate,
    WorkingHoursCreate,
)
from clinicbot.scheduling import local_dt, months_before
from clinicbot.services import setup
from clinicbot.services.patients import update_patient_stats
from clinicbot.store import appointments as appointment_store
from clinicbot.store.rows import stamp

SEED = 20_250_601
PATIENTS = 200
TIMEZONE = "Asia/Kolkata"
HISTORY_MONTHS = 6
AHEAD_DAYS = 14
STEP = timedelta(minutes=15)  # the clinic's slot grid; walk-ins are put on it too

# Mondays are the busiest day of an Indian family practice; Sunday mornings are thin.
WEEKDAY_LOAD = (1.35, 1.0, 0.95, 0.9, 1.0, 1.15, 0.8)
REBOOKED = 0.035  # share of slots that someone cancelled and another patient then took
CANCELLED = (0.08, 0.04)  # chance a booking is cancelled: past, upcoming


@dataclass(frozen=True)
class Absence:
    doctor: int | None  # index into DOCTORS; None closes the clinic
    first: date
    last: date
    reason: str


@dataclass(frozen=True)
class Calendar:
    """The demo's frame of time: clinic-local ``now``, the history's first day, days off."""

    tz: ZoneInfo
    now: datetime
    first_day: date
    absences: tuple[Absence, ...]

    @property
    def today(self) -> date:
        return self.now.date()

    def off(self, doctor: int, day: date) -> bool:
        return any(a.doctor in (None, doctor) and a.first <= day <= a.last for a in self.absences)


Event = tuple[datetime, str, str, Status | None, Status | None, str]


@dataclass
class Booking:
    doctor: int
    service: int
    start: datetime  # clinic-local
    end: datetime
    rebooked: bool = False  # the cancelled first booking of a slot another patient then took
    patient: int = -1
    source: Source = Source.WHATSAPP
    status: Status = Status.CONFIRMED
    reason: str | None = None
    notes: str = ""
    events: list[Event] = field(default_factory=list)  # (at, actor, kind, from, to, detail)


@dataclass
class Ids:
    clinic: str
    doctors: list[str]
    services: list[str]
    patients: list[str] = field(default_factory=list)


def load_demo(conn: sqlite3.Connection, now: datetime, *, phone_number_id: str | None) -> str:
    """Fill an empty database with the demo clinic and return the clinic's id.

    Runs inside the caller's transaction. The same ``now`` always gives the same data.
    """
    rng = random.Random(SEED)
    cal = _calendar(now)
    opened = local_dt(cal.first_day, "00:00", cal.tz)
    people = make_people(rng, opened, now, PATIENTS)
    bookings = _schedule(rng, cal, people)
    ids = _set_up(conn, cal, phone_number_id)
    ids.patients = [_uuid(rng) for _ in people]
    _store_patients(conn, ids, people, bookings, now)
    for booking in bookings:
        _store_booking(conn, _uuid(rng), booking, people[booking.patient], ids)
    for patient_id in ids.patients:
        update_patient_stats(conn, patient_id, now)
    load_conversations(conn, ids.clinic, now)
    return ids.clinic


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _calendar(now: datetime) -> Calendar:
    """Six months of history (and a week to spare), with a festival closure two months back,
    a clinic holiday a week ahead, and Dr. Iyer's leave before it."""
    tz = ZoneInfo(TIMEZONE)
    today = now.astimezone(tz).date()

    def weekday_from(day: date) -> date:
        return day if day.weekday() != 6 else day + timedelta(days=1)

    past = weekday_from(months_before(today, 2))
    ahead = weekday_from(today + timedelta(days=8))
    leave = today + timedelta(days=3)
    absences = (
        Absence(None, past, past, "Clinic closed for the festival"),
        Absence(None, ahead, ahead, "Clinic holiday"),
        Absence(1, leave, leave + timedelta(days=2), "Dr. Iyer at a paediatrics conference"),
    )
    first_day = months_before(today, HISTORY_MONTHS) - timedelta(days=7)
    return Calendar(tz, now.astimezone(tz), first_day, absences)


# --- the setup, through the same services staff use --------------------------------------


def _set_up(conn: sqlite3.Connection, cal: Calendar, number_id: str | None) -> Ids:
    opened = local_dt(cal.first_day - timedelta(days=1), "09:00", cal.tz)
    clinic = setup.create_clinic(
        conn,
        ClinicCreate(
            name="Sharma Family Clinic",
            address="Shop 4, Sai Krupa Complex, Baner Road, Baner, Pune, Maharashtra 411045",
            phone="020 2729 4455",
            timezone=TIMEZONE,
            whatsapp_phone_number_id=number_id,
        ),
        opened,
    )
    ids = Ids(clinic.id, [], [])
    for spec in DOCTORS:
        doctor = setup.create_doctor(
            conn, DoctorCreate(clinic.id, spec.name, specialty=spec.specialty), opened
        )
        ids.doctors.append(doctor.id)
        for weekday, intervals in spec.hours.items():
            for start, end in intervals:
                setup.create_working_hours(conn, WorkingHoursCreate(doctor.id, weekday, start, end))
    for index, service in enumerate(SERVICES):
        offered_by = [
            ids.doctors[d] for d, spec in enumerate(DOCTORS) if index in dict(spec.services)
        ]
        data = ServiceCreate(clinic.id, service.name, service.minutes, service.price, offered_by)
        ids.services.append(setup.create_service(conn, data, opened).id)
    for absence in cal.absences:
        setup.create_time_off(
            conn,
            TimeOffCreate(
                clinic_id=clinic.id,
                starts_at=local_dt(absence.first, "00:00", cal.tz).isoformat(),
                ends_at=local_dt(absence.last, "24:00", cal.tz).isoformat(),
                doctor_id=None if absence.doctor is None else ids.doctors[absence.doctor],
                reason=absence.reason,
            ),
        )
    return ids


# --- the diary: which slots were booked, by whom, and what became of them ----------------


def _schedule(rng: random.Random, cal: Calendar, people: list[Person]) -> list[Booking]:
    roster = Roster(people, len(DOCTORS))
    bookings: list[Booking] = []
    day = cal.first_day
    while day <= cal.today + timedelta(days=AHEAD_DAYS):
        for booking in _plan_day(rng, cal, day):
            patient = roster.pick(rng, booking.doctor, booking.start)
            if patient is None:
                continue
            booking.patient = patient
            # A re-booked slot was cancelled before the booking that now holds it was made.
            held = bookings[-1] if bookings else None
            retaken = None
            if (
                booking.rebooked
                and held
                and (held.start, held.doctor) == (booking.start, booking.doctor)
            ):
                retaken = held.events[0][0]
            _live(rng, cal, booking, people[patient], retaken)
            bookings.append(booking)
        day += timedelta(days=1)
    return bookings


def _plan_day(rng: random.Random, cal: Calendar, day: date) -> list[Booking]:
    planned: list[Booking] = []
    for doctor, spec in enumerate(DOCTORS):
        if cal.off(doctor, day):
            continue
        mood = rng.uniform(0.75, 1.25)  # some days are simply busier than others
        for start, end in spec.hours.get(day.weekday(), ()):
            span = (local_dt(day, start, cal.tz), local_dt(day, end, cal.tz))
            planned += _fill(rng, cal, doctor, span, mood)
    planned.sort(key=lambda b: (b.start, b.doctor))  # stable: a re-booked pair stays together
    return planned


def _fill(
    rng: random.Random, cal: Calendar, doctor: int, span: tuple[datetime, datetime], mood: float
) -> list[Booking]:
    """Bookings on the slot grid of one working interval, never overlapping."""
    spec = DOCTORS[doctor]
    services, weights = zip(*spec.services, strict=True)
    start, end = span
    made = []
    cursor = start
    while cursor < end:
        service = rng.choices(services, weights)[0]
        finish = cursor + timedelta(minutes=SERVICES[service].minutes)
        if finish > end or rng.random() >= spec.load * mood * _demand(cal, cursor):
            cursor += STEP
            continue
        made.append(Booking(doctor, service, cursor, finish))
        if rng.random() < REBOOKED:
            made.append(Booking(doctor, service, cursor, finish, rebooked=True))
        cursor = start + STEP * -(-(finish - start) // STEP)  # the next grid point after it
    return made


def _demand(cal: Calendar, moment: datetime) -> float:
    """How likely a slot is booked: busy mornings and evenings, a quiet afternoon, Mondays
    packed, a practice that grew over the months, and later days not yet booked up."""
    day = moment.date()
    growth = 0.75 + 0.25 * min(1.0, (day - cal.first_day) / (cal.today - cal.first_day))
    hour = moment.hour
    by_hour = 1.25 if hour < 11 else 1.0 if hour < 13 else 0.55 if hour < 17 else 1.3
    if moment > cal.now:
        growth *= max(0.15, 0.85 - 0.05 * (day - cal.today).days)
    return growth * by_hour * WEEKDAY_LOAD[day.weekday()]


def _live(
    rng: random.Random, cal: Calendar, booking: Booking, person: Person, retaken: datetime | None
) -> None:
    """What became of the booking by ``now``: its source, status and audit trail.

    ``retaken`` is when another patient booked this slot, for a booking cancelled before.
    """
    now, started = cal.now, booking.start <= cal.now
    booking.source = _source(rng, walk_in=started and not booking.rebooked)
    if retaken is None:
        created = _booked_at(rng, booking, now)
    else:
        created = retaken - timedelta(hours=rng.uniform(2, 72))
    actor = "patient" if booking.source == Source.WHATSAPP else "staff"
    booking.events.append((created, actor, "created", None, Status.CONFIRMED, booking.source.value))
    if rng.random() < 0.12:
        booking.notes = rng.choice(VISIT_NOTES)
    walk_in = booking.source == Source.WALK_IN
    if booking.rebooked or (not walk_in and rng.random() < CANCELLED[0 if started else 1]):
        limit = retaken or min(booking.start, now)
        booking.reason = rng.choice(CANCEL_REASONS) or None
        at = created + (limit - created) * rng.uniform(0.3, 0.95)
        _move(booking, at, actor, Status.CANCELLED, booking.reason or "")
    elif not started:
        return
    elif not walk_in and booking.end <= now and rng.random() < person.no_show:
        _move(booking, min(booking.start + timedelta(minutes=30), now), "staff", Status.NO_SHOW)
    else:
        arrived = (
            created + timedelta(minutes=rng.uniform(1, 4))
            if walk_in
            else booking.start - timedelta(minutes=rng.uniform(0, 20))
        )
        _move(booking, min(arrived, now), "staff", Status.ARRIVED)
        if booking.end <= now:
            done = booking.end + timedelta(minutes=rng.uniform(0, 8))
            _move(booking, min(done, now), "staff", Status.COMPLETED)


def _move(booking: Booking, at: datetime, actor: str, status: Status, detail: str = "") -> None:
    booking.events.append((at, actor, "status", booking.status, status, detail))
    booking.status = status


def _source(rng: random.Random, *, walk_in: bool) -> Source:
    if walk_in and rng.random() < 0.15:
        return Source.WALK_IN
    return Source.WHATSAPP if rng.random() < 0.7 else Source.STAFF


def _booked_at(rng: random.Random, booking: Booking, now: datetime) -> datetime:
    """A walk-in books at the desk minutes before; others a few hours to two weeks ahead."""
    if booking.source == Source.WALK_IN:
        return booking.start - timedelta(minutes=rng.uniform(5, 40))
    roll = rng.random()
    if roll < 0.3:
        hours = rng.uniform(1, 8)  # the same morning, for the evening clinic
    elif roll < 0.75:
        hours = rng.uniform(24, 72)
    else:
        hours = rng.uniform(72, 300)
    at = booking.start - timedelta(hours=hours)
    return at if at < now else now - timedelta(minutes=rng.uniform(5, 180))


# --- writing it down ----------------------------------------------------------------------


def _store_patients(
    conn: sqlite3.Connection, ids: Ids, people: list[Person], bookings: list[Booking], now: datetime
) -> None:
    """Each patient's record dates from their first contact: just before their first booking."""
    first_contact: dict[int, datetime] = {}
    for booking in bookings:
        at = booking.events[0][0]
        first_contact[booking.patient] = min(at, first_contact.get(booking.patient, at))
    rows = []
    for index, (person, patient_id) in enumerate(zip(people, ids.patients, strict=True)):
        created = stamp(first_contact.get(index, now) - timedelta(minutes=2 + index % 40))
        row = (patient_id, ids.clinic, person.name, person.phone, person.whatsapp_name)
        rows.append((*row, created, created))
    conn.executemany(
        "INSERT INTO patients (id, clinic_id, name, phone, whatsapp_name, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def _store_booking(
    conn: sqlite3.Connection, appointment_id: str, booking: Booking, person: Person, ids: Ids
) -> None:
    appointment_store.insert_appointment(
        conn,
        {
            "id": appointment_id,
            "clinic_id": ids.clinic,
            "doctor_id": ids.doctors[booking.doctor],
            "service_id": ids.services[booking.service],
            "patient_id": ids.patients[booking.patient],
            "patient_name": person.name,
            "patient_phone": person.phone,
            "starts_at": booking.start.isoformat(),
            "ends_at": booking.end.isoformat(),
            "start_ts": int(booking.start.timestamp()),
            "end_ts": int(booking.end.timestamp()),
            "date": booking.start.date().isoformat(),
            "status": booking.status.value,
            "source": booking.source.value,
            "notes": booking.notes,
            "cancellation_reason": booking.reason,
            "created_at": stamp(booking.events[0][0]),
            "updated_at": stamp(booking.events[-1][0]),
        },
    )
    for at, actor, kind, before, after, detail in booking.events:
        appointment_store.add_event(
            conn,
            appointment_id,
            at=stamp(at),
            actor=actor,
            kind=kind,
            from_status=None if before is None else before.value,
            to_status=None if after is None else after.value,
            detail=detail,
        )
