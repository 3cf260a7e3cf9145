"""A patient's own appointments through ``step``: listing, cancelling, rescheduling, and the
reminder buttons, which act on their appointment at any point of a conversation."""

from __future__ import annotations

from datetime import date, datetime

from clinicbot.conversation.engine import step
from clinicbot.conversation.model import (
    Cancel,
    ConfirmAttendance,
    Hold,
    Inbound,
    Language,
    Release,
    Reschedule,
)
from tests.conversation_clinic import (
    CHILD,
    DENTAL,
    IST,
    SHARMA,
    VERMA,
    Chat,
    MemoryAvailability,
    appointment,
    at,
    context,
)

DENTIST = appointment("appt-1", SHARMA, DENTAL, at(date(2025, 11, 26), "11:00"))
CHILD_VISIT = appointment("appt-2", VERMA, CHILD, at(date(2025, 11, 28), "16:00"))


def test_my_appointments_lists_them_with_ways_to_change() -> None:
    chat = Chat(context(upcoming=[CHILD_VISIT, DENTIST]))
    chat.send("mera appointment kab hai")
    lines = chat.last.text.splitlines()
    assert lines[1:] == [
        "• Wed 26 Nov, 11:00 am: Dr. Priya Sharma (Dental check-up)",
        "• Fri 28 Nov, 4:00 pm: Dr. Rahul Verma (Child consultation)",
    ]
    assert chat.ids == ["menu:reschedule", "menu:cancel", "menu:home"]


def test_my_appointments_with_one_acts_on_it_directly() -> None:
    chat = Chat(context(upcoming=[DENTIST]))
    chat.tap("menu:mine")
    assert chat.ids == ["reschedule:appt-1", "cancel:appt-1", "menu:home"]


def test_no_appointments_offers_to_book() -> None:
    chat = Chat(context())
    chat.send("my appointments")
    assert chat.last.text == "You have no upcoming appointments."
    assert chat.ids == ["menu:book", "menu:home"]


def test_cancel_the_only_appointment_after_are_you_sure() -> None:
    chat = Chat(context(upcoming=[DENTIST]))
    chat.send("मेरा अपॉइंटमेंट कैंसिल कर दो")
    assert chat.ids == ["drop:appt-1", "keep:appt-1"]
    assert chat.titles == ["हाँ, रद्द करें", "रहने दें"]  # Devanagari: answered in Hindi
    chat.tap(0)
    assert chat.effects == (Cancel("appt-1"),)
    assert "रद्द हो गया" in chat.last.text


def test_cancel_picks_which_when_there_are_several() -> None:
    chat = Chat(context(upcoming=[DENTIST, CHILD_VISIT]))
    chat.send("apointment cancle karna hai")
    assert chat.last.text == "Which appointment do you want to cancel?"
    assert chat.ids == ["cancel:appt-1", "cancel:appt-2"]
    assert chat.last.choices[1].description == "Dr. Rahul Verma, Child consultation"
    chat.send("2")
    assert chat.ids == ["drop:appt-2", "keep:appt-2"]
    chat.send("yes")
    assert chat.effects == (Cancel("appt-2"),)


def test_cancel_with_a_day_or_doctor_goes_to_that_one() -> None:
    chat = Chat(context(upcoming=[DENTIST, CHILD_VISIT]))
    chat.send("please cancel the booking with dr verma")
    assert chat.ids == ["drop:appt-2", "keep:appt-2"]
    chat.send("no")
    assert chat.effects == ()
    assert chat.last.text == "Okay, your appointment on Fri 28 Nov, 4:00 pm stays as it is."


def test_cancelling_an_appointment_staff_changed_meanwhile() -> None:
    chat = Chat(context(upcoming=[DENTIST]))
    chat.send("cancel")
    yes = Inbound("choice", choice_id=chat.ids[0])
    turn = step(chat.state, yes, context(upcoming=[]))  # the re-run on a fresh snapshot
    assert turn.effects == ()
    assert turn.replies[0].text.startswith("That appointment is no longer booked.")


def test_reschedule_offers_the_same_doctor_and_service_then_moves() -> None:
    chat = Chat(context(upcoming=[DENTIST]))
    chat.send("I want to reschedule my appointment")
    assert chat.last.text.startswith("Your appointment: Wed 26 Nov, 11:00 am with Dr. Priya")
    assert all(i.startswith("move:appt-1:") or i.startswith("more:") for i in chat.ids)
    first = datetime.strptime(chat.ids[0].rsplit(":", 1)[1], "%Y%m%d%H%M").replace(tzinfo=IST)
    assert chat.turns[-1].effects == (Hold(SHARMA, DENTAL, first, kind="offer"),)  # briefly
    chat.tap(0)
    hold = chat.effects[0]
    assert isinstance(hold, Hold) and (hold.doctor_id, hold.service_id) == (SHARMA, DENTAL)
    assert chat.titles == ["Confirm", "Change time"]
    chat.tap(0)
    assert chat.effects == (Reschedule("appt-1", hold.starts_at),)


def test_reschedule_to_a_named_day_and_part() -> None:
    chat = Chat(context(upcoming=[DENTIST, CHILD_VISIT]))
    chat.send("move my appointment to friday evening")
    assert chat.ids == ["reschedule:appt-1", "reschedule:appt-2"]
    chat.tap(0)
    starts = [i.rsplit(":", 1)[1] for i in chat.ids if i.startswith("move:")]
    assert starts and all(s.startswith("20251128") and s[8:] >= "1600" for s in starts)


def test_reschedule_to_a_time_taken_meanwhile() -> None:
    availability = MemoryAvailability()
    availability.take(DENTIST)
    chat = Chat(context(upcoming=[DENTIST], availability=availability))
    chat.send("reschedule to saturday 11 am")
    assert chat.titles == ["Confirm", "Change time"]
    new = datetime(2025, 11, 29, 11, tzinfo=IST)
    availability.take(appointment("w", SHARMA, DENTAL, new, patient="p5"))
    chat.tap(0)
    hold = chat.effects[0]
    assert isinstance(hold, Hold) and hold.kind == "offer"  # the first nearest, not a move
    assert chat.ids[0] == f"move:appt-1:{hold.starts_at:%Y%m%d%H%M}"
    assert chat.last.text.startswith("Sorry, Sat 29 Nov, 11:00 am was just taken")


def test_reminder_buttons_act_at_any_point() -> None:
    chat = Chat(context(upcoming=[DENTIST]))
    chat.send("book teeth cleaning tomorrow")  # in the middle of something else
    chat.tap("CONFIRM:appt-1")
    assert chat.effects == (ConfirmAttendance("appt-1"), Release())  # leaving the booking
    assert (
        chat.last.text == "Thank you! We'll see you on Wed 26 Nov, 11:00 am with Dr. Priya Sharma."
    )
    chat.send("kal 5 baje")
    chat.tap("cancel:appt-1")
    assert chat.ids == ["drop:appt-1", "keep:appt-1"]
    chat.tap("RESCHEDULE:appt-1")
    assert chat.ids[0].startswith("move:appt-1:")


def test_a_reminder_for_an_appointment_no_longer_booked() -> None:
    chat = Chat(context(upcoming=[CHILD_VISIT]))
    chat.tap("confirm:appt-1")
    assert chat.effects == ()
    assert chat.last.text.splitlines()[0] == "That appointment is no longer booked."
    assert "Dr. Rahul Verma" in chat.last.text  # and what is booked


def test_reschedule_in_hindi() -> None:
    chat = Chat(context(upcoming=[DENTIST], language=Language.HI))
    chat.send("appointment ka time badalna hai")
    assert chat.last.text.startswith("आपका अपॉइंटमेंट: बुध 26 नव, 11:00 am")
    chat.send("1")
    chat.send("haan")
    assert isinstance(chat.effects[0], Reschedule)
    assert chat.last.text.startswith("✅ हो गया।")
