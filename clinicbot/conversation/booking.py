"""Booking, as a patient walks it: which service, which doctor, a free time, confirm.

A step with a single option is skipped, and what the patient already said skips more: "book
with Dr Mehta tomorrow evening" goes straight to Dr. Mehta's free evening times, "kal 5
baje" to the times nearest tomorrow 5 pm (or to confirming it, when it is free). Offering
times holds the first one briefly (``Hold``, kind "offer"); picking a time holds it while
the patient confirms; confirming books it (``Book``). A time taken meanwhile is never
booked: the patient is offered the nearest free ones instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from msgspec.structs import replace

from clinicbot.conversation import choices as ids
from clinicbot.conversation.model import Book, Choice, Hold
from clinicbot.conversation.offers import PAGE, Slot, Wish, doctor_ids, free_at, nearest, offer
from clinicbot.conversation.replies import Talk, back_to_menu, choice, reply
from clinicbot.conversation.state import (
    ANY_DOCTOR,
    BOOKING_STAGES,
    CONFIRM,
    DOCTOR,
    IDLE,
    SERVICE,
    SLOT,
    State,
    Turn,
)
from clinicbot.conversation.texts import money
from clinicbot.conversation.understand import Understanding
from clinicbot.conversation.when import PartOfDay
from clinicbot.domain import Service

PARTS = {p.value: p for p in PartOfDay}


def wish_of(state: State) -> Wish:
    return Wish(state.day, state.clock, PARTS.get(state.part or ""))


def bookable(talk: Talk, doctor_id: str | None) -> list[Service]:
    """Services some active doctor offers (``doctor_id``, if one was chosen)."""
    active = {d.id for d in talk.ctx.doctors}
    found = [s for s in talk.ctx.services if active.intersection(s.doctor_ids)]
    if doctor_id and doctor_id != ANY_DOCTOR:
        found = [s for s in found if doctor_id in s.doctor_ids]
    return found


def begin(talk: Talk, state: State, heard: Understanding | None = None) -> Turn:
    """Start a booking, or carry on with the one under way, with what the patient said."""
    base = state if state.stage in BOOKING_STAGES else State()
    if heard is None:
        return advance(talk, State())
    said_when = heard.day is not None or heard.clock is not None or heard.part is not None
    return advance(
        talk,
        State(
            service_id=heard.service_id or base.service_id,
            doctor_id=heard.doctor_id or (ANY_DOCTOR if heard.anyone else base.doctor_id),
            day=heard.day if said_when else base.day,
            clock=heard.clock if said_when else base.clock,
            part=(heard.part.value if heard.part else None) if said_when else base.part,
        ),
    )


def advance(talk: Talk, state: State) -> Turn:
    """The next question the booking needs, or the free times once nothing is missing."""
    if state.doctor_id not in (None, ANY_DOCTOR) and talk.doctor(state.doctor_id) is None:
        state = replace(state, doctor_id=None)
    services = bookable(talk, state.doctor_id)
    if not services and state.doctor_id not in (None, ANY_DOCTOR):
        return advance(talk, replace(state, doctor_id=None))
    if not services:
        text = talk.say("no_services", phone=talk.phone)
        return Turn(State(), (back_to_menu(talk, text, book_first=False),))
    service = next((s for s in services if s.id == state.service_id), None)
    if service is None and len(services) > 1:
        return ask_service(talk, state, services)
    service = service or services[0]
    state = replace(state, service_id=service.id)
    doctors = doctor_ids(talk, service.id, None)
    if len(doctors) == 1:
        state = replace(state, doctor_id=doctors[0])
    elif state.doctor_id not in doctors and state.doctor_id != ANY_DOCTOR:
        if not state.has_wish:
            return ask_doctor(talk, state, doctors)
        state = replace(state, doctor_id=ANY_DOCTOR)
    return show_slots(talk, state)


def ask_service(talk: Talk, state: State, services: Sequence[Service]) -> Turn:
    rows = [
        Choice(
            ids.make("svc", s.id),
            s.name,
            talk.say("desc.service", minutes=s.duration_minutes, price=money(s.price)),
        )
        for s in services
    ]
    doctor = talk.doctor(state.doctor_id)
    if doctor is not None:
        text = talk.say("ask_service_doctor", doctor=doctor.name)
    else:
        text = talk.say("ask_service")
    return Turn(
        replace(state, stage=SERVICE, service_id=None),
        (reply(text, rows, talk.say("list.services")),),
    )


def ask_doctor(talk: Talk, state: State, doctors: Sequence[str]) -> Turn:
    rows = [
        choice(talk, ids.make("doc", ANY_DOCTOR), "btn.any_doctor", talk.say("desc.any_doctor"))
    ]
    for doctor_id in doctors:
        doctor = talk.doctor(doctor_id)
        if doctor is not None:
            rows.append(Choice(ids.make("doc", doctor.id), doctor.name, doctor.specialty or None))
    text = talk.say("ask_doctor", service=talk.service_name(state.service_id))
    return Turn(
        replace(state, stage=DOCTOR, doctor_id=None), (reply(text, rows, talk.say("list.doctors")),)
    )


def show_slots(talk: Talk, state: State, after: datetime | None = None) -> Turn:
    """Free times for the booking in ``state``; a wished-for time that is free goes straight
    to confirming."""
    service_id = state.service_id or ""
    doctors = doctor_ids(talk, service_id, state.doctor_id)
    found = offer(talk, doctors, service_id, wish_of(state), after)
    if found.exact is not None:
        return hold(talk, state, found.exact)
    if found.missed:
        text = talk.say(found.missed, when=found.missed_when)
    elif state.doctor_id == ANY_DOCTOR or len(doctors) != 1:
        text = talk.say("slots", service=talk.service_name(service_id))
    else:
        text = talk.say(
            "slots_doctor",
            service=talk.service_name(service_id),
            doctor=talk.doctor_name(doctors[0]),
        )
    return slot_list(talk, state, found.slots, text)


def slot_list(talk: Talk, state: State, slots: Sequence[Slot], text: str) -> Turn:
    """``text`` over the free times as choices (earliest first), and "More slots" when full;
    the first is held briefly for this patient, so that others choosing now are offered the
    next free time first instead of all tapping this one."""
    service_id = state.service_id or ""
    if not slots:
        text = talk.say(
            "slots_none",
            service=talk.service_name(service_id),
            days=talk.ctx.clinic.horizon_days,
            phone=talk.phone,
        )
        return Turn(State(), (back_to_menu(talk, text, book_first=False),))
    name_doctor = len({doctor for _, doctor in slots}) > 1 or state.doctor_id == ANY_DOCTOR
    rows = [
        Choice(
            ids.make("slot", doctor, service_id, ids.stamp(talk, start)),
            talk.when(start),
            talk.doctor_name(doctor) if name_doctor else None,
        )
        for start, doctor in slots
    ]
    if len(slots) >= PAGE:
        more = ids.make("more", ids.stamp(talk, slots[-1][0]))
        rows.append(choice(talk, more, "btn.more", talk.say("desc.more")))
    new = replace(state, stage=SLOT, slot=None)
    first, doctor = slots[0]
    offered = Hold(doctor, service_id, first, kind="offer")
    return Turn(new, (reply(text, rows, talk.say("list.times")),), (offered,))


def hold(talk: Talk, state: State, slot: Slot) -> Turn:
    """Keep ``slot`` for this patient and ask them to confirm it."""
    start, doctor_id = slot
    service = talk.service(state.service_id)
    if service is None:
        return begin(talk, State())
    text = talk.say(
        "confirm",
        service=service.name,
        doctor=talk.doctor_name(doctor_id),
        when=talk.when(start),
        price=money(service.price),
    )
    buttons = [
        choice(talk, ids.make("ok", doctor_id, service.id, ids.stamp(talk, start)), "btn.confirm"),
        choice(talk, "change", "btn.change"),
    ]
    return Turn(
        replace(state, stage=CONFIRM, slot=start),
        (reply(text, buttons),),
        (Hold(doctor_id, service.id, start),),
    )


def read_slot(talk: Talk, args: Sequence[str]) -> tuple[str, str, datetime] | None:
    """Doctor, service and start of a "slot"/"ok" choice, if the doctor offers the service."""
    if len(args) != 3:
        return None
    doctor_id, service_id, text = args
    start = ids.unstamp(talk, text)
    if start is None or doctor_ids(talk, service_id, doctor_id) != [doctor_id]:
        return None
    return doctor_id, service_id, start


def _same_booking(state: State, service_id: str) -> State:
    if state.stage in BOOKING_STAGES and state.service_id == service_id:
        return state
    return State(service_id=service_id)


def pick(talk: Talk, state: State, args: Sequence[str]) -> Turn | None:
    """The patient picked a free time: hold it, or say it was taken."""
    read = read_slot(talk, args)
    if read is None:
        return None
    doctor_id, service_id, start = read
    state = _same_booking(state, service_id)
    if state.doctor_id is None:
        state = replace(state, doctor_id=doctor_id)
    if free_at(talk, [doctor_id], service_id, start) is None:
        return taken(talk, state, doctor_id, start)
    return hold(talk, state, (start, doctor_id))


def confirm(talk: Talk, state: State, args: Sequence[str]) -> Turn | None:
    """The patient confirmed: book the time, unless it was taken meanwhile."""
    read = read_slot(talk, args)
    if read is None:
        return None
    doctor_id, service_id, start = read
    state = _same_booking(state, service_id)
    if free_at(talk, [doctor_id], service_id, start) is None:
        return taken(talk, replace(state, doctor_id=state.doctor_id or doctor_id), doctor_id, start)
    service = talk.service(service_id)
    if service is None:  # read_slot found it; kept for the type checker
        return None
    text = talk.say(
        "booked",
        service=service.name,
        doctor=talk.doctor_name(doctor_id),
        when=talk.when(start),
        clinic=talk.ctx.clinic.name,
        address=talk.ctx.clinic.address,
    )
    effect = Book(doctor_id, service_id, start)
    return Turn(State(stage=IDLE), (back_to_menu(talk, text, book_first=False),), (effect,))


def taken(talk: Talk, state: State, doctor_id: str, start: datetime) -> Turn:
    """``start`` is no longer free: offer the nearest free times of the same booking."""
    service_id = state.service_id or ""
    doctors = doctor_ids(talk, service_id, state.doctor_id) or [doctor_id]
    slots = nearest(talk, doctors, service_id, start)
    text = talk.say("slot_taken", when=talk.when(start))
    return slot_list(talk, replace(state, stage=SLOT), slots, text)
