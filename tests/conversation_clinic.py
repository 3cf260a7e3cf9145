"""A realistic clinic as the conversation engine sees it, answered from memory, and a
patient chatting with the engine the way the shell drives it.

Three doctors with lunch breaks, five services, a clinic holiday, a few taken slots, and a
fixed "now": Monday 24 Nov 2025, 10:12 in Asia/Kolkata. ``MemoryAvailability`` answers free
starts with the production slot function (``clinicbot.scheduling.free_slots``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinicbot.conversation.engine import State, Turn, step
from clinicbot.conversation.model import Context, Effect, Inbound, Language, Reply, SetLanguage
from clinicbot.domain import (
    Appointment,
    BookingRules,
    Clinic,
    Doctor,
    Service,
    Source,
    Status,
    WorkingHours,
)
from clinicbot.scheduling import DaySchedule, Span, day_bounds, free_slots

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2025, 11, 24, 10, 12, tzinfo=IST)  # a Monday
STAMP = "2025-01-01T00:00:00+05:30"

CLINIC = Clinic(
    id="clinic-1",
    name="Sunrise Family Clinic",
    address="12 MG Road, Sector 14, Gurugram 122001",
    phone="+911244567890",
    country="IN",
    timezone="Asia/Kolkata",
    whatsapp_phone_number_id=None,
    min_notice_minutes=60,
    horizon_days=60,
    slot_step_minutes=15,
    created_at=STAMP,
    updated_at=STAMP,
)

MEHTA, SHARMA, VERMA = "doc-mehta", "doc-sharma", "doc-verma"
GENERAL, DENTAL, CLEANING, CHILD, FOLLOWUP = (
    "svc-general",
    "svc-dental",
    "svc-cleaning",
    "svc-child",
    "svc-followup",
)
DOCTOR_KEYS = {"mehta": MEHTA, "sharma": SHARMA, "verma": VERMA}
SERVICE_KEYS = {
    "general": GENERAL,
    "dental": DENTAL,
    "cleaning": CLEANING,
    "child": CHILD,
    "followup": FOLLOWUP,
}


def _doctor(id_: str, name: str, specialty: str) -> Doctor:
    return Doctor(id_, CLINIC.id, name, specialty, True, STAMP, STAMP)


def _service(id_: str, name: str, minutes: int, price: float, doctors: list[str]) -> Service:
    return Service(id_, CLINIC.id, name, minutes, price, doctors, True, STAMP, STAMP)


DOCTORS = (
    _doctor(MEHTA, "Dr. Anil Mehta", "General Physician"),
    _doctor(SHARMA, "Dr. Priya Sharma", "Dentist"),
    _doctor(VERMA, "Dr. Rahul Verma", "Pediatrician"),
)
SERVICES = (
    _service(GENERAL, "General consultation", 15, 500, [MEHTA]),
    _service(DENTAL, "Dental check-up", 30, 800, [SHARMA]),
    _service(CLEANING, "Teeth cleaning", 45, 1500, [SHARMA]),
    _service(CHILD, "Child consultation", 20, 600, [VERMA]),
    _service(FOLLOWUP, "Follow-up visit", 10, 300, [MEHTA, SHARMA, VERMA]),
)

# weekday (0 = Monday) -> spans; the gaps are lunch breaks.
_WEEK: dict[str, dict[int, list[tuple[str, str]]]] = {
    MEHTA: {
        **{d: [("09:00", "13:00"), ("17:00", "20:00")] for d in range(6)},
        6: [("10:00", "12:00")],
    },
    SHARMA: {d: [("10:00", "13:30"), ("14:30", "18:00")] for d in range(6)},
    VERMA: {
        **{d: [("09:00", "12:00"), ("16:00", "19:00")] for d in range(5)},
        5: [("09:00", "13:00")],
    },
}
HOURS = {
    doctor: tuple(
        WorkingHours(f"{doctor}-{day}-{i}", doctor, day, start, end)
        for day, spans in week.items()
        for i, (start, end) in enumerate(spans)
    )
    for doctor, week in _WEEK.items()
}
HOLIDAY = day_bounds(date(2025, 11, 27), IST)  # Thursday: the clinic is closed


def appointment(
    id_: str, doctor_id: str, service_id: str, starts_at: datetime, *, patient: str = "pat-1"
) -> Appointment:
    minutes = next(s.duration_minutes for s in SERVICES if s.id == service_id)
    ends_at = starts_at + timedelta(minutes=minutes)
    return Appointment(
        id=id_,
        clinic_id=CLINIC.id,
        doctor_id=doctor_id,
        service_id=service_id,
        patient_id=patient,
        patient_name="Asha Rao",
        patient_phone="+919876543210",
        date=starts_at.date().isoformat(),
        starts_at=starts_at.isoformat(),
        ends_at=ends_at.isoformat(),
        status=Status.CONFIRMED,
        source=Source.WHATSAPP,
        notes="",
        cancellation_reason=None,
        created_at=STAMP,
        updated_at=STAMP,
    )


def at(day: date, clock: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock), IST)


TOMORROW = date(2025, 11, 25)
# Other patients' bookings: Dr. Mehta is taken tomorrow 17:00-17:15.
OTHERS = (
    appointment("other-1", MEHTA, GENERAL, at(TOMORROW, "17:00"), patient="pat-2"),
    appointment("other-2", SHARMA, DENTAL, at(TOMORROW, "10:00"), patient="pat-3"),
)


@dataclass
class MemoryAvailability:
    """Free starts from the hours, the holidays and the taken spans, via ``free_slots``."""

    taken: list[Appointment] = field(default_factory=lambda: list(OTHERS))
    holidays: tuple[Span, ...] = (HOLIDAY,)
    rules: BookingRules = CLINIC.rules
    now: datetime = NOW
    calls: int = 0

    def free_starts(self, doctor_id: str, service_id: str, day: date) -> list[datetime]:
        self.calls += 1
        service = next((s for s in SERVICES if s.id == service_id), None)
        if service is None or doctor_id not in service.doctor_ids:
            return []
        working = [
            (h.start_time, h.end_time)
            for h in HOURS.get(doctor_id, ())
            if h.weekday == day.weekday()
        ]
        taken = [
            (datetime.fromisoformat(a.starts_at), datetime.fromisoformat(a.ends_at))
            for a in self.taken
            if a.doctor_id == doctor_id and a.status != Status.CANCELLED
        ]
        schedule = DaySchedule(day, IST, working, off=self.holidays, taken=taken)
        minutes = timedelta(minutes=service.duration_minutes)
        return [start for start, _ in free_slots(schedule, minutes, self.rules, self.now)]

    def take(self, *appointments: Appointment) -> None:
        self.taken.extend(appointments)


def context(
    *,
    now: datetime = NOW,
    language: Language = Language.EN,
    upcoming: Iterable[Appointment] = (),
    availability: MemoryAvailability | None = None,
    doctors: tuple[Doctor, ...] = DOCTORS,
    services: tuple[Service, ...] = SERVICES,
    clinic: Clinic = CLINIC,
) -> Context:
    """The clinic as of ``now``; the patient's own appointments also hold their slots."""
    upcoming = tuple(upcoming)
    if availability is None:
        availability = MemoryAvailability(now=now)
        availability.take(*upcoming)
    return Context(
        now=now,
        clinic=clinic,
        doctors=doctors,
        services=services,
        hours=HOURS,
        availability=availability,
        language=language,
        patient_name="Asha Rao",
        upcoming=upcoming,
        holidays=(HOLIDAY,),
    )


def with_now(ctx: Context, now: datetime) -> Context:
    return replace(ctx, now=now)


# WhatsApp's limits (WHATSAPP.md §7).
BUTTON_TITLE, ROW_TITLE, ROW_DESCRIPTION, LIST_BUTTON, CHOICE_ID = 20, 24, 72, 20, 200


def assert_fits(reply: Reply) -> None:
    """``reply`` can be sent as it is: as reply buttons, or as a list, or as plain text."""
    choices = reply.choices
    assert reply.text.strip()
    assert len(reply.text) <= (1024 if choices else 4096)
    assert len(choices) <= 10
    assert len({c.id for c in choices}) == len(choices)
    buttons = len(choices) <= 3 and all(
        c.description is None and len(c.title) <= BUTTON_TITLE for c in choices
    )
    for c in choices:
        assert 0 < len(c.id) <= CHOICE_ID
        assert 0 < len(c.title) <= (BUTTON_TITLE if buttons else ROW_TITLE)
        assert c.description is None or 0 < len(c.description) <= ROW_DESCRIPTION
    if choices and not buttons:
        assert reply.button is None or 0 < len(reply.button) <= LIST_BUTTON


@dataclass
class Chat:
    """One patient's conversation, driven as the shell drives it: the state kept between
    messages, the language remembered once the engine sets it."""

    ctx: Context
    state: State | None = None
    turns: list[Turn] = field(default_factory=list)

    def _step(self, inbound: Inbound) -> Turn:
        turn = step(self.state, inbound, self.ctx)
        for reply in turn.replies:
            assert_fits(reply)
        for effect in turn.effects:
            if isinstance(effect, SetLanguage):
                self.ctx = replace(self.ctx, language=effect.language)
        self.state = turn.state
        self.turns.append(turn)
        return turn

    def send(self, text: str) -> Turn:
        return self._step(Inbound("text", text=text))

    def tap(self, which: int | str = 0) -> Turn:
        """Tap a choice of the last message that had choices, by position or by id."""
        if isinstance(which, str):
            return self._step(Inbound("choice", text="", choice_id=which))
        choices = next(r.choices for t in reversed(self.turns) for r in t.replies if r.choices)
        chosen = choices[which]
        return self._step(Inbound("choice", text=chosen.title, choice_id=chosen.id))

    @property
    def last(self) -> Reply:
        return self.turns[-1].replies[-1]

    @property
    def effects(self) -> tuple[Effect, ...]:
        return self.turns[-1].effects

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.last.choices]

    @property
    def titles(self) -> list[str]:
        return [c.title for c in self.last.choices]
