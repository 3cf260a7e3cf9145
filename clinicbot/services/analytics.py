"""The clinic owner's analytics over a range of local dates, and the appointments as CSV.

Dates, months, weekdays and hours are the clinic's, in its time zone. Simulated patients
and appointments never count. A no-show rate is no-shows ÷ (completed + no-shows), as
DESIGN.md defines it, and ``None`` where there is nothing to divide by.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from msgspec import Struct

from clinicbot.domain import ClinicStats, Source
from clinicbot.errors import InvalidInput
from clinicbot.services.patients import clinic_stats
from clinicbot.store import analytics as store
from clinicbot.store.analytics import LocalShift
from clinicbot.store.clinics import get_clinic

MAX_DAYS = 731  # two years, a leap day included
DEFAULT_DAYS = 30
FIRST_YEAR, LAST_YEAR = 1971, 9998  # local seconds stay positive; date + 1 day stays valid
_EPOCH = date(1970, 1, 1)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class DayCount(Struct, frozen=True):
    date: str
    total: int
    completed: int
    cancelled: int
    no_show: int


class MonthPatients(Struct, frozen=True):
    month: str
    new: int
    returning: int


class WeekdayNoShows(Struct, frozen=True):
    weekday: int
    no_shows: int
    completed: int
    rate: float | None


class DoctorNoShows(Struct, frozen=True):
    doctor_id: str
    doctor_name: str
    no_shows: int
    completed: int
    rate: float | None


class HourCount(Struct, frozen=True):
    weekday: int
    hour: int
    appointments: int


class ChannelCount(Struct, frozen=True):
    source: str
    appointments: int


class Analytics(Struct, frozen=True):
    """What the analytics screen draws, for ``date_from``..``date_to`` inclusive."""

    clinic_id: str
    date_from: str
    date_to: str
    timezone: str
    stats: ClinicStats
    appointments_per_day: list[DayCount]
    new_vs_returning: list[MonthPatients]
    no_show_rate_by_weekday: list[WeekdayNoShows]
    no_show_rate_by_doctor: list[DoctorNoShows]
    busiest_hours: list[HourCount]
    bookings_by_channel: list[ChannelCount]


class Span(Struct, frozen=True):
    """A range of local days turned into UTC seconds ``[start_ts, end_ts)``."""

    first: date
    last: date
    start_ts: int
    end_ts: int
    shift: LocalShift


def rate(no_shows: int, completed: int) -> float | None:
    return round(no_shows / (completed + no_shows), 4) if completed + no_shows else None


def _check_year(day: date | None, field: str) -> None:
    if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput(f"Give a date between {FIRST_YEAR} and {LAST_YEAR}.", field=field)


def date_range(date_from: date | None, date_to: date | None, today: date) -> tuple[date, date]:
    """The days asked for: the last 30 days up to today unless given; at most two years."""
    _check_year(date_from, "date_from")
    _check_year(date_to, "date_to")
    last = date_to or (today if date_from is None else max(today, date_from))
    first = date_from or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidInput("date_from is after date_to.", field="date_from")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput("The range is longer than two years.", field="date_from")
    return first, last


def _offset(ts: int, tz: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(ts, tz).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _change_at(lo: int, hi: int, tz: ZoneInfo) -> int:
    """The first second in ``(lo, hi]`` whose offset differs from ``lo``'s."""
    before = _offset(lo, tz)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset(mid, tz) == before:
            lo = mid
        else:
            hi = mid
    return hi


def local_shift(start_ts: int, end_ts: int, tz: ZoneInfo) -> LocalShift:
    """The zone's offsets over ``[start_ts, end_ts)``; checked daily, DST moves no more often."""
    first = current = _offset(start_ts, tz)
    changes = []
    lo = start_ts
    while lo < end_ts:
        hi = min(lo + 86400, end_ts)
        if _offset(hi, tz) != current:
            at = _change_at(lo, hi, tz)
            current = _offset(at, tz)
            changes.append((at, current))
        lo = hi
    return LocalShift(first, tuple(changes))


def span(first: date, last: date, tz: ZoneInfo) -> Span:
    start_ts = int(datetime.combine(first, time(), tz).timestamp())
    end_ts = int(datetime.combine(last + timedelta(days=1), time(), tz).timestamp())
    return Span(first, last, start_ts, end_ts, local_shift(start_ts, end_ts, tz))


def clinic_span(
    conn: sqlite3.Connection,
    clinic_id: str,
    date_from: date | None,
    date_to: date | None,
    now: datetime,
) -> tuple[str, ZoneInfo, Span]:
    clinic = get_clinic(conn, clinic_id)
    tz = ZoneInfo(clinic.timezone)
    first, last = date_range(date_from, date_to, now.astimezone(tz).date())
    return clinic.timezone, tz, span(first, last, tz)


def _days(hourly: list[tuple[int, str, int]], first: date, last: date) -> list[DayCount]:
    by_day: dict[int, Counter[str]] = {}
    for hour, status, n in hourly:
        by_day.setdefault(hour // 24, Counter())[status] += n
    days = []
    for number in range((first - _EPOCH).days, (last - _EPOCH).days + 1):
        counts = by_day.get(number, Counter())
        days.append(
            DayCount(
                date=(_EPOCH + timedelta(days=number)).isoformat(),
                total=sum(counts.values()),
                completed=counts["completed"],
                cancelled=counts["cancelled"],
                no_show=counts["no_show"],
            )
        )
    return days


def _weekday(hour: int) -> int:
    return (hour // 24 + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0


def _weekdays(hourly: list[tuple[int, str, int]]) -> list[WeekdayNoShows]:
    no_shows, completed = Counter[int](), Counter[int]()
    for hour, status, n in hourly:
        if status == "no_show":
            no_shows[_weekday(hour)] += n
        elif status == "completed":
            completed[_weekday(hour)] += n
    return [
        WeekdayNoShows(wd, no_shows[wd], completed[wd], rate(no_shows[wd], completed[wd]))
        for wd in range(7)
    ]


def _busiest(hourly: list[tuple[int, str, int]]) -> list[HourCount]:
    cells = Counter[tuple[int, int]]()
    for hour, status, n in hourly:
        if status != "cancelled":
            cells[(_weekday(hour), hour % 24)] += n
    return [HourCount(wd, hour, n) for (wd, hour), n in sorted(cells.items())]


def _months(first: date, last: date) -> list[str]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def analytics(
    conn: sqlite3.Connection,
    clinic_id: str,
    date_from: date | None,
    date_to: date | None,
    now: datetime,
) -> Analytics:
    timezone, _, s = clinic_span(conn, clinic_id, date_from, date_to, now)
    hourly = store.hourly_counts(conn, clinic_id, s.start_ts, s.end_ts, s.shift)
    visitors = store.monthly_visitors(conn, clinic_id, s.start_ts, s.end_ts, s.shift)
    channels = store.source_counts(conn, clinic_id, s.start_ts, s.end_ts)
    doctors = store.doctor_counts(conn, clinic_id, s.start_ts, s.end_ts)
    return Analytics(
        clinic_id=clinic_id,
        date_from=s.first.isoformat(),
        date_to=s.last.isoformat(),
        timezone=timezone,
        stats=clinic_stats(conn, clinic_id, now),
        appointments_per_day=_days(hourly, s.first, s.last),
        new_vs_returning=[
            MonthPatients(m, *visitors.get(m, (0, 0))) for m in _months(s.first, s.last)
        ],
        no_show_rate_by_weekday=_weekdays(hourly),
        no_show_rate_by_doctor=[
            DoctorNoShows(d_id, name, ns, done, rate(ns, done)) for d_id, name, ns, done in doctors
        ],
        busiest_hours=_busiest(hourly),
        bookings_by_channel=[
            ChannelCount(str(source), channels.get(str(source), 0)) for source in Source
        ],
    )


CSV_COLUMNS = ["date", "time", "doctor", "service", "patient_name", "phone", "status", "source"]


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one that could start a formula gets a ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def appointments_csv(
    conn: sqlite3.Connection,
    clinic_id: str,
    date_from: date | None,
    date_to: date | None,
    now: datetime,
) -> tuple[str, str]:
    """``(file name, CSV text)`` of the range's appointments, in start order."""
    _, _, s = clinic_span(conn, clinic_id, date_from, date_to, now)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in store.appointment_rows(conn, clinic_id, s.start_ts, s.end_ts, s.shift):
        writer.writerow([safe_cell(v) for v in row])
    return f"appointments-{s.first.isoformat()}-to-{s.last.isoformat()}.csv", out.getvalue()
