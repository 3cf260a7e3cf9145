"""The engine's inputs and outputs: an inbound message, the clinic as the engine sees it,
the replies it wants sent and the effects it wants applied.

``step(state, inbound, ctx) -> Turn`` (in ``engine``) is pure: it reads no clock, does no
I/O and is deterministic. The shell builds ``Context`` from one database snapshot, applies
the effects and the replies in one transaction, and keeps ``Turn.state`` in the session.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

from msgspec import Struct

from clinicbot.domain import Appointment, Clinic, Doctor, Service, WorkingHours


class Language(enum.StrEnum):
    EN = "en"
    HI = "hi"


# --- in ----------------------------------------------------------------------------------


class Inbound(Struct, frozen=True):
    """One patient message, reduced to what the engine reads.

    ``kind``: "text" (typed text, or a caption), "choice" (a tap on one of our buttons or
    list rows, or a template quick-reply: ``choice_id`` is the id or payload we set and
    ``text`` its title), "media" (image, audio, video, document, sticker, location,
    contacts: nothing the bot can act on) or "other" (reaction, unsupported, ...).
    ``stale``: the message is older than the clinic's limit (WhatsApp redelivered it late):
    the engine apologises and shows the menu instead of acting on it.
    """

    kind: Literal["text", "choice", "media", "other"]
    text: str = ""
    choice_id: str | None = None
    stale: bool = False


class Availability(Protocol):
    """Free appointment starts, answered by the shell from the same snapshot as the rest of
    ``Context`` (tests answer it from memory). Slots held for other patients are not free."""

    def free_starts(self, doctor_id: str, service_id: str, day: date) -> list[datetime]:
        """Bookable starts (aware, clinic time zone) on a clinic-local day, earliest first;
        the booking rules (minimum notice, horizon) already applied."""
        ...


@dataclass(frozen=True)
class Context:
    """The clinic and the patient as of one snapshot, plus the time."""

    now: datetime  # aware
    clinic: Clinic
    doctors: tuple[Doctor, ...]  # active ones only
    services: tuple[Service, ...]  # active ones only
    hours: Mapping[str, tuple[WorkingHours, ...]]  # doctor id -> weekly hours
    availability: Availability
    language: Language = Language.EN
    patient_name: str = ""
    upcoming: tuple[Appointment, ...] = ()  # the patient's held appointments from now on
    holidays: tuple[tuple[datetime, datetime], ...] = field(default=())  # clinic-wide


# --- out ---------------------------------------------------------------------------------


class Choice(Struct, frozen=True):
    """One option: a reply button, or a list row. ``id`` comes back in ``Inbound.choice_id``."""

    id: str  # ≤ 200 characters
    title: str  # ≤ 24 characters (≤ 20 if the reply has at most 3 choices: buttons)
    description: str | None = None  # ≤ 72 characters


class Reply(Struct, frozen=True):
    """One outgoing message. With choices, it is sent as buttons (≤ 3) or a list (≤ 10,
    ``button`` is the list's button label); where neither can be sent, as numbered text.
    The first choice is always the one that moves the patient forward."""

    text: str  # ≤ 1024 characters when it has choices, else ≤ 4096
    choices: tuple[Choice, ...] = ()
    button: str | None = None  # ≤ 20 characters
    header: str | None = None  # ≤ 60 characters


class Book(Struct, frozen=True, tag="book"):
    doctor_id: str
    service_id: str
    starts_at: datetime


class Hold(Struct, frozen=True, tag="hold"):
    """Keep this slot from other patients for a few minutes: ``"confirm"``, while this one
    confirms it; ``"offer"``, briefly, because it is the first of the times just offered to
    this one, so that patients choosing at once are each offered a different first time.
    A patient holds one slot at a time: a new hold lets go of the last."""

    doctor_id: str
    service_id: str
    starts_at: datetime
    kind: Literal["confirm", "offer"] = "confirm"


class Release(Struct, frozen=True, tag="release"):
    """The patient left the booking (or the reschedule): let others have what they held."""


class Cancel(Struct, frozen=True, tag="cancel"):
    appointment_id: str
    reason: str = "Cancelled by the patient on WhatsApp"


class Reschedule(Struct, frozen=True, tag="reschedule"):
    appointment_id: str
    starts_at: datetime


class ConfirmAttendance(Struct, frozen=True, tag="confirm"):
    """The patient confirmed they will come (a reminder's Confirm button)."""

    appointment_id: str


class SetLanguage(Struct, frozen=True, tag="language"):
    language: Language


class HandOver(Struct, frozen=True, tag="handover"):
    """The patient asked for a person: the bot stays quiet until staff hand back."""


class SetReminders(Struct, frozen=True, tag="reminders"):
    """``on=False``: the patient said stop; no more reminders. ``on=True``: start again."""

    on: bool


Effect = (
    Book
    | Hold
    | Release
    | Cancel
    | Reschedule
    | ConfirmAttendance
    | SetLanguage
    | HandOver
    | SetReminders
)
