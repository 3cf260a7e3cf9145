"""What patients ask about the clinic: each doctor's hours (from ``ctx.hours``, holidays
included), the address and phone, the fees of the services, the doctors and what they do.
Every answer ends with Book first, then the menu."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from clinicbot.conversation.replies import Talk, back_to_menu, choice, reply
from clinicbot.conversation.state import State, Turn
from clinicbot.conversation.texts import WEEKDAYS, clock_label, money
from clinicbot.domain import Doctor, WorkingHours

HOLIDAYS_AHEAD = 14  # days of coming clinic holidays mentioned with the hours


def info_menu(talk: Talk) -> Turn:
    rows = [
        choice(talk, "menu:book", "btn.book"),
        choice(talk, "info:hours", "btn.hours"),
        choice(talk, "info:address", "btn.address"),
        choice(talk, "info:fees", "btn.fees"),
        choice(talk, "info:doctors", "btn.doctors"),
    ]
    text = talk.say("info_menu", clinic=talk.ctx.clinic.name)
    return Turn(State(), (reply(text, rows, talk.say("list.menu")),))


def _answer(talk: Talk, text: str) -> Turn:
    return Turn(State(), (back_to_menu(talk, text),))


def _clock(text: str) -> str:
    if text == "24:00":
        return clock_label(time(0))
    try:
        return clock_label(time.fromisoformat(text))
    except ValueError:
        return text


def _spans(hours: Sequence[WorkingHours], weekday: int) -> str:
    spans = sorted((h.start_time, h.end_time) for h in hours if h.weekday == weekday)
    return ", ".join(f"{_clock(a)}–{_clock(b)}" for a, b in spans)


def _week(talk: Talk, hours: Sequence[WorkingHours]) -> str:
    """A doctor's week, days of equal hours grouped: "Mon–Sat: 9:00 am–1:00 pm"."""
    names = WEEKDAYS[talk.lang]
    lines: list[str] = []
    run: list[int] = []
    for weekday in range(8):
        spans = _spans(hours, weekday) if weekday < 7 else ""
        if run and (weekday == 7 or spans != _spans(hours, run[0])):
            label = names[run[0]] if len(run) == 1 else f"{names[run[0]]}–{names[run[-1]]}"
            lines.append(f"{label}: {_spans(hours, run[0])}")
            run = []
        if spans:
            run.append(weekday)
    return "\n".join(lines) or talk.say("hours_off")


def _closed_on(talk: Talk, day: date) -> bool:
    start = datetime.combine(day, time(0), talk.tz)
    end = start + timedelta(days=1)
    return any(a < end and b > start for a, b in talk.ctx.holidays)


def _doctors(talk: Talk, doctor_id: str | None) -> list[Doctor]:
    chosen = [d for d in talk.ctx.doctors if d.id == doctor_id]
    return chosen or list(talk.ctx.doctors)


def hours(talk: Talk, day: date | None = None, doctor_id: str | None = None) -> Turn:
    """Each doctor's week, or their hours on ``day``; the clinic's coming holidays."""
    if day is not None:
        if _closed_on(talk, day):
            return _answer(talk, talk.say("holiday_on", day=talk.day(day)))
        lines = [talk.say("hours_on_day", day=talk.day(day))]
        for doctor in _doctors(talk, doctor_id):
            spans = _spans(talk.ctx.hours.get(doctor.id, ()), day.weekday())
            lines.append(
                talk.say(
                    "hours_doctor_day", doctor=doctor.name, spans=spans or talk.say("hours_off")
                )
            )
        return _answer(talk, "\n".join(lines))
    blocks = [talk.say("hours_intro")]
    for doctor in _doctors(talk, doctor_id):
        days = _week(talk, talk.ctx.hours.get(doctor.id, ()))
        blocks.append(
            talk.say(
                "hours_doctor", doctor=doctor.name, specialty=doctor.specialty or "-", days=days
            )
        )
    for offset in range(HOLIDAYS_AHEAD):
        coming = talk.today + timedelta(days=offset)
        if _closed_on(talk, coming):
            blocks.append(talk.say("holiday_on", day=talk.day(coming)))
    return _answer(talk, "\n\n".join(blocks))


def address(talk: Talk) -> Turn:
    clinic = talk.ctx.clinic
    text = talk.say("address", clinic=clinic.name, address=clinic.address or "-", phone=talk.phone)
    return _answer(talk, text)


def fees(talk: Talk, service_id: str | None = None, doctor_id: str | None = None) -> Turn:
    services = [s for s in talk.ctx.services if s.id == service_id]
    if not services and doctor_id is not None:
        services = [s for s in talk.ctx.services if doctor_id in s.doctor_ids]
    services = services or list(talk.ctx.services)
    lines = [talk.say("fees_intro")] + [
        talk.say("fee_line", service=s.name, minutes=s.duration_minutes, price=money(s.price))
        for s in services
    ]
    return _answer(talk, "\n".join(lines))


def doctors(talk: Talk) -> Turn:
    lines = [talk.say("doctors_intro")] + [
        talk.say("doctor_line", doctor=d.name, specialty=d.specialty or "-")
        for d in talk.ctx.doctors
    ]
    return _answer(talk, "\n".join(lines))
