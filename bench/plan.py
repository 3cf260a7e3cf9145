"""Where the generated appointments go: a grid of visits over the doctors' working days.

Pure and deterministic: each doctor-day draws from its own seeded generator, so a day can be
planned twice (once to count, once to write) and comes out the same. Visits of one doctor
never overlap; a cancelled visit lies on top of the one that took its slot afterwards, as
happens when a freed slot is booked again.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from bench.clinic import DOCTORS, SERVICES, SLOT_STEP_MINUTES, Calendar, Interval, services_of

FUTURE_DAYS = 14
FUTURE_SHARE = 10  # at most 1/10 of all appointments lie in the future (matters at tiny scale)


@dataclass(frozen=True)
class Visit:
    start: int  # minutes after local midnight
    minutes: int
    service: int  # index into SERVICES
    cancelled: bool  # lies on top of a held visit and holds nothing


@dataclass(frozen=True)
class Density:
    fill: float  # chance that a free grid position gets a visit
    cancelled: float  # chance that a visit has a cancelled one beneath it


PAST = Density(fill=0.95, cancelled=0.18)


def future_density(days_ahead: int) -> Density:
    """Tomorrow is nearly full; two weeks out, little is booked yet."""
    return Density(fill=max(0.1, 0.9 - 0.06 * days_ahead), cancelled=0.05)


def menu(doctor: int) -> list[int]:
    """A 100-entry table of service indexes: a uniform draw from it is a weighted choice."""
    offered = services_of(doctor)
    total = sum(SERVICES[s].weight for s in offered)
    table: list[int] = []
    for s in offered:
        table += [s] * round(100 * SERVICES[s].weight / total)
    return (table + [offered[0]] * 100)[:100]


MENUS = [menu(d) for d in range(len(DOCTORS))]


def day_rng(seed: int, day: date, doctor: int) -> random.Random:
    return random.Random(seed * 1_000_003 + day.toordinal() * 16 + doctor)


def plan_day(
    rng: random.Random, intervals: tuple[Interval, ...], table: list[int], density: Density
) -> list[Visit]:
    """One doctor's visits on one day, packed along the slot grid of each interval."""
    visits: list[Visit] = []
    for start, end in intervals:
        at = start
        while at + SLOT_STEP_MINUTES <= end:
            service = table[int(rng.random() * 100)]
            minutes = SERVICES[service].minutes
            if rng.random() > density.fill or at + minutes > end:
                at += SLOT_STEP_MINUTES
                continue
            if rng.random() < density.cancelled:
                other = table[int(rng.random() * 100)]
                visits.append(Visit(at, SERVICES[other].minutes, other, cancelled=True))
            visits.append(Visit(at, minutes, service, cancelled=False))
            at += minutes
    return visits


@dataclass(frozen=True)
class DoctorDay:
    day: date
    doctor: int
    visits: list[Visit]


@dataclass(frozen=True)
class Layout:
    """The days the appointments span, and how many to drop or keep at the edges."""

    seed: int
    calendar: Calendar
    first_day: date
    today: date
    skip_first: int  # visits dropped from the oldest day, so the total is exact
    future_count: int  # visits kept in the future window

    @property
    def span_days(self) -> int:
        return (self.today - self.first_day).days + 1

    def doctor_day(self, day: date, doctor: int) -> DoctorDay:
        rng = day_rng(self.seed, day, doctor)
        ahead = (day - self.today).days
        density = PAST if ahead <= 0 else future_density(ahead)
        visits = plan_day(rng, self.calendar.intervals(doctor, day), MENUS[doctor], density)
        return DoctorDay(day, doctor, visits)

    def days(self) -> Iterator[DoctorDay]:
        """Every doctor-day in time order, trimmed to the exact total."""
        to_skip, future_left = self.skip_first, self.future_count
        day = self.first_day
        while day <= self.today + timedelta(days=FUTURE_DAYS):
            for doctor in range(len(DOCTORS)):
                visits = self.doctor_day(day, doctor).visits
                if to_skip:
                    visits, to_skip = visits[to_skip:], max(0, to_skip - len(visits))
                if day > self.today:
                    visits = visits[:future_left]
                    future_left -= len(visits)
                yield DoctorDay(day, doctor, visits)
            day += timedelta(days=1)


def _count(layout: Layout, day: date) -> int:
    return sum(len(layout.doctor_day(day, d).visits) for d in range(len(DOCTORS)))


def lay_out(seed: int, appointments: int, today: date) -> Layout:
    """Enough working days, back from today, to hold ``appointments`` (the future included)."""
    calendar = Calendar(seed)
    probe = Layout(seed, calendar, today, today, 0, 0)
    future = sum(_count(probe, today + timedelta(days=k)) for k in range(1, FUTURE_DAYS + 1))
    future = min(future, appointments // FUTURE_SHARE)
    wanted, have, day = appointments - future, 0, today
    while True:
        have += _count(probe, day)
        if have >= wanted:
            break
        day -= timedelta(days=1)
    return Layout(seed, calendar, day, today, have - wanted, future)
