"""Which free times to offer: the earliest, spread over the coming days; a chosen day, or a
part of one; or the nearest to a wished-for time. Never more than ``PAGE``, so that a "More
slots" row still fits a WhatsApp list, and always earliest first.

Free times come only from ``ctx.availability`` (the shell answers it from its snapshot, less
what other patients hold), asked one doctor and one day at a time, and only for days the
doctor works.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from clinicbot.conversation.replies import Talk
from clinicbot.conversation.state import ANY_DOCTOR
from clinicbot.conversation.when import PART_HOURS, PartOfDay

PAGE = 9
NEAR_DAYS = 3  # how far from a wished-for day to look for the nearest free times
PART_DAYS = 14  # how far ahead "evening" looks for a free evening
# Where the nearest free times are looked for around a part of the day.
PART_CENTRES = {
    PartOfDay.MORNING: time(10),
    PartOfDay.AFTERNOON: time(14),
    PartOfDay.EVENING: time(18),
}

Slot = tuple[datetime, str]  # start in the clinic's zone, doctor id


@dataclass(frozen=True)
class Wish:
    day: date | None = None
    clock: time | None = None
    part: PartOfDay | None = None


@dataclass(frozen=True)
class Offer:
    slots: list[Slot]
    exact: Slot | None = None  # the wished-for time itself is free
    missed: str | None = None  # why these are offered instead: a text key
    missed_when: str = ""


def doctor_ids(talk: Talk, service_id: str | None, doctor_id: str | None) -> list[str]:
    """The active doctors offering the service; just ``doctor_id`` if one was chosen."""
    service = talk.service(service_id)
    if service is None:
        return []
    ids = [d.id for d in talk.ctx.doctors if d.id in service.doctor_ids]
    if doctor_id and doctor_id != ANY_DOCTOR:
        return [doctor_id] if doctor_id in ids else []
    return ids


def _works_on(talk: Talk, doctor_id: str, day: date) -> bool:
    hours = talk.ctx.hours.get(doctor_id)
    return hours is None or any(h.weekday == day.weekday() for h in hours)


def last_day(talk: Talk) -> date:
    return talk.today + timedelta(days=max(0, min(talk.ctx.clinic.horizon_days, 730)))


def _days(talk: Talk, first: date, last: date | None = None) -> Iterator[date]:
    day, end = max(first, talk.today), min(last or last_day(talk), last_day(talk))
    while day <= end:
        yield day
        day += timedelta(days=1)


def free_on(talk: Talk, doctors: Sequence[str], service_id: str, day: date) -> list[Slot]:
    """Free starts on ``day``, one doctor per start (the first listed who is free)."""
    merged: dict[datetime, Slot] = {}
    for doctor in doctors:
        if _works_on(talk, doctor, day):
            for start in talk.ctx.availability.free_starts(doctor, service_id, day):
                local = talk.local(start)
                merged.setdefault(local, (local, doctor))
    return [merged[k] for k in sorted(merged)]


def _part_of(moment: datetime) -> PartOfDay:
    return next(p for p, (a, b) in PART_HOURS.items() if a <= moment.hour < b)


def _in_part(slot: Slot, part: PartOfDay) -> bool:
    return _part_of(slot[0]) is part


def spread(
    talk: Talk, doctors: Sequence[str], service_id: str, after: datetime | None = None
) -> list[Slot]:
    """Earliest first, across days: each day's first free time in each part of the day."""
    found: list[Slot] = []
    first = talk.local(after).date() if after is not None else talk.today
    for day in _days(talk, first):
        seen: set[PartOfDay] = set()
        for slot in free_on(talk, doctors, service_id, day):
            if (after is None or slot[0] > after) and _part_of(slot[0]) not in seen:
                seen.add(_part_of(slot[0]))
                found.append(slot)
        if len(found) >= PAGE:
            break
    return found[:PAGE]


def on_day(
    talk: Talk, doctors: Sequence[str], service_id: str, day: date, part: PartOfDay | None
) -> list[Slot]:
    """The day's free times: the first ones of the part of the day, or across the whole day."""
    slots = free_on(talk, doctors, service_id, day)
    if part is not None:
        return [s for s in slots if _in_part(s, part)][:PAGE]
    if len(slots) <= PAGE:
        return slots
    return [slots[round(i * (len(slots) - 1) / (PAGE - 1))] for i in range(PAGE)]


def nearest(talk: Talk, doctors: Sequence[str], service_id: str, target: datetime) -> list[Slot]:
    """The free times nearest to ``target``, before and after it, in time order."""
    day = talk.local(target).date()
    slots = [
        slot
        for d in _days(talk, day - timedelta(days=1), day + timedelta(days=NEAR_DAYS))
        for slot in free_on(talk, doctors, service_id, d)
        if slot[0] != target
    ]
    if not slots:
        return spread(talk, doctors, service_id, after=target)
    slots.sort(key=lambda s: (abs((s[0] - target).total_seconds()), s[0]))
    return sorted(slots[:PAGE])


def free_at(talk: Talk, doctors: Sequence[str], service_id: str, start: datetime) -> Slot | None:
    """The first of ``doctors`` free at exactly ``start``."""
    day = talk.local(start).date()
    if not talk.today <= day <= last_day(talk):
        return None
    for doctor in doctors:
        if start in talk.ctx.availability.free_starts(doctor, service_id, day):
            return talk.local(start), doctor
    return None


def _at(talk: Talk, day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, talk.tz)


def _for_clock(
    talk: Talk, doctors: Sequence[str], service_id: str, day: date | None, clock: time
) -> Offer:
    target = _at(talk, day or talk.today, clock)
    if day is None and target <= talk.now:  # "5 pm" said after 5 pm: tomorrow's
        target = _at(talk, talk.today + timedelta(days=1), clock)
    found = free_at(talk, doctors, service_id, target)
    if found is not None:
        return Offer([found], exact=found)
    slots = nearest(talk, doctors, service_id, target)
    return Offer(slots, missed="slots_not_free", missed_when=talk.when(target))


def _first_day_with(
    talk: Talk, doctors: Sequence[str], service_id: str, part: PartOfDay | None
) -> date:
    for day in _days(talk, talk.today, talk.today + timedelta(days=PART_DAYS)):
        if on_day(talk, doctors, service_id, day, part):
            return day
    return talk.today


def _for_day(
    talk: Talk, doctors: Sequence[str], service_id: str, day: date | None, part: PartOfDay | None
) -> Offer:
    if day is None:  # "evening": the first evening with a free time
        day = _first_day_with(talk, doctors, service_id, part)
    slots = on_day(talk, doctors, service_id, day, part)
    if slots:
        return Offer(slots)
    centre = _at(talk, day, PART_CENTRES[part] if part else time(12))
    if part is None:
        when = talk.say("when_day", day=talk.day(day))
    else:
        when = talk.say("when_day_part", day=talk.day(day), part=talk.say(f"part.{part.value}"))
    slots = nearest(talk, doctors, service_id, centre)
    return Offer(slots, missed="slots_none_then", missed_when=when)


def offer(
    talk: Talk,
    doctors: Sequence[str],
    service_id: str,
    wish: Wish,
    after: datetime | None = None,
) -> Offer:
    """What to offer for ``wish``; ``after``: the next page, after the last time offered."""
    if not doctors:
        return Offer([])
    if after is not None:
        return Offer(spread(talk, doctors, service_id, after))
    if wish.clock is not None:
        return _for_clock(talk, doctors, service_id, wish.day, wish.clock)
    if wish.day is not None or wish.part is not None:
        return _for_day(talk, doctors, service_id, wish.day, wish.part)
    return Offer(spread(talk, doctors, service_id))
