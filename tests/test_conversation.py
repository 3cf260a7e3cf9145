"""Booking conversations through ``step``, as patients have them: the first-option path,
free-text shortcuts ("book with Dr Mehta tomorrow evening", "kal 5 baje"), numbers typed
instead of taps, and slots taken while a patient was choosing."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace
from datetime import date, datetime, timedelta

import msgspec

from clinicbot.conversation.engine import State, Turn, step
from clinicbot.conversation.model import Book, Hold, Inbound, Language, Release
from tests.conversation_clinic import (
    CHILD,
    CLEANING,
    DENTAL,
    FOLLOWUP,
    GENERAL,
    IST,
    MEHTA,
    NOW,
    SERVICES,
    SHARMA,
    VERMA,
    Chat,
    MemoryAvailability,
    appointment,
    at,
    context,
)

TOMORROW = date(2025, 11, 25)


def _starts(chat: Chat) -> list[str]:
    return [i.rsplit(":", 1)[1] for i in chat.ids if i.startswith("slot:")]


def first_offered(chat: Chat) -> Hold:
    """The brief hold on the first time in the last list offered, as the engine should ask."""
    _, doctor, service, stamp = chat.ids[0].split(":")
    start = datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=IST)
    return Hold(doctor, service, start, kind="offer")


def first_option_path(chat: Chat, limit: int = 8) -> int:
    """Say "Hi", then always take the first option; the number of messages until ``Book``."""
    chat.send("Hi")
    for sent in range(2, limit + 1):
        turn = chat.tap(0)
        if any(isinstance(e, Book) for e in turn.effects):
            return sent
    raise AssertionError(f"no booking within {limit} messages: {chat.last.text!r}")


def test_the_first_option_books_within_eight_messages() -> None:
    chat = Chat(context())
    sent = first_option_path(chat)
    print(f"\nfirst-option path: a booking after {sent} messages")
    assert sent <= 6
    book = chat.effects[0]
    assert isinstance(book, Book)
    assert book.service_id == SERVICES[0].id
    assert book.starts_at == datetime(2025, 11, 24, 11, 15, tzinfo=IST)  # the earliest free time
    assert chat.state == State(offered=("menu:home",))


def test_the_first_option_path_with_a_service_several_doctors_offer() -> None:
    followup_first = (SERVICES[4], *SERVICES[:4])
    chat = Chat(context(services=followup_first))
    sent = first_option_path(chat)
    assert sent == 6  # Hi, Book, service, any doctor, earliest slot, Confirm
    book = chat.effects[0]
    assert isinstance(book, Book) and book.service_id == FOLLOWUP


def test_the_first_option_path_in_hindi() -> None:
    chat = Chat(context(language=Language.HI))
    assert first_option_path(chat) <= 6
    assert "बुक हो गया" in chat.last.text


def test_the_menu_has_every_option_book_first() -> None:
    chat = Chat(context())
    chat.send("hi")
    assert "Sunrise Family Clinic" in chat.last.text and "Asha" in chat.last.text
    assert chat.ids == [
        "menu:book",
        "menu:mine",
        "menu:reschedule",
        "menu:cancel",
        "menu:info",
        "menu:staff",
        "menu:language",
    ]
    assert chat.last.button == "Menu"


def test_service_then_any_doctor_then_the_earliest_slots_across_days() -> None:
    chat = Chat(context())
    chat.tap("menu:book")
    chat.tap(f"svc:{FOLLOWUP}")
    assert chat.ids[0] == "doc:*" and chat.titles[0] == "Any doctor, earliest"
    assert chat.ids[1:] == [f"doc:{MEHTA}", f"doc:{SHARMA}", f"doc:{VERMA}"]
    chat.tap(0)
    starts = _starts(chat)
    assert len(starts) == 9 and starts == sorted(starts)
    assert len({s[:8] for s in starts}) >= 3  # spread over days
    assert chat.ids[-1].startswith("more:") and chat.titles[-1] == "More slots"
    assert all(c.description for c in chat.last.choices[:9])  # which doctor, for "any"
    chat.tap(9)
    later = _starts(chat)
    assert later and min(later) > max(starts)


def test_every_list_of_times_holds_its_first_briefly() -> None:
    """So that patients choosing at once are not all offered the same first time; leaving
    the booking lets go of it."""
    chat = Chat(context())
    chat.tap("menu:book")
    chat.tap(f"svc:{FOLLOWUP}")
    assert chat.tap(0).effects == (first_offered(chat),)  # any doctor: the earliest times
    assert chat.tap(9).effects == (first_offered(chat),)  # More slots
    assert chat.tap("menu:home").effects == (Release(),)
    chat.send("kal 5 baje")
    nearest = chat.tap(f"svc:{GENERAL}")  # Dr. Mehta is taken at 5 pm: the nearest times
    assert nearest.effects == (first_offered(chat),)
    picked = chat.tap(0).effects[0]
    assert isinstance(picked, Hold) and picked.kind == "confirm"


def test_book_with_dr_mehta_tomorrow_evening() -> None:
    chat = Chat(context())
    chat.send("book with Dr Mehta tomorrow evening")
    assert "Dr. Anil Mehta" in chat.last.text
    assert chat.ids == [f"svc:{GENERAL}", f"svc:{FOLLOWUP}"]  # his two services
    chat.tap(0)
    starts = _starts(chat)
    assert starts and all(s.startswith("20251125") and s[8:] >= "1600" for s in starts)
    assert all(i.startswith(f"slot:{MEHTA}:") for i in chat.ids if i.startswith("slot:"))


def test_a_named_service_skips_the_service_and_a_single_doctor() -> None:
    chat = Chat(context())
    chat.send("dentl cleaning tomorow")
    starts = _starts(chat)
    assert starts and all(s.startswith("20251125") for s in starts)
    assert all(i.startswith(f"slot:{SHARMA}:{CLEANING}:") for i in chat.ids[:-1])


def test_kal_5_baje_when_that_time_is_free_goes_straight_to_confirm() -> None:
    chat = Chat(context())
    chat.send("kal 5 baje")
    chat.tap(f"svc:{CHILD}")
    assert chat.effects == (Hold(VERMA, CHILD, datetime(2025, 11, 25, 17, tzinfo=IST)),)
    assert chat.titles == ["Confirm", "Change time"]
    assert "Tue 25 Nov, 5:00 pm" in chat.last.text and "₹600" in chat.last.text
    confirmed = chat.tap(0)
    assert confirmed.effects == (Book(VERMA, CHILD, datetime(2025, 11, 25, 17, tzinfo=IST)),)


def test_kal_5_baje_when_taken_offers_the_nearest_before_and_after() -> None:
    availability = MemoryAvailability()
    availability.take(appointment("x", VERMA, CHILD, at(TOMORROW, "17:00"), patient="p9"))
    chat = Chat(context(availability=availability))
    chat.send("kal 5 baje")
    chat.tap(f"svc:{CHILD}")
    assert chat.last.text.startswith("Tue 25 Nov, 5:00 pm is not free")
    starts = _starts(chat)
    # 17:00-17:20 is taken, so 16:45 and 17:15 overlap it: 16:30 and 17:30 are nearest.
    assert "202511251630" in starts and "202511251730" in starts
    assert not {"202511251645", "202511251700", "202511251715"} & set(starts)


def test_a_day_with_no_free_time_says_so_and_offers_the_nearest() -> None:
    chat = Chat(context())
    chat.send("dental checkup on thursday")  # Thursday 27 Nov is a clinic holiday
    assert chat.last.text.startswith("Nothing is free on Thu 27 Nov")
    assert _starts(chat) and not any(s.startswith("20251127") for s in _starts(chat))


def test_a_typed_number_picks_from_the_last_choices() -> None:
    chat = Chat(context())
    chat.send("hi")
    chat.send("1")
    assert chat.last.text == "Which service do you need?"
    chat.send("second")
    assert chat.ids[0].startswith(f"slot:{SHARMA}:{DENTAL}:")
    chosen = chat.ids[1]
    chat.send("option 2")
    assert chat.titles == ["Confirm", "Change time"]
    assert chat.ids[0] == "ok:" + chosen.removeprefix("slot:")
    chat.send("do")  # Hindi "two": the second option, Change time
    assert chat.ids[0].startswith("slot:")


def test_a_number_out_of_range_asks_again_and_keeps_the_choices() -> None:
    chat = Chat(context())
    chat.send("hi")
    offered = chat.state.offered if chat.state else ()
    chat.send("12")
    assert chat.last.text == "Please choose a number from 1 to 7."
    assert chat.state is not None and chat.state.offered == offered


def test_yes_confirms_no_changes_the_time() -> None:
    chat = Chat(context())
    chat.send("general consultation tomorrow morning")
    chat.tap(0)
    chat.send("nahi")
    assert chat.ids[0].startswith("slot:")
    chat.tap(0)
    chat.send("haan ji")
    assert isinstance(chat.effects[0], Book)


def test_cancel_while_confirming_books_nothing() -> None:
    chat = Chat(context())
    chat.send("teeth cleaning tomorrow")
    chat.tap(0)
    chat.send("cancel")
    assert chat.effects == (Release(),)  # and the time held for confirming is let go
    assert chat.last.text == "Okay, nothing is booked."


def test_a_slot_taken_while_choosing_is_never_booked() -> None:
    availability = MemoryAvailability()
    chat = Chat(context(availability=availability))
    chat.send("child consultation tomorrow")
    chat.tap(0)
    hold = chat.effects[0]
    assert isinstance(hold, Hold)
    availability.take(appointment("y", VERMA, CHILD, hold.starts_at, patient="p7"))
    offered = chat.tap(0)  # Confirm
    first = first_offered(chat)
    assert offered.effects == (first,)  # no Book: the first time offered instead, held
    assert chat.last.text.startswith("Sorry, Tue 25 Nov, 9:00 am was just taken")
    assert "202511250900" not in _starts(chat)
    picked = chat.tap(0)
    assert picked.effects == (Hold(first.doctor_id, first.service_id, first.starts_at),)


def test_a_rerun_on_a_fresh_snapshot_says_what_changed() -> None:
    """The shell re-runs the same step when applying ``Book`` failed: the re-run must not
    book again, and must say the time was taken."""
    availability = MemoryAvailability()
    chat = Chat(context(availability=availability))
    chat.send("follow up with dr sharma tomorrow at 11")
    before, confirm = chat.state, Inbound("choice", choice_id=chat.ids[0])
    first = step(before, confirm, chat.ctx)
    assert isinstance(first.effects[0], Book)
    availability.take(appointment("z", SHARMA, FOLLOWUP, first.effects[0].starts_at, patient="p"))
    again = step(before, confirm, chat.ctx)
    assert [type(e) for e in again.effects] == [Hold]  # the first nearest time, not a Book
    assert again.replies[0].text.startswith("Sorry, Tue 25 Nov, 11:00 am was just taken")


def test_forged_or_stale_choice_ids_are_checked() -> None:
    ctx = context()
    for choice_id in (
        f"ok:{MEHTA}:{DENTAL}:202511251000",  # Dr. Mehta does not do dental check-ups
        f"ok:nobody:{GENERAL}:202511251000",
        f"ok:{MEHTA}:{GENERAL}:202511231000",  # in the past
        f"ok:{MEHTA}:{GENERAL}:202511251003",  # not on the slot grid
        f"ok:{MEHTA}:{GENERAL}:202611251000",  # past the booking horizon
        f"ok:{MEHTA}:{GENERAL}:garbage",
        "slot:::",
    ):
        turn = step(None, Inbound("choice", choice_id=choice_id), ctx)
        assert not any(isinstance(e, Book) for e in turn.effects), choice_id


def test_an_old_confirm_tap_still_books_what_it_showed() -> None:
    turn = step(None, Inbound("choice", choice_id=f"ok:{MEHTA}:{GENERAL}:202511250915"), context())
    assert turn.effects == (Book(MEHTA, GENERAL, datetime(2025, 11, 25, 9, 15, tzinfo=IST)),)


def test_offers_respect_notice_and_lunch() -> None:
    chat = Chat(context(now=NOW.replace(hour=12, minute=50)))
    chat.send("dental check-up today")
    starts = _starts(chat)
    # Dr. Sharma: 10:00-13:30 and 14:30-18:00; an hour's notice from 12:50.
    assert starts and starts[0] == "202511241430"


def test_state_round_trips_and_stays_small() -> None:
    chat = Chat(context())
    chat.send("book with Dr Mehta tomorrow evening")
    chat.tap(0)
    assert chat.state is not None
    raw = msgspec.json.encode(chat.state)
    assert msgspec.json.decode(raw, type=State) == chat.state
    assert len(raw) < 1200
    assert msgspec.json.decode(msgspec.json.encode(State()), type=State) == State()


def test_step_is_deterministic() -> None:
    ctx = context()
    turns: list[Turn] = [
        step(None, Inbound("text", text="kal shaam 5 baje"), ctx) for _ in range(2)
    ]
    assert turns[0] == turns[1]


def test_a_day_later_the_same_words_mean_a_day_later() -> None:
    later = NOW + timedelta(days=1)
    chat = Chat(replace(context(now=later), now=later))
    chat.send("general consultation tomorrow morning")
    assert all(s.startswith("20251126") for s in _starts(chat))


def test_any_doctor_typed_at_the_doctor_question() -> None:
    chat = Chat(context())
    chat.send("follow up visit")
    assert chat.ids[0] == "doc:*"
    chat.send("koi bhi chalega")
    starts = _starts(chat)
    assert len(starts) == 9
    assert {i.split(":")[1] for i in chat.ids if i.startswith("slot:")} > {MEHTA}


def test_a_step_is_fast() -> None:
    """Median time of one step over a realistic conversation, in-memory availability."""
    script = [
        "Hi",
        "1",
        "5",
        "1",
        "book with Dr Mehta tomorrow evening",
        "1",
        "kal shaam 5 baje",
        "4",
        "what time do u open on sunday",
        "मेरा अपॉइंटमेंट कैंसिल कर दो",
        "asdf",
    ]
    ctx = context(upcoming=[appointment("a1", SHARMA, DENTAL, at(TOMORROW, "11:00"))])
    times: list[float] = []
    for _ in range(20):
        state = None
        for text in script:
            started = time.perf_counter()
            turn = step(state, Inbound("text", text=text), ctx)
            times.append(time.perf_counter() - started)
            state = turn.state
    median = statistics.median(times)
    print(f"\nmedian step {median * 1000:.2f} ms, slowest {max(times) * 1000:.2f} ms")
    assert median < 0.005
