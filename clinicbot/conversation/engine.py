"""The conversation engine: ``step(state, inbound, ctx) -> Turn``, a pure function.

It reads no clock (``ctx.now`` is the time), does no I/O and draws no chance: the same
inputs give the same turn. It never raises, whatever the text, the choice id or the state
(a state from an older version, or a tampered one, is made sane first). Every id it reads
back is checked against ``ctx``, so when the shell re-runs a step on a fresh snapshot after
an effect failed (a slot taken meanwhile, an appointment changed by staff), the re-run says
what changed.

Every list of free times holds its first time for the patient, briefly (``Hold``, kind
"offer"): patients choosing at once are then offered different first times. A patient who
leaves the booking or the reschedule lets go of what they held (``Release``).

A patient writing in Devanagari while their language is English is answered in Hindi, and
the choice is kept (``SetLanguage``): they wrote Hindi, and a reminder in the script they
read is the useful one. Hinglish in Latin letters keeps whatever language was chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta

from msgspec.structs import replace

from clinicbot.conversation import booking, changes, info
from clinicbot.conversation import choices as ids
from clinicbot.conversation.model import (
    Book,
    Choice,
    Context,
    Effect,
    HandOver,
    Hold,
    Inbound,
    Language,
    Release,
    Reschedule,
    SetLanguage,
    SetReminders,
)
from clinicbot.conversation.replies import Talk, back_to_menu, choice, greeting, menu, reply
from clinicbot.conversation.state import (
    ANY_DOCTOR,
    BOOKING_STAGES,
    CONFIRM,
    DROP,
    HOLDING_STAGES,
    IDLE,
    MAX_OFFERED,
    MOVE_CONFIRM,
    MOVING_STAGES,
    STAGES,
    State,
    Turn,
)
from clinicbot.conversation.texts import EMERGENCY_NUMBERS, LANGUAGE_TITLES
from clinicbot.conversation.understand import Intent, Understanding, understand

__all__ = ["State", "Turn", "step"]

Route = Callable[[Talk, State, list[str]], Turn | None]
MAX_ID = 256


def step(state: State | None, inbound: Inbound, ctx: Context) -> Turn:
    """What to say and do for ``inbound``, given the conversation so far and the clinic."""
    state = _sane(state if isinstance(state, State) else State(), ctx)
    if inbound.kind == "other":
        return Turn(state)
    return _let_go(state, _finish(_answer(state, inbound, ctx)))


def _answer(state: State, inbound: Inbound, ctx: Context) -> Turn:
    talk = Talk.of(ctx, ctx.language)
    if inbound.stale:
        return Turn(State(), (menu(talk, talk.say("stale")),))
    if inbound.kind == "media":
        return Turn(State(), (menu(talk, talk.say("media")),))
    turn = None
    if inbound.kind == "choice" and inbound.choice_id:
        turn = on_choice(talk, state, inbound.choice_id)
    return turn or on_text(talk, state, inbound.text or "")


def _finish(turn: Turn) -> Turn:
    """Remember the ids of the last choices offered, for a typed "2"."""
    offered = next((r.choices for r in reversed(turn.replies) if r.choices), None)
    if offered is None:
        return turn
    remembered = tuple(c.id for c in offered)[:MAX_OFFERED]
    return Turn(replace(turn.state, offered=remembered), turn.replies, turn.effects)


def _let_go(before: State, turn: Turn) -> Turn:
    """A patient who leaves the booking (or the reschedule) lets go of the time they held,
    rather than keep it from others until the hold runs out."""
    if before.stage not in HOLDING_STAGES or turn.state.stage in HOLDING_STAGES:
        return turn
    if any(isinstance(e, Hold | Book | Reschedule) for e in turn.effects):
        return turn  # booking or moving lets go of it already
    return Turn(turn.state, turn.replies, (*turn.effects, Release()))


# --- state from outside --------------------------------------------------------------------


def _text_or_none(value: object) -> str | None:
    return value[:MAX_ID] if isinstance(value, str) and value else None


def _moment_or_none(value: object, ctx: Context, days: int) -> datetime | None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        return None
    if not 2 <= value.year <= 9997:
        return None
    return value if abs(value - ctx.now) <= timedelta(days=days + 2) else None


def _sane(state: State, ctx: Context) -> State:
    """``state`` with anything out of place dropped, so that no flow trips over it."""
    horizon = max(0, min(ctx.clinic.horizon_days, 730))
    today = Talk.of(ctx, ctx.language).today
    day = state.day if type(state.day) is date else None
    clock = state.clock if isinstance(state.clock, time) and state.clock.tzinfo is None else None
    offered = state.offered if isinstance(state.offered, tuple | list) else ()
    return State(
        stage=state.stage if isinstance(state.stage, str) and state.stage in STAGES else IDLE,
        service_id=_text_or_none(state.service_id),
        doctor_id=_text_or_none(state.doctor_id),
        appointment_id=_text_or_none(state.appointment_id),
        day=day if day is not None and today <= day <= today + timedelta(days=horizon) else None,
        clock=clock,
        part=state.part if isinstance(state.part, str) and state.part in booking.PARTS else None,
        slot=_moment_or_none(state.slot, ctx, horizon),
        offered=tuple(o[:MAX_ID] for o in offered if isinstance(o, str))[:MAX_OFFERED],
    )


# --- taps -----------------------------------------------------------------------------------


def on_choice(talk: Talk, state: State, choice_id: str) -> Turn | None:
    """The patient tapped a choice (or typed its number); None for an id we cannot act on."""
    verb, args = ids.parse(choice_id)
    route = ROUTES.get(verb)
    return route(talk, state, args) if route is not None else None


def _one(args: Sequence[str]) -> str:
    return args[0] if len(args) == 1 else ""


def _service(talk: Talk, state: State, args: list[str]) -> Turn | None:
    if not any(s.id == _one(args) for s in booking.bookable(talk, None)):
        return None
    base = state if state.stage in BOOKING_STAGES else State()
    return booking.advance(talk, replace(base, service_id=_one(args)))


def _doctor(talk: Talk, state: State, args: list[str]) -> Turn | None:
    doctor_id = _one(args)
    if doctor_id != ANY_DOCTOR and talk.doctor(doctor_id) is None:
        return None
    base = state if state.stage in BOOKING_STAGES else State()
    return booking.advance(talk, replace(base, doctor_id=doctor_id))


def _last_offered(talk: Talk, state: State) -> datetime | None:
    """The latest time in the last choices offered: where "more" carries on from."""
    times = [ids.unstamp(talk, ids.parse(o)[1][-1]) for o in state.offered if ids.parse(o)[1]]
    found = [t for t in times if t is not None]
    return max(found) if found else None


def _more(talk: Talk, state: State, args: list[str]) -> Turn | None:
    after = ids.unstamp(talk, _one(args)) or _last_offered(talk, state)
    if state.stage in MOVING_STAGES and state.appointment_id:
        return changes.offer_move(talk, state, after)
    if state.stage in BOOKING_STAGES and state.service_id:
        return booking.show_slots(talk, state, after)
    return None


def _change(talk: Talk, state: State, args: list[str]) -> Turn | None:
    if state.stage == MOVE_CONFIRM and state.appointment_id:
        return changes.offer_move(talk, replace(state, slot=None))
    if state.stage == CONFIRM and state.service_id:
        return booking.show_slots(talk, replace(state, slot=None))
    return booking.begin(talk, state)


def _reschedule(talk: Talk, state: State, args: list[str]) -> Turn:
    wish = state if state.stage in MOVING_STAGES else State()
    return changes.offer_move(talk, replace(wish, appointment_id=_one(args), slot=None))


def _info(talk: Talk, state: State, args: list[str]) -> Turn | None:
    topics: dict[str, Callable[[Talk], Turn]] = {
        "hours": info.hours,
        "address": info.address,
        "fees": info.fees,
        "doctors": info.doctors,
    }
    topic = topics.get(_one(args))
    return topic(talk) if topic is not None else None


def _language(talk: Talk, state: State, args: list[str]) -> Turn | None:
    chosen = {"en": Language.EN, "hi": Language.HI}.get(_one(args))
    return set_language(talk, chosen) if chosen is not None else None


def _menu_item(talk: Talk, state: State, args: list[str]) -> Turn | None:
    items: dict[str, Callable[[Talk], Turn]] = {
        "book": lambda t: booking.begin(t, State()),
        "mine": changes.mine,
        "reschedule": changes.start_move,
        "cancel": changes.start_cancel,
        "info": info.info_menu,
        "staff": hand_over,
        "language": ask_language,
        "home": lambda t: Turn(State(), (greeting(t),)),
    }
    item = items.get(_one(args))
    return item(talk) if item is not None else None


ROUTES: dict[str, Route] = {
    "menu": _menu_item,
    "svc": _service,
    "doc": _doctor,
    "slot": booking.pick,
    "ok": booking.confirm,
    "more": _more,
    "change": _change,
    "confirm": lambda talk, state, args: changes.attend(talk, _one(args)),
    "cancel": lambda talk, state, args: changes.ask_cancel(talk, _one(args)),
    "drop": lambda talk, state, args: changes.drop(talk, _one(args)),
    "keep": lambda talk, state, args: changes.keep(talk, _one(args)),
    "reschedule": _reschedule,
    "move": changes.pick_move,
    "moveok": changes.do_move,
    "info": _info,
    "lang": _language,
}


# --- whole answers ----------------------------------------------------------------------------


def hand_over(talk: Talk) -> Turn:
    return Turn(State(), (reply(talk.say("handover")),), (HandOver(),))


def ask_language(talk: Talk) -> Turn:
    order = [Language.HI, Language.EN] if talk.lang is Language.EN else [Language.EN, Language.HI]
    buttons = [Choice(ids.make("lang", lang.value), LANGUAGE_TITLES[lang]) for lang in order]
    return Turn(State(), (reply(talk.say("language_ask"), buttons),))


def set_language(talk: Talk, lang: Language) -> Turn:
    new = Talk.of(talk.ctx, lang)
    return Turn(State(), (menu(new, new.say("language_set")),), (SetLanguage(lang),))


def didnt_get(talk: Talk) -> Turn:
    return Turn(State(), (menu(talk, talk.say("didnt_get")),))


def _emergency(talk: Talk) -> Turn:
    number = EMERGENCY_NUMBERS.get(talk.ctx.clinic.country.upper(), "112")
    text = talk.say("emergency", number=number, phone=talk.phone)
    buttons = [choice(talk, "menu:staff", "btn.staff"), choice(talk, "menu:home", "btn.menu")]
    return Turn(State(), (reply(text, buttons),))


def _medical(talk: Talk) -> Turn:
    buttons = [
        choice(talk, "menu:book", "btn.book"),
        choice(talk, "menu:staff", "btn.staff"),
        choice(talk, "menu:home", "btn.menu"),
    ]
    return Turn(State(), (reply(talk.say("medical", phone=talk.phone), buttons),))


def _reminders(talk: Talk, on: bool) -> Turn:
    text = talk.say("started" if on else "stopped")
    return Turn(State(), (back_to_menu(talk, text, book_first=False),), (SetReminders(on),))


# --- typed text -------------------------------------------------------------------------------


def on_text(talk: Talk, state: State, text: str) -> Turn:
    """The patient typed ``text``: understood against the clinic, then acted on in context."""
    heard = understand(text, talk.ctx)
    switched: tuple[Effect, ...] = ()
    if heard.hindi and talk.lang is Language.EN and heard.intent is not Intent.LANGUAGE:
        talk, switched = Talk.of(talk.ctx, Language.HI), (SetLanguage(Language.HI),)
    turn = _on_intent(talk, state, heard)
    return Turn(turn.state, turn.replies, switched + turn.effects) if switched else turn


def _first_or_second(talk: Talk, state: State, index: int) -> Turn | None:
    """Yes takes the first choice offered (always the forward one), no the second."""
    if state.stage in (CONFIRM, MOVE_CONFIRM, DROP) and len(state.offered) > index:
        return on_choice(talk, state, state.offered[index])
    return None


def _yes(talk: Talk, state: State, heard: Understanding) -> Turn:
    return _first_or_second(talk, state, 0) or Turn(State(), (menu(talk, talk.say("menu_again")),))


def _no(talk: Talk, state: State, heard: Understanding) -> Turn:
    found = _first_or_second(talk, state, 1)
    if found is not None:
        return found
    if state.stage in BOOKING_STAGES:
        return Turn(State(), (back_to_menu(talk, talk.say("not_booked")),))
    return Turn(State(), (reply(talk.say("bye")),))


def _picked(talk: Talk, state: State, heard: Understanding) -> Turn:
    number = heard.pick or 0
    if 1 <= number <= len(state.offered):
        found = on_choice(talk, state, state.offered[number - 1])
        if found is not None:
            return found
    if state.offered:
        return Turn(state, (reply(talk.say("pick_range", count=len(state.offered))),))
    return didnt_get(talk)


def _book(talk: Talk, state: State, heard: Understanding) -> Turn:
    if state.stage in MOVING_STAGES and heard.implied and state.appointment_id:
        part = heard.part.value if heard.part else None
        wish = replace(state, day=heard.day, clock=heard.clock, part=part, slot=None)
        return changes.offer_move(talk, wish)
    if state.stage == CONFIRM and not heard.has_details:
        return _yes(talk, state, heard)
    return booking.begin(talk, state, heard)


def _cancel(talk: Talk, state: State, heard: Understanding) -> Turn:
    if state.stage == CONFIRM:  # "cancel" while confirming a new booking: do not book it
        return Turn(State(), (back_to_menu(talk, talk.say("not_booked")),))
    if state.stage == DROP and state.appointment_id:
        return changes.drop(talk, state.appointment_id)
    return changes.start_cancel(talk, heard)


def _more_text(talk: Talk, state: State, heard: Understanding) -> Turn:
    return _more(talk, state, []) or didnt_get(talk)


def _language_text(talk: Talk, state: State, heard: Understanding) -> Turn:
    return set_language(talk, heard.language) if heard.language else ask_language(talk)


Handler = Callable[[Talk, State, Understanding], Turn]
INTENTS: dict[Intent, Handler] = {
    Intent.EMERGENCY: lambda talk, state, heard: _emergency(talk),
    Intent.MEDICAL: lambda talk, state, heard: _medical(talk),
    Intent.STOP: lambda talk, state, heard: _reminders(talk, False),
    Intent.START: lambda talk, state, heard: _reminders(talk, True),
    Intent.LANGUAGE: _language_text,
    Intent.HUMAN: lambda talk, state, heard: hand_over(talk),
    Intent.GREET: lambda talk, state, heard: Turn(State(), (greeting(talk),)),
    Intent.THANKS: lambda talk, state, heard: Turn(
        State(), (back_to_menu(talk, talk.say("thanks"), book_first=False),)
    ),
    Intent.YES: _yes,
    Intent.NO: _no,
    Intent.PICK: _picked,
    Intent.MORE: _more_text,
    Intent.BOOK: _book,
    Intent.MINE: lambda talk, state, heard: changes.mine(talk),
    Intent.CANCEL: _cancel,
    Intent.RESCHEDULE: lambda talk, state, heard: changes.start_move(talk, heard),
    Intent.HOURS: lambda talk, state, heard: info.hours(talk, heard.day, heard.doctor_id),
    Intent.ADDRESS: lambda talk, state, heard: info.address(talk),
    Intent.FEES: lambda talk, state, heard: info.fees(talk, heard.service_id, heard.doctor_id),
    Intent.DOCTORS: lambda talk, state, heard: info.doctors(talk),
    Intent.INFO: lambda talk, state, heard: info.info_menu(talk),
}


def _on_intent(talk: Talk, state: State, heard: Understanding) -> Turn:
    handler = INTENTS.get(heard.intent)
    return handler(talk, state, heard) if handler is not None else didnt_get(talk)
