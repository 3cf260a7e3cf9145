"""The benchmark's requests, drawn from a seed: doctor-days to ask slots for, search
fragments a receptionist would type, and bookings of distinct free slots."""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bench.build import BuiltDb
from bench.clinic import BOOKING_SERVICE, CLINIC, DOCTORS, SERVICES, Calendar, services_of
from bench.people import FIRST_NAMES, LAST_NAMES, fresh_numbers

SLOT_DAYS_AHEAD = 21  # the bot and the desk look at the next three weeks
NAME, PHONE, SHORT = "name, 3–6 letters", "phone, 4–6 digits", "1–2 letters"
SEARCH_KINDS = (NAME, PHONE, SHORT)
BOOKING_NOTE = "bench booking"


@dataclass(frozen=True)
class SlotQuery:
    doctor_id: str
    day: date
    service_id: str


@dataclass(frozen=True)
class SearchQuery:
    kind: str
    q: str


def slot_queries(built: BuiltDb, today: date, count: int, seed: int) -> list[SlotQuery]:
    """Doctor-days from today on, on which the doctor works, each with a service they offer."""
    rng, calendar = random.Random(seed), Calendar(built.seed)
    queries: list[SlotQuery] = []
    while len(queries) < count:
        doctor = rng.randrange(len(DOCTORS))
        day = today + timedelta(days=rng.randrange(SLOT_DAYS_AHEAD))
        if calendar.intervals(doctor, day):
            service = rng.choice(services_of(doctor))
            queries.append(SlotQuery(built.doctor_ids[doctor], day, built.service_ids[service]))
    return queries


def patient_contacts(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(name, E.164 phone) of every active patient, in a stable order."""
    return [
        (row[0], row[1])
        for row in conn.execute(
            "SELECT name, phone FROM patients WHERE is_active = 1 ORDER BY rowid"
        )
    ]


def _name_fragment(rng: random.Random, name: str) -> str:
    word = rng.choice([w for w in name.split() if len(w) >= 3] or [name])
    length = rng.randint(3, max(3, min(6, len(word))))
    start = rng.randint(0, max(0, len(word) - length))
    fragment = word[start : start + length]
    return fragment.lower() if rng.random() < 0.7 else fragment


def _phone_fragment(rng: random.Random, phone: str) -> str:
    national = phone[-10:]
    length = rng.randint(4, 6)
    start = rng.randint(0, len(national) - length)
    return national[start : start + length]


def _short_fragment(rng: random.Random) -> str:
    word = rng.choice(FIRST_NAMES if rng.random() < 0.5 else LAST_NAMES)
    return word[: rng.randint(1, 2)].lower()


def search_queries(contacts: list[tuple[str, str]], count: int, seed: int) -> list[SearchQuery]:
    """Fragments of real patients' names and phones, and the first letters of a name."""
    rng, queries = random.Random(seed), []
    for i in range(count):
        kind = SEARCH_KINDS[i % len(SEARCH_KINDS)]
        name, phone = rng.choice(contacts)
        if kind == NAME:
            q = _name_fragment(rng, name)
        elif kind == PHONE:
            q = _phone_fragment(rng, phone)
        else:
            q = _short_fragment(rng)
        queries.append(SearchQuery(kind, q))
    return queries


def free_slots(built: BuiltDb, first_day: date, count: int) -> list[tuple[int, date, int]]:
    """``count`` distinct (doctor, day, minute) starts, from ``first_day`` on, that nothing
    holds: every day from there on is empty, and starts lie one booking apart."""
    calendar, minutes = Calendar(built.seed), SERVICES[BOOKING_SERVICE].minutes
    slots: list[tuple[int, date, int]] = []
    day = first_day
    while len(slots) < count:
        for doctor in range(len(DOCTORS)):
            for start, end in calendar.intervals(doctor, day):
                slots += [(doctor, day, at) for at in range(start, end - minutes + 1, minutes)]
        day += timedelta(days=1)
    return slots[:count]


def _phone_form(rng: random.Random, national: str) -> str:
    """The ways people type a number: 98765 43210, +91 98765 43210, 919876543210, …"""
    forms = (
        national,
        f"{national[:5]} {national[5:]}",
        f"+91 {national[:5]} {national[5:]}",
        f"91{national}",
        f"+91-{national[:5]}-{national[5:]}",
    )
    return rng.choice(forms)


def booking_bodies(
    built: BuiltDb,
    contacts: list[tuple[str, str]],
    first_day: date,
    horizon_last_day: date,
    count: int,
    seed: int,
) -> list[dict[str, object]]:
    """Bookings of distinct free slots, in random order: most for known patients (their phone
    typed any which way), some for new ones; by WhatsApp within the horizon, else by staff."""
    rng, tz = random.Random(seed), ZoneInfo(CLINIC.timezone)
    slots = free_slots(built, first_day, count)
    rng.shuffle(slots)
    taken = {phone for _, phone in contacts}
    new_numbers = iter(fresh_numbers(rng, count, taken))
    bodies: list[dict[str, object]] = []
    for doctor, day, minute in slots:
        if rng.random() < 0.7:
            name, phone = rng.choice(contacts)
            phone = _phone_form(rng, phone[-10:])
        else:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            phone = _phone_form(rng, next(new_numbers))
        source = "whatsapp" if day <= horizon_last_day and rng.random() < 0.6 else "staff"
        bodies.append(
            {
                "clinic_id": built.clinic_id,
                "doctor_id": built.doctor_ids[doctor],
                "service_id": built.service_ids[BOOKING_SERVICE],
                "starts_at": datetime.combine(day, time(minute // 60, minute % 60), tz).isoformat(),
                "patient_name": name,
                "patient_phone": phone,
                "source": source,
                "notes": BOOKING_NOTE,
            }
        )
    return bodies
