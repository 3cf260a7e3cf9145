"""The patient's own appointments: listing them, cancelling one (after "Sure? Yes, cancel /
Keep it"), moving one to a new time with the same doctor and service, and confirming
attendance from a reminder.

An appointment id, from a tap or a reminder's button, is acted on only while it is among the
patient's upcoming appointments in the fresh ``Context``: staff may have changed it since.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from msgspec.structs import replace

from clinicbot.conversation import choices as ids
from clinicbot.conversation.booking import wish_of
from clinicbot.conversation.model import (
    Cancel,
    Choice,
    ConfirmAttendance,
    Hold,
    Reschedule,
)
from clinicbot.conversation.offers import PAGE, Slot, doctor_ids, free_at, nearest, offer
from clinicbot.conversation.replies import Talk, back_to_menu, choice, reply
from clinicbot.conversation.state import (
    DROP,
    MOVE,
    MOVE_CONFIRM,
    MOVING_STAGES,
    PICK_CANCEL,
    PICK_MOVE,
    State,
    Turn,
)
from clinicbot.conversation.understand import Understanding
from clinicbot.domain import Appointment


def starts(appointment: Appointment) -> datetime | None:
    try:
        moment = datetime.fromisoformat(appointment.starts_at)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _when(talk: Talk, appointment: Appointment) -> str:
    moment = starts(appointment)
    return talk.when(moment) if moment is not None else appointment.starts_at


def upcoming(talk: Talk) -> list[Appointment]:
    return sorted(talk.ctx.upcoming, key=lambda a: (starts(a) is None, a.starts_at))


def mine(talk: Talk, prefix: str = "") -> Turn:
    """The patient's upcoming appointments, with ways to reschedule or cancel them."""
    found = upcoming(talk)
    if not found:
        text = (prefix + "\n" if prefix else "") + talk.say("mine_none")
        return Turn(State(), (back_to_menu(talk, text),))
    lines = "\n".join(
        talk.say(
            "mine_line",
            when=_when(talk, a),
            doctor=talk.doctor_name(a.doctor_id) or "-",
            service=talk.service_name(a.service_id) or "-",
        )
        for a in found
    )
    text = (prefix + "\n" if prefix else "") + talk.say("mine_list", lines=lines)
    one = found[0].id if len(found) == 1 else None
    buttons = [
        choice(talk, ids.make("reschedule", one) if one else "menu:reschedule", "btn.reschedule"),
        choice(talk, ids.make("cancel", one) if one else "menu:cancel", "btn.cancel"),
        choice(talk, "menu:home", "btn.menu"),
    ]
    return Turn(State(), (reply(text, buttons),))


def _gone(talk: Talk) -> Turn:
    return mine(talk, talk.say("appt_gone"))


def _which(talk: Talk, found: Sequence[Appointment], verb: str, stage: str, state: State) -> Turn:
    rows = [
        Choice(
            ids.make(verb, a.id),
            _when(talk, a),
            talk.say(
                "desc.appointment",
                doctor=talk.doctor_name(a.doctor_id) or "-",
                service=talk.service_name(a.service_id) or "-",
            ),
        )
        for a in found
    ]
    text = talk.say("pick_cancel" if verb == "cancel" else "pick_move")
    return Turn(replace(state, stage=stage), (reply(text, rows, talk.say("list.appointments")),))


def _matching(talk: Talk, heard: Understanding | None, *, by_day: bool) -> list[Appointment]:
    found = upcoming(talk)
    if heard is None:
        return found
    narrowed = [
        a
        for a in found
        if (heard.doctor_id is None or a.doctor_id == heard.doctor_id)
        and (not by_day or heard.day is None or _local_day(talk, a) == heard.day)
    ]
    return narrowed or found


def _local_day(talk: Talk, appointment: Appointment) -> date | None:
    moment = starts(appointment)
    return talk.local(moment).date() if moment is not None else None


def start_cancel(talk: Talk, heard: Understanding | None = None) -> Turn:
    found = _matching(talk, heard, by_day=True)
    if len(found) == 1:
        return ask_cancel(talk, found[0].id)
    if not found:
        return mine(talk)
    return _which(talk, found, "cancel", PICK_CANCEL, State())


def ask_cancel(talk: Talk, appointment_id: str) -> Turn:
    appointment = talk.appointment(appointment_id)
    if appointment is None:
        return _gone(talk)
    text = talk.say(
        "cancel_sure", when=_when(talk, appointment), doctor=talk.doctor_name(appointment.doctor_id)
    )
    buttons = [
        choice(talk, ids.make("drop", appointment.id), "btn.yes_cancel"),
        choice(talk, ids.make("keep", appointment.id), "btn.keep"),
    ]
    return Turn(State(stage=DROP, appointment_id=appointment.id), (reply(text, buttons),))


def drop(talk: Talk, appointment_id: str) -> Turn:
    appointment = talk.appointment(appointment_id)
    if appointment is None:
        return _gone(talk)
    text = talk.say(
        "cancelled", when=_when(talk, appointment), doctor=talk.doctor_name(appointment.doctor_id)
    )
    return Turn(State(), (back_to_menu(talk, text),), (Cancel(appointment.id),))


def keep(talk: Talk, appointment_id: str) -> Turn:
    appointment = talk.appointment(appointment_id)
    if appointment is None:
        return _gone(talk)
    text = talk.say("kept", when=_when(talk, appointment))
    return Turn(State(), (back_to_menu(talk, text, book_first=False),))


def attend(talk: Talk, appointment_id: str) -> Turn:
    """A reminder's Confirm: the patient will come."""
    appointment = talk.appointment(appointment_id)
    if appointment is None:
        return _gone(talk)
    text = talk.say(
        "attendance", when=_when(talk, appointment), doctor=talk.doctor_name(appointment.doctor_id)
    )
    return Turn(
        State(), (back_to_menu(talk, text, book_first=False),), (ConfirmAttendance(appointment.id),)
    )


def start_move(talk: Talk, heard: Understanding | None = None) -> Turn:
    """Reschedule: which appointment (if several), then its new times; what the patient said
    about the day or time is the wish for the new time."""
    wish = State()
    if heard is not None:
        part = heard.part.value if heard.part else None
        wish = State(day=heard.day, clock=heard.clock, part=part)
    found = _matching(talk, heard, by_day=False)
    if not found:
        return mine(talk)
    if len(found) == 1:
        return offer_move(talk, replace(wish, appointment_id=found[0].id))
    return _which(talk, found, "reschedule", PICK_MOVE, wish)


def _movable(talk: Talk, appointment: Appointment) -> bool:
    return doctor_ids(talk, appointment.service_id, appointment.doctor_id) == [
        appointment.doctor_id
    ]


def offer_move(talk: Talk, state: State, after: datetime | None = None, note: str = "") -> Turn:
    """New free times for the appointment in ``state`` (same doctor, same service)."""
    appointment = talk.appointment(state.appointment_id)
    if appointment is None:
        return _gone(talk)
    if not _movable(talk, appointment):
        text = talk.say("cant_move", phone=talk.phone)
        return Turn(State(), (back_to_menu(talk, text, book_first=False),))
    found = offer(talk, [appointment.doctor_id], appointment.service_id, wish_of(state), after)
    if found.exact is not None and not note:
        return hold_move(talk, state, found.exact[0])
    if not note and found.missed:
        note = talk.say(found.missed, when=found.missed_when)
    text = note or talk.say(
        "move_intro",
        when=_when(talk, appointment),
        doctor=talk.doctor_name(appointment.doctor_id),
    )
    new = replace(state, stage=MOVE, slot=None)
    return _move_list(talk, new, appointment, found.slots, text)


def _move_list(
    talk: Talk, state: State, appointment: Appointment, slots: Sequence[Slot], text: str
) -> Turn:
    """New times for ``appointment``, the first held briefly (as in ``booking.slot_list``)."""
    if not slots:
        service = talk.service_name(appointment.service_id)
        text = talk.say(
            "slots_none", service=service, days=talk.ctx.clinic.horizon_days, phone=talk.phone
        )
        return Turn(State(), (back_to_menu(talk, text, book_first=False),))
    rows = [
        Choice(ids.make("move", appointment.id, ids.stamp(talk, start)), talk.when(start))
        for start, _ in slots
    ]
    if len(slots) >= PAGE:
        more = ids.make("more", ids.stamp(talk, slots[-1][0]))
        rows.append(choice(talk, more, "btn.more", talk.say("desc.more")))
    offered = Hold(appointment.doctor_id, appointment.service_id, slots[0][0], kind="offer")
    return Turn(state, (reply(text, rows, talk.say("list.times")),), (offered,))


def hold_move(talk: Talk, state: State, start: datetime) -> Turn:
    appointment = talk.appointment(state.appointment_id)
    if appointment is None:
        return _gone(talk)
    text = talk.say(
        "move_confirm",
        doctor=talk.doctor_name(appointment.doctor_id),
        old=_when(talk, appointment),
        new=talk.when(start),
    )
    buttons = [
        choice(talk, ids.make("moveok", appointment.id, ids.stamp(talk, start)), "btn.confirm"),
        choice(talk, "change", "btn.change"),
    ]
    hold = Hold(appointment.doctor_id, appointment.service_id, start)
    new = replace(state, stage=MOVE_CONFIRM, appointment_id=appointment.id, slot=start)
    return Turn(new, (reply(text, buttons),), (hold,))


def _read(talk: Talk, args: Sequence[str]) -> tuple[Appointment, datetime] | None:
    if len(args) != 2:
        return None
    appointment, start = talk.appointment(args[0]), ids.unstamp(talk, args[1])
    return (appointment, start) if appointment is not None and start is not None else None


def _free(talk: Talk, appointment: Appointment, start: datetime) -> bool:
    found: Slot | None = None
    if _movable(talk, appointment):
        found = free_at(talk, [appointment.doctor_id], appointment.service_id, start)
    return found is not None


def _taken(talk: Talk, state: State, appointment: Appointment, start: datetime) -> Turn:
    slots = nearest(talk, [appointment.doctor_id], appointment.service_id, start)
    text = talk.say("slot_taken", when=talk.when(start))
    new = replace(state, stage=MOVE, appointment_id=appointment.id)
    return _move_list(talk, new, appointment, slots, text)


def pick_move(talk: Talk, state: State, args: Sequence[str]) -> Turn | None:
    read = _read(talk, args)
    if read is None:
        return _gone(talk) if args and talk.appointment(args[0]) is None else None
    appointment, start = read
    if state.stage not in MOVING_STAGES or state.appointment_id != appointment.id:
        state = State(appointment_id=appointment.id)
    if not _free(talk, appointment, start):
        return _taken(talk, state, appointment, start)
    return hold_move(talk, state, start)


def do_move(talk: Talk, state: State, args: Sequence[str]) -> Turn | None:
    read = _read(talk, args)
    if read is None:
        return _gone(talk) if args and talk.appointment(args[0]) is None else None
    appointment, start = read
    if not _free(talk, appointment, start):
        return _taken(talk, State(appointment_id=appointment.id), appointment, start)
    text = talk.say("moved", doctor=talk.doctor_name(appointment.doctor_id), when=talk.when(start))
    return Turn(
        State(), (back_to_menu(talk, text, book_first=False),), (Reschedule(appointment.id, start),)
    )
