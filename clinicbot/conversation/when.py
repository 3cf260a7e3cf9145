"""When a patient wants to come: a day, a time of day, a part of the day, read from canonical
English text (see ``lexicon``).

Days go to dateparser, with "now" as its relative base and future dates preferred; it is
only called when a date-like phrase is found, and only on that phrase, which keeps it fast
and keeps it from reading dates into "150/90". Times are read here, because a bare "5 baje"
needs clinic sense that a general parser lacks: 1–7 o'clock without am/pm is afternoon or
evening, 8–11 is morning.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import dateparser

from clinicbot.conversation.lexicon import NUMBER_WORDS


class PartOfDay(enum.StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"


# [start hour, end hour) of each part, clinic-local.
PART_HOURS: dict[PartOfDay, tuple[int, int]] = {
    PartOfDay.MORNING: (0, 12),
    PartOfDay.AFTERNOON: (12, 16),
    PartOfDay.EVENING: (16, 24),
}


@dataclass(frozen=True)
class When:
    day: date | None = None
    clock: time | None = None
    part: PartOfDay | None = None
    mentions: int = 0  # date phrases found; the last one gives ``day``


_WEEKDAY = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|mon|tues|tue|wed|thurs|thur|thu|fri|sat|sun"
)
_MONTH = (
    r"january|february|march|april|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|may|jun|jul|aug|sept|sep|oct|nov|dec"
)
_ORD = r"(?:st|nd|rd|th)?"
_DATE = re.compile(
    r"\b(?:"
    r"day after tomorrow|today|tonight|tomorrow|this (?:morning|afternoon|evening)|right now|now"
    rf"|(?:next |this |coming )?(?:{_WEEKDAY})"
    r"|next week|(?:in|after) \d{1,2} days?|\d{1,2} days? (?:later|after|baad)"
    rf"|\d{{1,2}}{_ORD}(?: of)? (?:{_MONTH})\w*|(?:{_MONTH})\w* \d{{1,2}}{_ORD}"
    r"|\d{1,2}/\d{1,2}(?:/\d{2,4})?|\d{1,2}-\d{1,2}-\d{2,4}|\d{1,2}\.\d{1,2}\.\d{4}"
    r"|\d{1,2}(?:st|nd|rd|th)(?! (?:one|option|wala)\b)|\d{1,2} date"
    r")\b"
)
_HAS_MONTH = re.compile(rf"\b(?:{_MONTH})|\d/\d|\d-\d|\d\.\d")
_GREETING = re.compile(r"\bgood (?:morning|afternoon|evening|night|day)\b")
_PARTS = (
    (re.compile(r"\bmorning\b"), PartOfDay.MORNING),
    (re.compile(r"\b(?:afternoon|after lunch)\b"), PartOfDay.AFTERNOON),
    (re.compile(r"\b(?:evening|night|tonight)\b"), PartOfDay.EVENING),
)
_NUMBER = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_SPOKEN_HOUR = re.compile(rf"\b({_NUMBER})\b(?= ?(?:oclock|am|pm)\b)|(?<=\bat )({_NUMBER})\b")
_HALVES = re.compile(
    r"\b(saade|sava|paune|half past|quarter past|quarter to) (\d{1,2})\b(?: oclock\b)?"
)
_DEDH = re.compile(r"\b(dedh|dhai) oclock\b")
_CLOCKS = (
    re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))? ?(am|pm)\b"),
    re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))? ?oclock\b"),
    re.compile(r"\b(?:at|by|around|after|before|@) (\d{1,2})(?:[:.](\d{2}))?\b(?! ?(?:days?)\b)"),
    re.compile(r"\b(\d{1,2})[:.](\d{2})\b()"),
)
_NOON = re.compile(r"\b(?:noon|midday)\b")
_SETTINGS_BASE = {"PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY"}


def _parse_day(phrase: str, now: datetime) -> date | None:
    phrase = re.sub(
        r"\b(?:tonight|this (?:morning|afternoon|evening)|right now|now)\b", "today", phrase
    )
    phrase = phrase.replace("coming ", "")
    phrase = re.sub(r"(\d{1,2}) date", r"\1th", phrase)
    settings = {**_SETTINGS_BASE, "RELATIVE_BASE": now.replace(tzinfo=None)}
    parsed: datetime | None = dateparser.parse(phrase, languages=["en"], settings=settings)
    if parsed is None:
        return None
    today = now.date()
    day: date | None = parsed.date()
    if (
        day is not None and day < today
    ):  # "the 3rd" late in the month means next month's; a passed date, next year's
        day = _add_years(day, 1) if _HAS_MONTH.search(phrase) else _next_month(day)
    if day is not None and phrase.startswith("next ") and day <= today + timedelta(days=1):
        day += timedelta(days=7)  # "next tuesday" said on a Monday is not tomorrow
    if day is None or not today <= day <= today + timedelta(days=400):
        return None
    return day


def _add_years(day: date, years: int) -> date | None:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return None


def _next_month(day: date) -> date | None:
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    try:
        return day.replace(year=year, month=month)
    except ValueError:  # the 31st of a 30-day month
        return None


def _part(text: str) -> PartOfDay | None:
    for pattern, part in _PARTS:
        if pattern.search(text):
            return part
    return None


def _spoken_numbers(text: str) -> str:
    def digit(match: re.Match[str]) -> str:
        return str(NUMBER_WORDS[match.group(1) or match.group(2)])

    return _SPOKEN_HOUR.sub(digit, text)


def _found_clocks(text: str) -> list[tuple[int, int, tuple[int, int, str]]]:
    """Every time in ``text`` as (end, -priority, (hour, minute, "am"/"pm"/"")), as written."""
    found = []
    for match in _HALVES.finditer(text):
        word, hour = match.group(1), int(match.group(2))
        if word in ("paune", "quarter to"):
            found.append((match.end(), 0, ((hour - 1 if hour > 1 else 12), 45, "")))
        else:
            found.append(
                (match.end(), 0, (hour, 15 if word in ("sava", "quarter past") else 30, ""))
            )
    for match in _DEDH.finditer(text):
        found.append((match.end(), 0, ((1 if match.group(1) == "dedh" else 2), 30, "")))
    for rank, pattern in enumerate(_CLOCKS, start=1):
        for match in pattern.finditer(text):
            groups = match.groups()
            meridiem = groups[2] if len(groups) > 2 and groups[2] else ""
            found.append((match.end(), -rank, (int(groups[0]), int(groups[1] or 0), meridiem)))
    for match in _NOON.finditer(text):
        found.append((match.end(), -9, (12, 0, "pm")))
    return found


def _raw_clock(text: str) -> tuple[int, int, str] | None:
    """The last time mentioned ("move my 5pm to 6pm" -> 6pm); where two readings end at the
    same place, the more specific ("5 pm" over "at 5")."""
    found = _found_clocks(text)
    return max(found)[2] if found else None


def _clock(text: str, part: PartOfDay | None) -> time | None:
    found = _raw_clock(_spoken_numbers(text))
    if found is None:
        return None
    hour, minute, meridiem = found
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    if hour < 12 and (meridiem == "pm" or (not meridiem and _afternoonish(hour, part))):
        hour += 12
    elif meridiem == "am" and hour == 12:
        hour = 0
    return time(hour, minute)


def _afternoonish(hour: int, part: PartOfDay | None) -> bool:
    if part is not None:
        return part is not PartOfDay.MORNING
    return 1 <= hour <= 7


def read_when(text: str, now: datetime) -> When:
    """The day, time and part of day in canonical text; ``now`` is clinic-local."""
    text = _GREETING.sub(" ", text)
    matches = list(_DATE.finditer(text))
    day = _parse_day(matches[-1].group(), now) if matches else None
    rest = _DATE.sub(" ", text)
    part = _part(text)
    return When(day, _clock(rest, part), part, len(matches))
