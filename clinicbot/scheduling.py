"""Free slots and booking rules, as pure functions: no I/O, no clock (``now`` is an argument).

Arithmetic and comparisons happen in UTC: adding minutes to a zone-aware datetime moves the
wall clock, and two datetimes of one zone compare by wall clock, both wrong on the days a
daylight-saving zone changes its clocks. Results come back in the clinic's zone.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinicbot.domain import BookingRules
from clinicbot.errors import InvalidInput

Span = tuple[datetime, datetime]

# Times outside these years are typing mistakes, and near year 1 or 9999 Python's datetime
# overflows as soon as an offset or a duration is applied.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def check_day(day: date, *, field: str) -> date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(
            f"{day.isoformat()} is outside the years {FIRST_DAY.year}–{LAST_DAY.year}.",
            field=field,
        )
    return day


@dataclass(frozen=True)
class DaySchedule:
    """What decides a doctor's free time on one day: hours, and what is already taken."""

    day: date
    tz: ZoneInfo
    working: Sequence[tuple[str, str]]  # ("09:00", "13:00") clinic-local, breaks are the gaps
    off: Sequence[Span] = ()  # the doctor's leave and the clinic's holidays (aware datetimes)
    taken: Sequence[Span] = ()  # appointments that hold a slot

    def busy(self) -> list[Span]:
        return _utc_sorted([*self.off, *self.taken])


def _utc_sorted(spans: Sequence[Span]) -> list[Span]:
    return sorted((a.astimezone(UTC), b.astimezone(UTC)) for a, b in spans)


def shift(moment: datetime, minutes: int) -> datetime:
    """``moment`` plus real minutes, kept in its own zone."""
    return (moment.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(moment.tzinfo)


def parse_clock(text: str) -> time | None:
    """``"09:30"`` -> 09:30; ``"24:00"`` -> None, meaning the end of the day."""
    if text == "24:00":
        return None
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def local_dt(day: date, clock: str, tz: ZoneInfo) -> datetime:
    """The instant a wall-clock time names, in ``tz`` (a time skipped by DST moves forward)."""
    parsed = parse_clock(clock)
    if parsed is None:
        naive = datetime.combine(day + timedelta(days=1), time(0))
    else:
        naive = datetime.combine(day, parsed)
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def working_spans(schedule: DaySchedule) -> list[Span]:
    """The day's working intervals as UTC spans, in order."""
    day, tz = schedule.day, schedule.tz
    spans = [
        (local_dt(day, start, tz).astimezone(UTC), local_dt(day, end, tz).astimezone(UTC))
        for start, end in schedule.working
    ]
    return sorted(s for s in spans if s[0] < s[1])


def _overlaps_any(start: datetime, end: datetime, busy_sorted: Sequence[Span]) -> bool:
    # All UTC; busy_sorted is sorted by start, so only spans starting before `end` overlap.
    i = bisect_left(busy_sorted, end, key=lambda span: span[0])
    return any(b_end > start for _, b_end in busy_sorted[:i])


def booking_window(rules: BookingRules, now: datetime, tz: ZoneInfo) -> tuple[datetime, date]:
    """The earliest start a patient may book, and the last day they may book on."""
    earliest = now.astimezone(UTC) + timedelta(minutes=rules.min_notice_minutes)
    last_day = now.astimezone(tz).date() + timedelta(days=rules.horizon_days)
    return earliest, last_day


def free_slots(
    schedule: DaySchedule,
    duration: timedelta,
    rules: BookingRules,
    now: datetime,
    *,
    staff: bool = False,
) -> list[Span]:
    """Every start, on the slot grid of each working interval, where ``duration`` fits free.

    Patients meet the minimum notice and the horizon. Staff do not: for them a slot that
    began less than one grid step ago still counts (a walk-in seen now).
    """
    step = timedelta(minutes=rules.slot_step_minutes)
    if staff:
        earliest = now.astimezone(UTC) - step + timedelta(seconds=1)
    else:
        earliest, last_day = booking_window(rules, now, schedule.tz)
        if schedule.day > last_day:
            return []
    busy = schedule.busy()
    slots: list[Span] = []
    for work_start, work_end in working_spans(schedule):
        start = work_start
        while start + duration <= work_end:
            end = start + duration
            if start >= earliest and not _overlaps_any(start, end, busy):
                slots.append((start.astimezone(schedule.tz), end.astimezone(schedule.tz)))
            start += step
    return slots


def booking_problem(
    start: datetime,
    end: datetime,
    schedule: DaySchedule,
    rules: BookingRules,
    now: datetime,
    *,
    patient_rules: bool,
) -> str | None:
    """Why ``start``–``end`` cannot be booked, in words for the person booking, or None.

    Other appointments are not looked at here: a taken slot is a conflict, see ``is_taken``.

    Staff may book at any minute and at short notice (a walk-in); a patient booking by
    WhatsApp also has to respect the clinic's minimum notice and horizon.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if not any(ws <= start and end <= we for ws, we in working_spans(schedule)):
        return "The doctor is not working at that time."
    if _overlaps_any(start, end, _utc_sorted(schedule.off)):
        return "The doctor is away then (leave or a clinic holiday)."
    if patient_rules:
        earliest, last_day = booking_window(rules, now, schedule.tz)
        if start < earliest:
            return f"Bookings need {rules.min_notice_minutes} minutes' notice."
        if start.astimezone(schedule.tz).date() > last_day:
            return f"Bookings open {rules.horizon_days} days ahead."
    elif end <= now - timedelta(hours=12):
        return "That time is in the past."
    return None


def is_taken(start: datetime, end: datetime, schedule: DaySchedule) -> bool:
    return _overlaps_any(start.astimezone(UTC), end.astimezone(UTC), _utc_sorted(schedule.taken))


def parse_when(text: str, tz: ZoneInfo, *, field: str = "starts_at") -> datetime:
    """An ISO 8601 time: with an offset as given, without one in the clinic's time zone."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a date and time like 2026-12-01T10:30:00+05:30.", field=field
        ) from None
    check_day(parsed.date(), field=field)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.replace(microsecond=0)


def from_ts(ts: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(ts, tz)


def day_bounds(day: date, tz: ZoneInfo) -> Span:
    return datetime.combine(day, time(0), tz), datetime.combine(
        day + timedelta(days=1), time(0), tz
    )


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier, clamped to the month's end (31 March -> 28/29 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")
