"""``step`` never raises, whatever it is sent: random texts, random and forged choice ids,
random (even nonsensical) states; every reply still fits WhatsApp's limits, the state still
round-trips, and the same inputs give the same turn."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicbot.conversation.engine import State, step
from clinicbot.conversation.model import Book, Context, Inbound, Language
from clinicbot.conversation.state import STAGES
from tests.conversation_clinic import (
    CLINIC,
    DOCTORS,
    IST,
    NOW,
    SERVICES,
    MemoryAvailability,
    appointment,
    assert_fits,
    at,
    context,
)
from tests.test_understanding import ALL

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
VERBS = [
    "menu", "svc", "doc", "slot", "ok", "more", "change", "confirm", "CONFIRM", "cancel",
    "CANCEL", "drop", "keep", "reschedule", "RESCHEDULE", "move", "moveok", "info", "lang",
]  # fmt: skip
UPCOMING = (
    appointment("appt-1", DOCTORS[1].id, SERVICES[1].id, at(NOW.date() + timedelta(2), "11:00")),
)
REAL_IDS = [
    *(d.id for d in DOCTORS),
    *(s.id for s in SERVICES),
    "appt-1",
    "*",
    "book",
    "hours",
    "hi",
    "en",
]
stamps = st.builds(
    lambda d, h, m: f"{d:%Y%m%d}{h:02d}{m:02d}",
    st.dates(NOW.date() - timedelta(days=3), NOW.date() + timedelta(days=70)),
    st.integers(0, 25),
    st.sampled_from([0, 15, 30, 45, 7, 60]),
)
parts = st.one_of(st.sampled_from(REAL_IDS), stamps, st.text(max_size=12))
choice_ids = st.one_of(
    st.builds(
        lambda verb, args: ":".join([verb, *args]),
        st.sampled_from(VERBS),
        st.lists(parts, max_size=4),
    ),
    st.text(max_size=80),
)
texts = st.one_of(
    st.text(max_size=300),
    st.sampled_from([row[0] for row in ALL]),
    st.builds(
        lambda a, b: f"{a} {b}", st.sampled_from([row[0] for row in ALL]), st.text(max_size=20)
    ),
    st.text(alphabet="अआइईउएओकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह़ािीुूेैोौंः्0123456789 ", max_size=60),
)
moments = st.one_of(
    st.none(),
    st.datetimes(timezones=st.sampled_from([IST, UTC])),
    st.datetimes(),
    st.datetimes(NOW.replace(tzinfo=None), NOW.replace(tzinfo=None) + timedelta(days=70)).map(
        lambda d: d.replace(tzinfo=IST)
    ),
)
states = st.builds(
    State,
    stage=st.one_of(st.sampled_from(sorted(STAGES)), st.text(max_size=10)),
    service_id=st.one_of(st.none(), st.sampled_from(REAL_IDS), st.text(max_size=10)),
    doctor_id=st.one_of(st.none(), st.sampled_from(REAL_IDS), st.text(max_size=10)),
    appointment_id=st.one_of(st.none(), st.sampled_from(REAL_IDS), st.text(max_size=10)),
    day=st.one_of(st.none(), st.dates()),
    clock=st.one_of(st.none(), st.times()),
    part=st.one_of(
        st.none(), st.sampled_from(["morning", "afternoon", "evening"]), st.text(max_size=8)
    ),
    slot=moments,
    offered=st.lists(choice_ids, max_size=12).map(tuple),
)
inbounds = st.one_of(
    st.builds(Inbound, kind=st.just("text"), text=texts, stale=st.booleans()),
    st.builds(
        Inbound,
        kind=st.just("choice"),
        text=texts,
        choice_id=st.one_of(st.none(), choice_ids),
        stale=st.booleans(),
    ),
    st.builds(Inbound, kind=st.sampled_from(["media", "other"]), text=texts),
)
contexts = st.builds(
    lambda now, lang, upcoming, zone: _ctx(now, lang, upcoming, zone),
    st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31)).map(lambda d: d.replace(tzinfo=IST)),
    st.sampled_from(Language),
    st.booleans(),
    st.sampled_from(["Asia/Kolkata", "Europe/London", "Not/AZone"]),
)


def _ctx(now: datetime, lang: Language, upcoming: bool, zone: str) -> Context:
    ctx = context(now=now, language=lang, upcoming=UPCOMING if upcoming else ())
    return replace(ctx, clinic=msgspec.structs.replace(CLINIC, timezone=zone))


def _check(state: State | None, inbound: Inbound, ctx: Context) -> None:
    turn = step(state, inbound, ctx)
    for reply in turn.replies:
        assert_fits(reply)
    raw = msgspec.json.encode(turn.state)
    assert msgspec.json.decode(raw, type=State) == turn.state
    assert step(state, inbound, ctx) == turn  # deterministic
    for effect in turn.effects:
        if isinstance(effect, Book):  # only ever a time that is free now
            free = ctx.availability.free_starts(
                effect.doctor_id, effect.service_id, effect.starts_at.date()
            )
            assert effect.starts_at in free


@SETTINGS
@given(inbound=inbounds)
def test_any_message_from_a_fresh_start(inbound: Inbound) -> None:
    _check(None, inbound, context())


@SETTINGS
@given(state=states, inbound=inbounds)
def test_any_message_in_any_state(state: State, inbound: Inbound) -> None:
    _check(state, inbound, context(upcoming=UPCOMING))


@SETTINGS
@given(state=states, inbound=inbounds, ctx=contexts)
def test_any_message_in_any_state_any_day(state: State, inbound: Inbound, ctx: Context) -> None:
    _check(state, inbound, ctx)


@settings(max_examples=60, deadline=None)
@given(taps=st.lists(st.integers(0, 9), min_size=1, max_size=12), first=texts)
def test_random_walks_through_the_choices(taps: list[int], first: str) -> None:
    """A patient tapping around at random: every step fits, nothing is booked twice."""
    ctx = context(upcoming=UPCOMING, availability=MemoryAvailability())
    state, inbound = None, Inbound("text", text=first)
    booked: list[Book] = []
    for tap in taps:
        turn = step(state, inbound, ctx)
        for reply in turn.replies:
            assert_fits(reply)
        booked += [e for e in turn.effects if isinstance(e, Book)]
        state = turn.state
        if not state.offered:
            inbound = Inbound("text", text="hi")
            continue
        inbound = Inbound("choice", choice_id=state.offered[tap % len(state.offered)])
    assert len(booked) <= len(taps)
