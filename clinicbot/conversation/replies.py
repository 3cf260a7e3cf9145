"""How the engine speaks: the patient's language, the clinic's names and time zone, and
replies built within WhatsApp's limits (WHATSAPP.md §7): reply buttons for up to three short
titles, else a list of at most ten rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from clinicbot.conversation import texts
from clinicbot.conversation.model import Choice, Context, Language, Reply
from clinicbot.conversation.understand import clinic_zone
from clinicbot.domain import Appointment, Doctor, Service

BUTTON_TITLE_MAX = 20
ROW_TITLE_MAX = 24
DESCRIPTION_MAX = 72
BODY_WITH_CHOICES_MAX = 1024
BODY_MAX = 4096
MAX_BUTTONS = 3
MAX_ROWS = 10

# Choice ids of the main menu, forward first.
MENU_IDS = (
    ("menu:book", "btn.book"),
    ("menu:mine", "btn.mine"),
    ("menu:reschedule", "btn.reschedule"),
    ("menu:cancel", "btn.cancel"),
    ("menu:info", "btn.info"),
    ("menu:staff", "btn.staff"),
    ("menu:language", "btn.language"),
)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` code points, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Talk:
    """One turn's way of speaking: in ``lang``, about the clinic in ``ctx``."""

    ctx: Context
    lang: Language
    tz: ZoneInfo

    @classmethod
    def of(cls, ctx: Context, lang: Language) -> Talk:
        return cls(ctx, lang, clinic_zone(ctx.clinic.timezone))

    def say(self, key: str, **values: object) -> str:
        return texts.say(self.lang, key, **values)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    @property
    def now(self) -> datetime:
        return self.local(self.ctx.now)

    @property
    def today(self) -> date:
        return self.now.date()

    def when(self, moment: datetime) -> str:
        return texts.slot_label(self.local(moment), self.lang)

    def day(self, day: date) -> str:
        return texts.day_label(day, self.lang)

    def doctor(self, doctor_id: str | None) -> Doctor | None:
        return next((d for d in self.ctx.doctors if d.id == doctor_id), None)

    def service(self, service_id: str | None) -> Service | None:
        return next((s for s in self.ctx.services if s.id == service_id), None)

    def doctor_name(self, doctor_id: str | None) -> str:
        doctor = self.doctor(doctor_id)
        return doctor.name if doctor is not None else ""

    def service_name(self, service_id: str | None) -> str:
        service = self.service(service_id)
        return service.name if service is not None else ""

    def appointment(self, appointment_id: str | None) -> Appointment | None:
        return next((a for a in self.ctx.upcoming if a.id == appointment_id), None)

    @property
    def phone(self) -> str:
        return self.ctx.clinic.phone or "-"


def reply(text: str, choices: Iterable[Choice] = (), button: str | None = None) -> Reply:
    """A message whose choices fit: as buttons if they can be, else as list rows."""
    chosen = tuple(choices)[:MAX_ROWS]
    as_buttons = len(chosen) <= MAX_BUTTONS and all(
        c.description is None and len(c.title) <= BUTTON_TITLE_MAX for c in chosen
    )
    if not as_buttons:
        chosen = tuple(
            Choice(
                c.id,
                clip(c.title, ROW_TITLE_MAX),
                clip(c.description, DESCRIPTION_MAX) if c.description else None,
            )
            for c in chosen
        )
    limit = BODY_WITH_CHOICES_MAX if chosen else BODY_MAX
    label = clip(button, BUTTON_TITLE_MAX) if button and not as_buttons else None
    return Reply(clip(text, limit), chosen, label)


def choice(talk: Talk, choice_id: str, key: str, description: str | None = None) -> Choice:
    """A choice whose title is the catalogue entry ``key``."""
    return Choice(choice_id, talk.say(key), description)


def menu_choices(talk: Talk) -> tuple[Choice, ...]:
    return tuple(choice(talk, choice_id, key) for choice_id, key in MENU_IDS)


def menu(talk: Talk, text: str) -> Reply:
    """``text`` with the main menu under it."""
    return reply(text, menu_choices(talk), talk.say("list.menu"))


def greeting(talk: Talk) -> Reply:
    name = talk.ctx.patient_name.strip().split(" ")[0] if talk.ctx.patient_name.strip() else ""
    text = talk.say("greeting", name=f" {name}" if name else "", clinic=talk.ctx.clinic.name)
    return menu(talk, text)


def back_to_menu(talk: Talk, text: str, *, book_first: bool = True) -> Reply:
    """A closing message with a way on: Book first (the forward option), then the menu."""
    options = [choice(talk, "menu:book", "btn.book")] if book_first else []
    return reply(text, [*options, choice(talk, "menu:home", "btn.menu")])
