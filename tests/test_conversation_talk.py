"""Everything besides booking, through ``step``: clinic info, a person, language, reminders
on and off, emergencies and medical questions, and messages the bot cannot act on."""

from __future__ import annotations

from clinicbot.conversation.engine import State, step
from clinicbot.conversation.model import (
    HandOver,
    Inbound,
    Language,
    Release,
    SetLanguage,
    SetReminders,
)
from tests.conversation_clinic import Chat, context

MENU = [
    "menu:book",
    "menu:mine",
    "menu:reschedule",
    "menu:cancel",
    "menu:info",
    "menu:staff",
    "menu:language",
]


def test_unknown_text_gets_a_short_sorry_and_the_menu() -> None:
    chat = Chat(context())
    chat.send("asdfgh qwerty")
    assert chat.last.text == "Sorry, I didn't get that. Here is what I can do:"
    assert chat.ids == MENU


def test_clinic_info_menu_then_each_answer() -> None:
    chat = Chat(context())
    chat.tap("menu:info")
    assert chat.ids == ["menu:book", "info:hours", "info:address", "info:fees", "info:doctors"]
    chat.tap("info:hours")
    text = chat.last.text
    assert "Dr. Anil Mehta (General Physician)\nMon–Sat: 9:00 am–1:00 pm, 5:00 pm–8:00 pm" in text
    assert "Sun: 10:00 am–12:00 pm" in text
    assert "Dr. Priya Sharma (Dentist)\nMon–Sat: 10:00 am–1:30 pm, 2:30 pm–6:00 pm" in text
    assert "The clinic is closed on Thu 27 Nov." in text
    assert chat.ids == ["menu:book", "menu:home"]
    chat.tap("info:address")
    assert "12 MG Road" in chat.last.text and "+911244567890" in chat.last.text
    chat.tap("info:fees")
    assert "Teeth cleaning (45 min): ₹1,500" in chat.last.text
    chat.tap("info:doctors")
    assert "Dr. Rahul Verma: Pediatrician" in chat.last.text


def test_hours_on_a_day_and_of_a_doctor() -> None:
    chat = Chat(context())
    chat.send("what time do u open on sunday")
    assert chat.last.text.splitlines() == [
        "Hours on Sun 30 Nov:",
        "Dr. Anil Mehta: 10:00 am–12:00 pm",
        "Dr. Priya Sharma: not available",
        "Dr. Rahul Verma: not available",
    ]
    chat.send("dr sharma kab baithti hai")
    assert "Dr. Priya Sharma" in chat.last.text and "Dr. Anil Mehta" not in chat.last.text
    chat.send("is the clinic open on thursday")
    assert chat.last.text == "The clinic is closed on Thu 27 Nov."


def test_fees_of_one_service() -> None:
    chat = Chat(context())
    chat.send("how much for teeth cleaning")
    assert chat.last.text == "Our fees:\nTeeth cleaning (45 min): ₹1,500"


def test_talk_to_staff_hands_over() -> None:
    chat = Chat(context())
    chat.send("kisi insaan se baat karni hai")
    assert chat.effects == (HandOver(),)
    assert chat.last.text == "Okay, a member of our staff will reply to you here soon."
    chat.tap("menu:staff")
    assert chat.effects == (HandOver(),)


def test_language_by_name_then_replies_in_hindi() -> None:
    chat = Chat(context())
    chat.send("hindi me baat karo")
    assert chat.effects == (SetLanguage(Language.HI),)
    assert chat.last.text == "ठीक है, अब मैं हिंदी में जवाब दूँगा।"
    assert chat.titles[0] == "अपॉइंटमेंट बुक करें"
    chat.send("hi")
    assert chat.last.text.startswith("नमस्ते Asha!")
    chat.send("english please")
    assert chat.effects == (SetLanguage(Language.EN),)
    assert chat.last.text == "Okay, I'll reply in English."


def test_language_menu() -> None:
    chat = Chat(context())
    chat.tap("menu:language")
    assert chat.ids == ["lang:hi", "lang:en"]
    assert chat.titles == ["हिंदी", "English"]
    chat.tap(0)
    assert chat.effects == (SetLanguage(Language.HI),)


def test_writing_in_devanagari_switches_to_hindi() -> None:
    chat = Chat(context())
    chat.send("क्लिनिक कहाँ है")
    assert chat.effects == (SetLanguage(Language.HI),)
    assert chat.last.text.startswith("Sunrise Family Clinic\n12 MG Road")
    assert "फ़ोन:" in chat.last.text
    chat.send("नमस्ते")
    assert not chat.effects  # already Hindi


def test_hinglish_keeps_the_chosen_language() -> None:
    chat = Chat(context())
    chat.send("fees kitna hai")
    assert chat.effects == ()
    assert chat.last.text.startswith("Our fees:")


def test_stop_and_start_reminders() -> None:
    chat = Chat(context())
    chat.send("band karo reminders")
    assert chat.effects == (SetReminders(on=False),)
    assert "START" in chat.last.text
    chat.send("start")
    assert chat.effects == (SetReminders(on=True),)
    chat = Chat(context(language=Language.HI))
    chat.send("STOP")
    assert chat.effects == (SetReminders(on=False),)
    assert chat.last.text.startswith("ठीक है, अब आपको रिमाइंडर नहीं")


def test_an_emergency_points_to_112_and_the_clinic() -> None:
    for text, lang in (
        ("my father has severe chest pain", Language.EN),
        ("saans nahi aa rahi", Language.HI),
    ):
        chat = Chat(context(language=lang))
        chat.send(text)
        assert "112" in chat.last.text and "+911244567890" in chat.last.text
        assert chat.effects == ()
        assert chat.ids == ["menu:staff", "menu:home"]


def test_a_medical_question_gets_no_advice() -> None:
    chat = Chat(context())
    chat.send("what medicine should i take for fever")
    assert chat.last.text.startswith("Sorry, we can't give medical advice on WhatsApp.")
    assert chat.ids == ["menu:book", "menu:staff", "menu:home"]
    chat = Chat(context(language=Language.HI))
    chat.send("bukhar ke liye kaunsi dawai le")
    assert "डॉक्टरी सलाह नहीं" in chat.last.text


def test_a_stale_message_gets_an_apology_and_the_menu_not_an_action() -> None:
    ctx = context()
    for inbound in (
        Inbound("text", text="cancel my appointment", stale=True),
        Inbound("choice", choice_id="ok:doc-mehta:svc-general:202511250915", stale=True),
    ):
        turn = step(State(stage="confirm"), inbound, ctx)
        assert turn.effects == (Release(),)  # nothing done, and what was held let go
        assert turn.replies[0].text.startswith("Sorry for the delay")
        assert [c.id for c in turn.replies[0].choices] == MENU


def test_media_gets_a_polite_answer_and_the_menu() -> None:
    turn = step(None, Inbound("media", text="report.pdf"), context(language=Language.HI))
    assert turn.replies[0].text.startswith("धन्यवाद! मैं सिर्फ़")
    assert [c.id for c in turn.replies[0].choices] == MENU


def test_reactions_and_the_like_get_no_reply() -> None:
    state = State(stage="slot", service_id="svc-general", offered=("more:202511251000",))
    turn = step(state, Inbound("other"), context())
    assert turn.replies == () and turn.effects == ()
    assert turn.state == state


def test_thanks_and_no_close_politely() -> None:
    chat = Chat(context())
    chat.send("thank you")
    assert chat.last.text == "You're welcome! 😊"
    chat.send("no thanks")
    assert chat.last.text == 'Alright. Send "Hi" whenever you need us.'


def test_an_unknown_choice_id_is_read_as_its_title() -> None:
    chat = Chat(context())
    turn = step(None, Inbound("choice", text="Clinic timings", choice_id="v0:timings"), chat.ctx)
    assert turn.replies[0].text.startswith("Our doctors' hours:")
