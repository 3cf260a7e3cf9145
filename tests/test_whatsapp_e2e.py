"""The WhatsApp channel end to end, over real HTTP: a ``clinicbot serve --demo`` process
hears signed webhooks from the local fake of Meta (tests/fakes/whatsapp.py) and answers
through the fake Graph API, while the tests read the outcome through the staff API (and a
read-only look at the SQLite file).

One server and one fake serve the whole module; every test has its own patients (fresh
WhatsApp numbers), so tests do not meet. ``tests/whatsapp_flow.py`` drives the patients:
each action waits until the bot's answers are with the fake and checks that the fake got
exactly those, nothing more.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from clinicbot.conversation.model import Language
from clinicbot.conversation.texts import EMERGENCY_NUMBERS, clock_label, money, say
from tests.fakes import FakeWhatsApp
from tests.fakes import payloads as meta
from tests.fakes.patients import Injected
from tests.whatsapp_flow import (
    MENU_IDS,
    TIMEOUT,
    Clinic,
    Patient,
    assert_menu,
    close_clinic,
    open_clinic,
    settled,
)

EN, HI = Language.EN, Language.HI
SHARMA, IYER = "Dr. Anil Sharma", "Dr. Priya Iyer"
GENERAL = "General Consultation"
WEEK = 7 * 24 * 3600

JSON = dict[str, Any]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    with FakeWhatsApp(status_delay=0.01, webhook_retry=(0.05, 0.5)) as fake:
        opened = open_clinic(tmp_path_factory.mktemp("whatsapp-e2e"), fake)
        yield opened
        close_clinic(opened)


# --- helpers -------------------------------------------------------------------------------


def starts_at(appointment: JSON) -> datetime:
    return datetime.fromisoformat(appointment["starts_at"])


def book_by_api(clinic: Clinic, patient: Patient, doctor: str, service: str) -> JSON:
    """Staff book the earliest free time for a patient who has written already."""
    at = clinic.earliest(doctor, service)
    made: JSON = clinic.post(
        "/api/v1/appointments",
        {
            "clinic_id": clinic.id,
            "doctor_id": clinic.doctor_id(doctor),
            "service_id": clinic.service_id(service),
            "patient_id": patient.id,
            "patient_name": patient.name,
            "patient_phone": patient.phone,
            "starts_at": at.isoformat(),
        },
        status=201,
    )
    return made


# --- 1. whole conversations, every intent, English and Hindi ---------------------------------


@pytest.mark.parametrize("lang", [EN, HI], ids=["english", "hindi-devanagari"])
def test_a_greeting_gets_the_clinic_and_the_menu(clinic: Clinic, lang: Language) -> None:
    patient = clinic.patient("Asha Rao")
    patient.hello(lang)
    assert patient.last.kind == "list"
    assert patient.last.sent.body["interactive"]["action"]["button"] == say(lang, "list.menu")
    record = patient.record()
    assert record["name"] == "Asha Rao" and record["whatsapp_name"] == "Asha Rao"
    assert record["phone"] == patient.phone


@pytest.mark.parametrize("lang", [EN, HI], ids=["english", "hindi-from-the-menu"])
def test_book_list_reschedule_and_cancel(clinic: Clinic, lang: Language) -> None:
    patient = clinic.patient("Rohit Verma")
    patient.hello(EN)
    if lang is HI:
        patient.choose_hindi()
    general = clinic.service_id(GENERAL)

    [services] = patient.taps("menu:book")
    assert services.text == patient.expect("ask_service") and services.kind == "list"
    assert set(services.ids) == {f"svc:{s['id']}" for s in clinic.services.values()}
    [doctors] = patient.taps(f"svc:{general}")
    assert doctors.text == patient.expect("ask_doctor", service=GENERAL)
    assert doctors.ids[0] == "doc:*"
    assert set(doctors.ids[1:]) == {
        f"doc:{clinic.doctor_id(SHARMA)}",
        f"doc:{clinic.doctor_id(IYER)}",
    }
    [times] = patient.taps(f"doc:{clinic.doctor_id(SHARMA)}")
    assert times.text == patient.expect("slots_doctor", service=GENERAL, doctor=SHARMA)
    first = clinic.earliest(SHARMA, GENERAL)
    assert times.options[0].title == patient.when(first)  # earliest first
    [confirm] = patient.taps("slot:", times)
    assert confirm.text == patient.confirm_text(GENERAL, SHARMA, first)
    assert (
        confirm.kind == "button" and confirm.ids[0].startswith("ok:") and confirm.ids[1] == "change"
    )
    [booked] = patient.taps("ok:")
    assert booked.text == patient.booked_text(GENERAL, SHARMA, first)
    appointment = patient.only_appointment()
    assert appointment["status"] == "confirmed" and appointment["source"] == "whatsapp"
    assert appointment["doctor_id"] == clinic.doctor_id(SHARMA)
    assert appointment["service_id"] == general and starts_at(appointment) == first
    assert first not in clinic.free_starts(SHARMA, GENERAL, first.date())

    [home] = patient.taps("menu:home")
    assert_menu(home, patient.greeting())
    [mine] = patient.taps("menu:mine")
    line = patient.expect("mine_line", when=patient.when(first), doctor=SHARMA, service=GENERAL)
    assert mine.text == patient.expect("mine_list", lines=line)
    assert mine.ids == [
        f"reschedule:{appointment['id']}",
        f"cancel:{appointment['id']}",
        "menu:home",
    ]

    if lang is HI:
        [moves] = patient.says("मेरा अपॉइंटमेंट बदलना है")
    else:
        [moves] = patient.taps("reschedule:")
    assert moves.text == patient.expect("move_intro", when=patient.when(first), doctor=SHARMA)
    later = clinic.earliest(SHARMA, GENERAL)  # the booked time is not free any more
    assert later != first and moves.options[0].title == patient.when(later)
    [sure] = patient.taps("move:", moves)
    old, new = patient.when(first), patient.when(later)
    assert sure.text == patient.expect("move_confirm", doctor=SHARMA, old=old, new=new)
    assert sure.ids[0].startswith("moveok:")
    [moved] = patient.taps("moveok:")
    assert moved.text == patient.expect("moved", doctor=SHARMA, when=new)
    appointment = patient.only_appointment()
    assert starts_at(appointment) == later and appointment["status"] == "confirmed"
    assert first in clinic.free_starts(SHARMA, GENERAL, first.date())  # freed at once

    keep, drop = f"keep:{appointment['id']}", f"drop:{appointment['id']}"
    if lang is EN:  # the menu's "Cancel appointment", then "Keep it"
        [sure] = patient.taps("menu:cancel")
        assert sure.text == patient.expect("cancel_sure", when=new, doctor=SHARMA)
        [kept] = patient.taps(keep, sure)
        assert kept.text == patient.expect("kept", when=new) and kept.ids == ["menu:home"]
        assert patient.only_appointment()["status"] == "confirmed"
    [sure] = patient.says("मेरा अपॉइंटमेंट रद्द करें" if lang is HI else "cancel my appointment")
    assert sure.text == patient.expect("cancel_sure", when=new, doctor=SHARMA)
    assert sure.ids == [drop, keep]
    [cancelled] = patient.taps("drop:")
    assert cancelled.text == patient.expect("cancelled", when=new, doctor=SHARMA)
    assert cancelled.ids == ["menu:book", "menu:home"]
    assert patient.only_appointment()["status"] == "cancelled"
    assert patient.record()["total_cancellations"] == 1
    [none] = patient.says("मेरे अपॉइंटमेंट" if lang is HI else "my appointments")
    assert none.text == patient.expect("mine_none")
    assert patient.conversation()["language"] == lang.value


def test_book_in_free_text_with_a_doctor_and_a_time(clinic: Clinic) -> None:
    patient = clinic.patient("Meera Joshi")
    [which] = patient.says("book with Dr Sharma tomorrow 11am")
    assert which.text == patient.expect("ask_service_doctor", doctor=SHARMA)
    sharma = clinic.doctor_id(SHARMA)
    offered = {f"svc:{s['id']}" for s in clinic.services.values() if sharma in s["doctor_ids"]}
    assert set(which.ids) == offered
    wanted = clinic.tomorrow_at(11)
    free = wanted in clinic.free_starts(SHARMA, GENERAL, wanted.date())
    [answer] = patient.taps(f"svc:{clinic.service_id(GENERAL)}")
    if not free:  # the nearest free times instead; the patient takes the first
        assert answer.kind == "list" and answer.ids[0].startswith(f"slot:{sharma}:")
        [answer] = patient.takes_first()
    doctor, service, at = clinic.read_choice(answer.option("ok:").id)
    assert (doctor, service) == (SHARMA, GENERAL)
    assert at == wanted or not free
    assert answer.text == patient.confirm_text(GENERAL, SHARMA, at)
    [booked] = patient.taps("ok:")
    assert booked.text == patient.booked_text(GENERAL, SHARMA, at)
    appointment = patient.only_appointment()
    assert appointment["doctor_id"] == sharma and starts_at(appointment) == at


def test_book_in_hinglish_kal_shaam_5_baje(clinic: Clinic) -> None:
    patient = clinic.patient("Sunita Patil")
    patient.hello(EN)
    patient.choose_hindi()
    [which] = patient.says("kal shaam 5 baje")  # Latin letters keep the chosen Hindi
    assert which.text == patient.expect("ask_service")
    wanted = clinic.tomorrow_at(17)
    free = any(wanted in clinic.free_starts(d, GENERAL, wanted.date()) for d in (SHARMA, IYER))
    [answer] = patient.taps(f"svc:{clinic.service_id(GENERAL)}")
    if not free:
        assert answer.kind == "list"
        [answer] = patient.takes_first()
    doctor, service, at = clinic.read_choice(answer.option("ok:").id)
    assert service == GENERAL and (at == wanted or not free)
    assert answer.text == patient.confirm_text(GENERAL, doctor, at)
    [booked] = patient.taps("ok:")
    assert booked.text == patient.booked_text(GENERAL, doctor, at)
    assert "बुक हो गया" in booked.text
    appointment = patient.only_appointment()
    assert appointment["doctor_id"] == clinic.doctor_id(doctor) and starts_at(appointment) == at


@pytest.mark.parametrize("lang", [EN, HI])
def test_clinic_info_hours_address_fees_doctors(clinic: Clinic, lang: Language) -> None:
    patient = clinic.patient()
    patient.hello(lang)
    [topics] = patient.taps("menu:info")
    assert topics.text == patient.expect("info_menu", clinic=clinic.info["name"])
    assert topics.ids == ["menu:book", "info:hours", "info:address", "info:fees", "info:doctors"]
    [hours] = patient.taps("info:hours")
    intro, *blocks = hours.text.split("\n\n")
    assert intro == patient.expect("hours_intro")
    for doctor in clinic.doctors.values():  # each doctor's week, with every span of it
        [block] = [b for b in blocks if b.startswith(f"{doctor['name']} ({doctor['specialty']})")]
        week = clinic.get("/api/v1/working-hours", doctor_id=doctor["id"])
        for span in week:
            start_, end = (
                clock_label(datetime.strptime(span[k], "%H:%M").time())
                for k in ("start_time", "end_time")
            )
            assert f"{start_}–{end}" in block
    assert hours.ids == ["menu:book", "menu:home"]  # a way on, never a dead end

    info = clinic.info
    address = patient.expect(
        "address", clinic=info["name"], address=info["address"], phone=info["phone"]
    )
    fee_lines = {
        patient.expect(
            "fee_line",
            service=s["name"],
            minutes=s["duration_minutes"],
            price=money(float(s["price"])),
        )
        for s in clinic.services.values()
    }
    doctor_lines = {
        patient.expect("doctor_line", doctor=d["name"], specialty=d["specialty"])
        for d in clinic.doctors.values()
    }
    asks = {
        EN: ("where is the clinic? address", "how much are your fees", "which doctors do you have"),
        HI: ("क्लिनिक का पता", "फीस कितनी है", "डॉक्टर कौन हैं"),
    }[lang]
    [where] = patient.says(asks[0])
    assert where.text == address
    [fees] = patient.says(asks[1])
    first, *lines = fees.text.split("\n")
    assert first == patient.expect("fees_intro") and set(lines) == fee_lines
    [doctors] = patient.says(asks[2])
    first, *lines = doctors.text.split("\n")
    assert first == patient.expect("doctors_intro") and set(lines) == doctor_lines
    for answer in (where, fees, doctors):
        assert answer.ids == ["menu:book", "menu:home"]
    assert patient.appointments() == []


@pytest.mark.parametrize("lang", [EN, HI])
def test_talk_to_staff_pauses_the_bot_until_handed_back(clinic: Clinic, lang: Language) -> None:
    patient = clinic.patient("Kiran Desai")
    patient.hello(lang)
    [handover] = patient.says("स्टाफ से बात करनी है" if lang is HI else "I want to talk to a person")
    assert handover.text == patient.expect("handover") and handover.kind == "text"
    assert patient.conversation()["bot_paused"] is True
    book = patient.choice("menu:book")
    waiting = [
        clinic.fake.patient_says(patient.wa_id, "hello?"),
        clinic.fake.patient_taps(patient.wa_id, book.id, book.title, list=True),
    ]
    for message in waiting:
        assert patient.turn(message) == []  # the bot stays quiet, even for a tap
        assert patient.outcome(message.wamid) == "paused"
    inbound = [m["text"] for m in patient.thread()["messages"] if m["direction"] == "in"]
    assert inbound[-2:] == ["hello?", book.title]  # staff see what the patient wrote
    paused = clinic.get("/api/v1/conversations", clinic_id=clinic.id, paused=True, limit=500)
    assert patient.id in {c["patient_id"] for c in paused}

    text = "Namaste Kiran, this is Meena from the front desk. How can I help?"
    sent = clinic.post(f"/api/v1/conversations/{patient.id}/reply", {"text": text}, status=201)
    assert sent["author"] == "staff" and sent["direction"] == "out"
    patient.receives(text)
    back = clinic.post(f"/api/v1/conversations/{patient.id}/handback")
    assert back["bot_paused"] is False
    [hello] = patient.says("hi")
    assert_menu(hello, patient.greeting())


def test_hindi_written_in_devanagari_is_remembered_and_can_be_switched_back(clinic: Clinic) -> None:
    patient = clinic.patient("Pooja Kulkarni")
    patient.hello(HI)  # "नमस्ते": answered in Hindi, and Hindi is kept
    [again] = patient.says("hello")  # a new conversation, in Latin letters
    assert_menu(again, patient.greeting())
    [media] = patient.sends("image")
    assert_menu(media, patient.expect("media"))
    [asked] = patient.taps("menu:language")
    assert asked.text == say(HI, "language_ask") and asked.ids == ["lang:en", "lang:hi"]
    patient.lang = EN
    [done] = patient.taps("lang:en")
    assert_menu(done, patient.expect("language_set"))
    [hello] = patient.says("namaste")  # Hinglish keeps the chosen English
    assert_menu(hello, patient.greeting())
    assert patient.conversation()["language"] == "en"


@pytest.mark.parametrize("lang", [EN, HI])
def test_stop_turns_reminders_off_and_start_on_again(clinic: Clinic, lang: Language) -> None:
    patient = clinic.patient()
    patient.hello(lang)
    [stopped] = patient.says("रिमाइंडर मत भेजो" if lang is HI else "STOP")
    assert stopped.text == patient.expect("stopped") and stopped.ids == ["menu:home"]
    assert patient.conversation()["reminders_off"] is True
    [started] = patient.says("START")
    assert started.text == patient.expect("started")
    assert patient.conversation()["reminders_off"] is False


@pytest.mark.parametrize("lang", [EN, HI])
def test_anything_else_gets_the_menu_again(clinic: Clinic, lang: Language) -> None:
    patient = clinic.patient()
    patient.hello(lang)
    gibberish = "ठठठ झझझ" if lang is HI else "asdkjh qwe zzz"
    [lost] = patient.says(gibberish)
    assert_menu(lost, patient.expect("didnt_get"))
    patient.taps("menu:book")  # in the middle of a booking, too
    [lost] = patient.says(gibberish)
    assert_menu(lost, patient.expect("didnt_get"))
    [bye] = patient.says("no")
    assert bye.text == patient.expect("bye")  # and "Hi" brings the menu back
    [back] = patient.says("hi")
    assert_menu(back, patient.greeting())


@pytest.mark.parametrize("lang", [EN, HI])
def test_an_emergency_is_pointed_to_emergency_services_without_advice(
    clinic: Clinic, lang: Language
) -> None:
    patient = clinic.patient()
    patient.hello(lang)
    number = EMERGENCY_NUMBERS[clinic.info["country"]]
    urgent = {
        EN: "My father is unconscious, which medicine should I give him?",
        HI: "इमरजेंसी है, पापा बेहोश हो गए",
    }[lang]
    [help_] = patient.says(urgent)
    assert help_.text == patient.expect("emergency", number=number, phone=clinic.info["phone"])
    assert help_.ids == ["menu:staff", "menu:home"]
    [advice] = patient.says("बुखार की दवाई बताओ" if lang is HI else "what medicine for fever?")
    assert advice.text == patient.expect("medical", phone=clinic.info["phone"])
    assert advice.ids == ["menu:book", "menu:staff", "menu:home"]
    assert patient.appointments() == []


def test_a_username_user_without_a_phone_number_is_answered_by_their_user_id(
    clinic: Clinic,
) -> None:
    bsuid = f"IN.{uuid.uuid4().int % 10**19:019d}"
    patient = Patient(clinic, bsuid, "Username User")
    only_id: JSON = {"user_id": bsuid, "omit_wa_id": True}  # no wa_id: a 2026 username
    [hello] = patient.says("Hi", **only_id)
    assert_menu(hello, patient.greeting())
    assert (hello.sent.recipient, hello.sent.to) == (bsuid, None)
    [services] = patient.taps("menu:book", **only_id)
    assert services.text == patient.expect("ask_service")
    record = clinic.row(
        "SELECT * FROM patients WHERE clinic_id = ? AND phone = ?", clinic.id, bsuid
    )
    assert record is not None and record["name"] == "Username User"


# --- 2. always the first option ---------------------------------------------------------------


@pytest.mark.parametrize("lang", [EN, HI])
def test_taking_the_first_option_books_within_eight_messages(
    clinic: Clinic, lang: Language
) -> None:
    patient = clinic.patient()
    patient.hello(lang)
    sent = 1
    while not patient.appointments():
        assert sent < 8, f"no booking after {sent} messages: {patient.last.text!r}"
        patient.takes_first()
        sent += 1
    print(f"\n{lang.value}: booked after {sent} messages")
    appointment = patient.only_appointment()
    assert appointment["status"] == "confirmed"
    doctor, service, at = clinic.read_choice(patient.history[-2].option("ok:").id)
    assert starts_at(appointment) == at
    assert patient.last.text == patient.booked_text(service, doctor, at)


# --- 3. duplicates, reordering, week-old redeliveries ---------------------------------------


def test_the_same_webhook_twice_and_a_batch_with_a_duplicate_get_one_reply(
    clinic: Clinic,
) -> None:
    fake, patient = clinic.fake, clinic.patient()
    hello = fake.patient_says(patient.wa_id, "Hi", name=patient.name, duplicate=True)
    [answer] = patient.turn(hello)
    assert_menu(answer, patient.greeting())
    assert hello.delivery is not None
    twice = [d for d in fake.deliveries if d.raw == hello.delivery.raw]
    assert len(twice) == 2
    for delivery in twice:
        delivery.wait(TIMEOUT)  # both acknowledged with 200
    late = fake.post_webhook(hello.delivery.body, "message")  # Meta retries, much later
    assert late.raw == hello.delivery.raw and late.wait(TIMEOUT) == 200

    wamid = meta.new_wamid()
    with fake.batch():
        for _ in range(2):
            fake.patient_says(patient.wa_id, "fees?", name=patient.name, wamid=wamid)
    [fees] = patient.turn(Injected(wamid, None))
    assert fees.text.startswith(say(EN, "fees_intro"))

    [address] = patient.says("address")  # processed after everything above
    assert address.text.startswith(clinic.info["name"])
    stored = clinic.db.execute(
        "SELECT count(*) FROM inbound_messages WHERE sender = ?", [patient.wa_id]
    ).fetchone()[0]
    assert stored == 3 and patient.conversation()["unread"] == 3
    assert len(fake.messages_to(patient.wa_id)) == 3  # one answer each, no more
    directions = [m["direction"] for m in patient.thread()["messages"]]
    assert sorted(directions) == ["in"] * 3 + ["out"] * 3


def test_messages_delivered_out_of_order_are_answered_in_whatsapp_order(
    clinic: Clinic,
) -> None:
    fake, patient = clinic.fake, clinic.patient()
    now = int(time.time())
    [hello] = patient.says("Hi", timestamp=now - 60)
    assert hello.ids == MENU_IDS
    # One webhook carries both, the later one first: "1" answers the question that
    # "book with Dr Sharma" makes the bot ask, so only the right order books with him.
    with fake.batch() as batch:
        fake.patient_says(patient.wa_id, "1", name=patient.name, timestamp=now - 5)
        fake.patient_says(
            patient.wa_id, "book with Dr Sharma", name=patient.name, timestamp=now - 20
        )
    later, earlier = batch
    [which], [times] = patient.turns(earlier, later)
    assert which.text == patient.expect("ask_service_doctor", doctor=SHARMA)
    first_service = clinic.service_name(which.ids[0].removeprefix("svc:"))
    assert times.text == patient.expect("slots_doctor", service=first_service, doctor=SHARMA)
    assert all(i.startswith(f"slot:{clinic.doctor_id(SHARMA)}:") for i in times.ids if "slot:" in i)
    sent = fake.messages_to(patient.wa_id)
    assert [s.wamid for s in sent[-2:]] == [which.sent.wamid, times.sent.wamid]
    inbound = [m for m in patient.thread()["messages"] if m["direction"] == "in"]
    assert [m["text"] for m in inbound] == ["Hi", "book with Dr Sharma", "1"]


def test_a_week_old_redelivery_gets_the_apology_and_acts_on_nothing(clinic: Clinic) -> None:
    patient = clinic.patient()
    patient.hello(EN)
    appointment = book_by_api(clinic, patient, SHARMA, GENERAL)
    [sure] = patient.says("cancel my appointment")
    assert sure.ids == [f"drop:{appointment['id']}", f"keep:{appointment['id']}"]
    # Meta finally delivers a tap on "Yes, cancel" made a week ago.
    [sorry] = patient.taps("drop:", sure, age=WEEK)
    assert_menu(sorry, patient.expect("stale"))
    [old_text] = patient.says("cancel it", age=WEEK)
    assert_menu(old_text, patient.expect("stale"))
    assert patient.only_appointment()["status"] == "confirmed"
    assert patient.record()["total_cancellations"] == 0
    [sure] = patient.says("cancel my appointment")  # today's wish is still acted on
    [done] = patient.taps("drop:", sure)
    assert patient.only_appointment()["status"] == "cancelled"
    when = patient.when(starts_at(appointment))
    assert done.text == patient.expect("cancelled", when=when, doctor=SHARMA)


# --- 4. signatures -----------------------------------------------------------------------------


def test_a_bad_signature_is_refused_and_nothing_is_stored(clinic: Clinic) -> None:
    fake, patient = clinic.fake, clinic.patient()
    wamid = meta.new_wamid()
    item = meta.message(
        wa_id=patient.wa_id,
        user_id=None,
        wamid=wamid,
        timestamp=int(time.time()),
        type="text",
        content={"body": "cancel all my appointments"},
    )
    metadata = {
        "display_phone_number": fake.display_phone_number,
        "phone_number_id": fake.phone_number_id,
    }
    body = meta.envelope(
        fake.waba_id,
        metadata,
        {"contacts": [meta.contact(patient.wa_id, None, "Mallory")], "messages": [item]},
    )
    raw = meta.wire(body)
    attempts = [
        (None, 401),  # no signature at all
        (meta.sign("not-the-app-secret", raw), 403),
        (meta.sign(fake.app_secret, raw + b" "), 403),  # signed a different body
        ("sha256=" + "0" * 64, 403),
        (meta.sign(fake.app_secret, raw).removeprefix("sha256="), 403),
    ]
    for signature, refused in attempts:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        answer = httpx.post(
            clinic.server.webhook_url, content=raw, headers=headers, timeout=TIMEOUT
        )
        assert answer.status_code == refused, (signature, answer.text)
        assert clinic.inbound(wamid) is None
    [hello] = patient.says("Hi")  # the same patient, signed properly: only this is answered
    assert_menu(hello, patient.greeting())
    assert clinic.inbound(wamid) is None
    assert [m["text"] for m in patient.thread()["messages"] if m["direction"] == "in"] == ["Hi"]
    assert patient.record()["name"] == patient.name  # not "Mallory"


# --- 5. the conversations API and the simulator, over HTTP ------------------------------------


def test_the_inbox_lists_threads_with_unread_counts_and_delivery_status(clinic: Clinic) -> None:
    fake, patient = clinic.fake, clinic.patient("Kavya Nair")
    [hello] = patient.says("Hi")
    [fees] = patient.says("fees?")
    listed = clinic.get("/api/v1/conversations", clinic_id=clinic.id, limit=500)
    stamps = [c["last_message_at"] for c in listed]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    line = next(c for c in listed if c["patient_id"] == patient.id)
    assert line["last_message_at"] == stamps[0]
    assert (line["patient_name"], line["phone"], line["unread"]) == ("Kavya Nair", patient.phone, 2)
    assert line["bot_paused"] is False and line["simulated"] is False

    thread = patient.thread()
    assert thread["window_open"] is True
    inbound = [m["text"] for m in thread["messages"] if m["direction"] == "in"]
    outbound = [m for m in thread["messages"] if m["direction"] == "out"]
    assert inbound == ["Hi", "fees?"]
    assert [m["id"] for m in outbound] == [clinic.outbox_id(a) for a in (hello, fees)]
    assert outbound[0]["text"].startswith(hello.text + "\n\n1. ")  # the choices, numbered
    assert outbound[1]["text"].startswith(fees.text + "\n\n1. ")
    assert {m["author"] for m in outbound} == {"bot"}
    for answer in (hello, fees):  # the fake's own sent → delivered → read
        patient.wait_for_status(clinic.outbox_id(answer), "read")
    statuses = clinic.db.execute(
        "SELECT status FROM message_statuses WHERE wa_message_id = ?", [fees.sent.wamid]
    ).fetchall()
    assert {s[0] for s in statuses} == {"sent", "delivered", "read"}

    # Step by step: the fake holds its statuses back, the test sends them one at a time.
    statuses_before, fake.statuses = fake.statuses, ()
    try:
        [where] = patient.says("address")
    finally:
        fake.statuses = statuses_before
    row = clinic.outbox_id(where)
    assert patient.wait_for_status(row, "sent")["error"] is None
    fake.emit_status(where.sent.wamid, "delivered").wait(TIMEOUT)
    patient.wait_for_status(row, "delivered")
    fake.emit_status(where.sent.wamid, "read").wait(TIMEOUT)
    patient.wait_for_status(row, "read")
    fake.emit_status(where.sent.wamid, "sent").wait(TIMEOUT)  # late and out of order
    assert patient.wait_for_status(row, "read")  # never backwards

    assert patient.conversation()["unread"] == 3
    read = clinic.post(f"/api/v1/conversations/{patient.id}/read")
    assert read["unread"] == 0
    listed = clinic.get("/api/v1/conversations", clinic_id=clinic.id, limit=500)
    assert next(c for c in listed if c["patient_id"] == patient.id)["unread"] == 0

    taken = clinic.post(f"/api/v1/conversations/{patient.id}/takeover")
    assert taken["bot_paused"] is True
    quiet = fake.patient_says(patient.wa_id, "is anyone there?")
    assert patient.turn(quiet) == [] and patient.outcome(quiet.wamid) == "paused"
    assert patient.conversation()["unread"] == 1  # for staff to read
    assert clinic.post(f"/api/v1/conversations/{patient.id}/handback")["bot_paused"] is False
    [menu] = patient.says("menu")
    assert menu.ids == MENU_IDS


def test_a_staff_reply_takes_over_and_needs_the_24_hour_window(clinic: Clinic) -> None:
    patient = clinic.patient("Farah Khan")
    patient.hello(EN)
    text = "Hello Farah, your report is ready at the front desk."
    sent = clinic.post(f"/api/v1/conversations/{patient.id}/reply", {"text": text}, status=201)
    assert (sent["author"], sent["status"], sent["text"]) == ("staff", "queued", text)
    patient.receives(text)
    conversation = patient.conversation()
    assert conversation["bot_paused"] is True and conversation["unread"] == 0
    quiet = clinic.fake.patient_says(patient.wa_id, "thank you!")
    assert patient.turn(quiet) == [] and patient.outcome(quiet.wamid) == "paused"
    patient.wait_for_status(sent["id"], "read")

    # A patient whose only message is 25 hours old (Meta kept retrying): too late to write.
    late = clinic.patient("Late Lata")
    [sorry] = late.says("Hi", age=25 * 3600)
    assert_menu(sorry, late.expect("stale"))
    failed = late.wait_for_status(clinic.outbox_id(sorry), "failed")
    assert "24 hours" in failed["error"]  # WhatsApp's 131047, in words staff read
    refused = clinic.api.post(f"/api/v1/conversations/{late.id}/reply", json={"text": "Hello?"})
    assert refused.status_code == 409, refused.text
    assert late.thread()["window_open"] is False
    assert late.conversation()["bot_paused"] is False
    late.check_fake()  # nothing more went out


def simulated_turn(clinic: Clinic, who: str, **message: str) -> list[JSON]:
    """A simulated patient's message; the bot's answers once it has been processed."""
    posted = clinic.post(
        "/api/v1/simulator/messages",
        {"clinic_id": clinic.id, "patient": who, "name": "Sim Sanjay", **message},
        status=201,
    )

    def answered() -> list[JSON] | None:
        chat: list[JSON] = clinic.get(
            "/api/v1/simulator/messages", clinic_id=clinic.id, patient=who, limit=500
        )
        mine = next((i for i, e in enumerate(chat) if e["id"] == posted["id"]), None)
        if mine is None or chat[mine]["status"] is None:
            return None
        return [e for e in chat[mine + 1 :] if e["direction"] == "out"]

    return settled(answered, f"the simulator's answer to {message}")


def test_the_simulator_books_through_the_same_pipeline_and_stays_out_of_statistics(
    clinic: Clinic,
) -> None:
    stats_path = f"/api/v1/patients/stats/clinic/{clinic.id}"
    before = clinic.get(stats_path)
    accepted_before = len(clinic.fake.accepted)
    [menu] = simulated_turn(clinic, "e2e", text="Hi")
    assert menu["text"].startswith(say(EN, "greeting", name=" Sim", clinic=clinic.info["name"]))
    rows = menu["payload"]["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == MENU_IDS
    answers = [menu]
    for _ in range(7):  # always the first option, as a simulated patient taps it
        if "✅" in answers[-1]["text"]:
            break
        inner = answers[-1]["payload"]["interactive"]
        first = (
            inner["action"]["buttons"][0]["reply"]["id"]
            if inner["type"] == "button"
            else inner["action"]["sections"][0]["rows"][0]["id"]
        )
        answers = simulated_turn(clinic, "e2e", choice_id=first)
    assert "✅" in answers[-1]["text"]

    simulated = clinic.db.execute(
        "SELECT id, patient_id FROM appointments WHERE clinic_id = ? AND simulated = 1", [clinic.id]
    ).fetchall()
    assert len(simulated) == 1
    appointment = clinic.get(f"/api/v1/appointments/{simulated[0]['id']}")
    assert appointment["simulated"] is True and appointment["status"] == "confirmed"
    assert clinic.get(f"/api/v1/patients/{simulated[0]['patient_id']}")["simulated"] is True
    listed = clinic.get("/api/v1/conversations", clinic_id=clinic.id, limit=500)
    assert [c["simulated"] for c in listed if c["patient_id"] == simulated[0]["patient_id"]] == [
        True
    ]
    after = clinic.get(stats_path)
    for key in ("total_patients", "new_patients_this_month", "total_appointments"):
        assert after[key] == before[key], key
    assert len(clinic.fake.accepted) == accepted_before  # nothing went to Meta

    cleared = clinic.api.delete("/api/v1/simulator", params={"clinic_id": clinic.id})
    assert cleared.status_code == 200 and cleared.json() == {"patients_removed": 1}
    assert clinic.get("/api/v1/simulator/messages", clinic_id=clinic.id, patient="e2e") == []
    assert clinic.api.get(f"/api/v1/appointments/{simulated[0]['id']}").status_code == 404
    assert clinic.get(stats_path)["total_appointments"] == before["total_appointments"]


# --- 6. what the bot cannot read ----------------------------------------------------------------


@pytest.mark.parametrize("lang", [EN, HI])
def test_files_voice_notes_locations_and_unsupported_messages_get_the_menu(
    clinic: Clinic, lang: Language
) -> None:
    patient = clinic.patient()
    patient.hello(lang)
    for kind in ("image", "audio", "location", "sticker", "document", "video", "unsupported"):
        [answer] = patient.sends(kind)
        assert_menu(answer, patient.expect("media"))
    texts = [m["text"] for m in patient.thread()["messages"] if m["direction"] == "in"]
    assert texts[1:] == [
        "[image] my referral letter",
        "[audio]",
        "[location]",
        "[sticker]",
        "[document]",
        "[video]",
        "[unsupported]",
    ]
    # A reaction (a thumbs-up on the bot's message) is not a question: it needs no answer.
    reaction = clinic.fake.patient_sends(
        patient.wa_id, "reaction", {"message_id": patient.last.sent.wamid, "emoji": "👍"}
    )
    assert patient.turn(reaction) == []
    [hello] = patient.says("hi")
    assert_menu(hello, patient.greeting())
