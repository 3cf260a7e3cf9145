"""The demo clinic's WhatsApp inbox: eight patients who wrote in the last days (English,
Hindi, Hinglish), the bot's answers with their delivery ticks, one conversation handed to
staff with messages waiting, and one reminder WhatsApp could not deliver.

Each conversation is written by ``demo_whatsapp.Chat``, as the live pipeline would have
stored it. The bot's words come from its own catalogue; the bookings and cancellations
talked about are the demo's own appointments, at the moment the diary says they were made.
The coming visits of these patients have their reminders settled, so a demo started with
real WhatsApp credentials never writes to the made-up demo numbers by itself (a staff reply
or a resend still goes out: staff asked for it).
"""

from __future__ import annotations

import base64
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from clinicbot.conversation.model import Choice, Effect, HandOver, Language, Reply, SetLanguage
from clinicbot.conversation.replies import MENU_IDS, reply
from clinicbot.conversation.texts import money, say, slot_label
from clinicbot.demo_whatsapp import Chat, turn
from clinicbot.services.reminders import offsets, queue_due_reminders
from clinicbot.store import conversations
from clinicbot.store.clinics import get_clinic, list_doctors, list_services
from clinicbot.store.rows import stamp

SEED = 20_250_602
UNDELIVERABLE = {
    "code": 131026,
    "title": "Message undeliverable",
    "message": "Message undeliverable",
    "error_data": {
        "details": "Unable to deliver message. Reasons can include: the recipient phone number"
        " is not a WhatsApp phone number; the recipient has not accepted our new Terms of"
        " Service; the recipient is using an old WhatsApp version."
    },
}
SETTLED = "skipped: a demo conversation, never sent"
EN, HI = Language.EN, Language.HI


# --- the bot's words, from its own catalogue (``conversation.texts``) ----------------------


def _menu(lang: Language, text: str) -> Reply:
    choices = [Choice(choice_id, say(lang, key)) for choice_id, key in MENU_IDS]
    return reply(text, choices, say(lang, "list.menu"))


def _greeting(chat: Chat) -> Reply:
    text = say(chat.lang, "greeting", name=f" {chat.first_name}", clinic=chat.clinic.name)
    return _menu(chat.lang, text)


def _pick(lang: Language, choice_id: str) -> Choice:
    return next(Choice(i, say(lang, key)) for i, key in MENU_IDS if i == choice_id)


def _home(lang: Language) -> Choice:
    return Choice("menu:home", say(lang, "btn.menu"))


def _back(lang: Language, text: str) -> Reply:
    """An answer with a way on: Book first, then the menu."""
    return reply(text, [Choice("menu:book", say(lang, "btn.book")), _home(lang)])


@dataclass(frozen=True)
class Visit:
    """An appointment a chat talks about, with its patient."""

    id: str
    doctor_id: str
    service_id: str
    start: datetime  # clinic time
    made: datetime  # when it was booked
    changed: datetime  # its last change (a cancellation, for a cancelled one)
    patient: sqlite3.Row


class Demo:
    """The clinic, its doctors and services, and the patients and visits chats are about."""

    def __init__(self, conn: sqlite3.Connection, clinic_id: str, now: datetime) -> None:
        self.conn, self.now, self.rng = conn, now, random.Random(SEED)
        self.clinic = get_clinic(conn, clinic_id)
        self.tz = ZoneInfo(self.clinic.timezone)
        self.doctors = {d.id: d for d in list_doctors(conn, clinic_id)}
        self.services = {s.id: s for s in list_services(conn, clinic_id)}
        self.chats: list[Chat] = []

    def chat(self, patient: sqlite3.Row, lang: Language = EN) -> Chat:
        chat = Chat(self.conn, self.clinic, self.rng, patient, lang)
        self.chats.append(chat)
        return chat

    def _free(self, patient_id: str) -> bool:
        return all(c.patient["id"] != patient_id for c in self.chats)

    def _visits(self, status: str, check: Callable[[Visit], bool]) -> Visit | None:
        """The latest-made WhatsApp booking in ``status`` that passes ``check``, of a patient
        with no chat yet."""
        rows = self.conn.execute(
            "SELECT a.id AS visit, a.doctor_id, a.service_id, a.starts_at, a.created_at,"
            " a.updated_at, p.id, p.name, p.phone, p.whatsapp_name FROM appointments a"
            " JOIN patients p ON p.id = a.patient_id WHERE a.clinic_id = ?"
            " AND a.source = 'whatsapp' AND a.status = ? ORDER BY a.created_at DESC, a.id",
            [self.clinic.id, status],
        )
        for row in rows:
            visit = Visit(
                row["visit"],
                row["doctor_id"],
                row["service_id"],
                datetime.fromisoformat(row["starts_at"]).astimezone(self.tz),
                datetime.fromisoformat(row["created_at"]),
                datetime.fromisoformat(row["updated_at"]),
                row,
            )
            if self._free(row["id"]) and check(visit):
                return visit
        return None

    def booked(self, earliest: timedelta, latest: timedelta) -> Visit | None:
        """A coming visit, booked between ``earliest`` and ``latest`` ago."""
        return self._visits(
            "confirmed",
            lambda v: v.start > self.now and self.now - earliest <= v.made <= self.now - latest,
        )

    def reminded(self) -> Visit | None:
        """A visit in 3 to 22 hours, booked well before its 24-hour reminder went out."""
        return self._visits(
            "confirmed",
            lambda v: (
                timedelta(hours=3) <= v.start - self.now <= timedelta(hours=22)
                and self.now - timedelta(days=20) <= v.made <= v.start - timedelta(days=2)
            ),
        )

    def cancelled(self) -> Visit | None:
        """A visit cancelled in the last days, still hours ahead when it was."""
        return self._visits(
            "cancelled",
            lambda v: (
                self.now - timedelta(days=6) <= v.changed <= self.now - timedelta(hours=2)
                and v.start - v.changed >= timedelta(hours=3)
            ),
        )

    def regular(self, service: str = "") -> sqlite3.Row | None:
        """A patient who has come before (for ``service``, when someone has)."""
        rows = [r for r in self._regulars(service) if self._free(r["id"])]
        if not rows and service:
            return self.regular()
        return self.rng.choice(rows) if rows else None

    def _regulars(self, service: str) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT p.id, p.name, p.phone, p.whatsapp_name FROM patients p"
            " WHERE p.clinic_id = ? AND p.total_visits >= 2 AND EXISTS"
            " (SELECT 1 FROM appointments a JOIN services s ON s.id = a.service_id"
            "  WHERE a.patient_id = p.id AND a.status = 'completed' AND s.name LIKE ?)"
            " ORDER BY p.id",
            [self.clinic.id, f"%{service}%"],
        ).fetchall()


# --- the conversations ---------------------------------------------------------------------


def _chosen(choices: list[Choice], suffix: str) -> Choice:
    return next(c for c in choices if c.id.endswith(suffix))


def _listed(lang: Language, key: str, choices: list[Choice], button: str, **names: str) -> Reply:
    return reply(say(lang, key, **names), choices, say(lang, button))


def _booking(demo: Demo, chat: Chat, visit: Visit, opening: str, effect: Effect | None) -> None:
    """Hello, Book, the service, the doctor, the first time offered, Confirm: booked at the
    moment the diary says the appointment was made."""
    lang, clinic, made = chat.lang, chat.clinic, visit.made
    doctor, service = demo.doctors[visit.doctor_id], demo.services[visit.service_id]
    names = {"service": service.name, "doctor": doctor.name, "when": slot_label(visit.start, lang)}
    fee = {s.id: money(s.price) for s in demo.services.values()}
    services = [
        Choice(
            f"svc:{s.id}",
            s.name,
            say(lang, "desc.service", minutes=s.duration_minutes, price=fee[s.id]),
        )
        for s in demo.services.values()
    ]
    doctors = [Choice("doc:*", say(lang, "btn.any_doctor"), say(lang, "desc.any_doctor"))]
    doctors += [
        Choice(f"doc:{d.id}", d.name, d.specialty)
        for d in demo.doctors.values()
        if d.id in service.doctor_ids
    ]
    starts = [visit.start + timedelta(minutes=15 * n) for n in range(5)]
    times = [
        Choice(f"slot:{doctor.id}:{service.id}:{t:%Y%m%d%H%M}", slot_label(t, lang)) for t in starts
    ]
    ok = Choice("ok:" + times[0].id.removeprefix("slot:"), say(lang, "btn.confirm"))
    confirm = reply(
        say(lang, "confirm", **names, price=fee[service.id]),
        [ok, Choice("change", say(lang, "btn.change"))],
    )
    turns = [
        (88, _pick(lang, "menu:book"), _listed(lang, "ask_service", services, "list.services")),
        (
            71,
            _chosen(services, service.id),
            _listed(lang, "ask_doctor", doctors, "list.doctors", **names),
        ),
        (
            55,
            _chosen(doctors, doctor.id),
            _listed(lang, "slots_doctor", times, "list.times", **names),
        ),
        (31, times[0], confirm),
    ]
    turn(chat, made - timedelta(seconds=104), opening, _greeting(chat), effect=effect)
    for seconds, said, answer in turns:
        turn(chat, made - timedelta(seconds=seconds), said, answer, in_list=True)
    booked = say(lang, "booked", **names, clinic=clinic.name, address=clinic.address or "-")
    turn(chat, made, ok, reply(booked, [_home(lang)]))


def _reminder_failed(demo: Demo) -> Chat | None:
    """Booked on WhatsApp days ago; the 24-hour reminder (a template, the 24-hour window
    having closed) did not reach the phone. Runs first: the reminder scheduler then finds
    this patient's conversation and no other."""
    visit = demo.reminded()
    if visit is None:
        return None
    chat = demo.chat(visit.patient)
    _booking(demo, chat, visit, "Hi", None)
    due = visit.start - timedelta(hours=24, seconds=-40)
    queue_due_reminders(demo.conn, due)
    rows = demo.conn.execute(
        "SELECT id, appointment_id FROM outbox WHERE patient_id = ? AND author = 'reminder'"
        " AND status = 'queued' ORDER BY id",
        [visit.patient["id"]],
    ).fetchall()
    for row_id, appointment_id in rows:
        failed = appointment_id == visit.id
        chat.deliver(
            row_id, due, "failed" if failed else "read", error=UNDELIVERABLE if failed else None
        )
    return chat


def _waiting_for_staff(demo: Demo) -> Chat | None:
    """A mother asks for staff, then writes twice more: the bot keeps quiet."""
    patient = demo.regular("Vaccination")
    if patient is None:
        return None
    chat, at = demo.chat(patient), demo.now - timedelta(minutes=47)
    turn(chat, at, "Hi", _greeting(chat))
    staff = _pick(EN, "menu:staff")
    turn(chat, at + timedelta(seconds=21), staff, reply(say(EN, "handover")), effect=HandOver())
    chat.paused = True
    chat.says(
        demo.now - timedelta(minutes=38),
        "Meri beti ka vaccination card kho gaya hai. Kya clinic se naya card mil sakta hai?",
    )
    chat.says(demo.now - timedelta(minutes=13), "Aur uska next dose kab due hai? 🙏")
    return chat


def _booked_today(demo: Demo) -> Chat | None:
    visit = demo.booked(timedelta(hours=20), timedelta(minutes=20))
    if visit is None:
        return None
    chat = demo.chat(visit.patient)
    _booking(demo, chat, visit, "Hello", None)
    return chat


def _booked_in_hindi(demo: Demo) -> Chat | None:
    visit = demo.booked(timedelta(days=5), timedelta(hours=30))
    if visit is None:
        return None
    chat = demo.chat(visit.patient, HI)
    _booking(demo, chat, visit, "नमस्ते", SetLanguage(HI))
    return chat


def _cancelled(demo: Demo) -> Chat | None:
    visit = demo.cancelled()
    if visit is None:
        return None
    chat, at = demo.chat(visit.patient), visit.changed - timedelta(seconds=37)
    when, doctor = slot_label(visit.start, EN), demo.doctors[visit.doctor_id].name
    drop = Choice(f"drop:{visit.id}", say(EN, "btn.yes_cancel"))
    sure = reply(
        say(EN, "cancel_sure", when=when, doctor=doctor),
        [drop, Choice(f"keep:{visit.id}", say(EN, "btn.keep"))],
    )
    turn(chat, at, "Mera appointment cancel karna hai, kuch urgent kaam aa gaya", sure)
    done = _back(EN, say(EN, "cancelled", when=when, doctor=doctor))
    turn(chat, visit.changed, drop, done, read=False)
    return chat


def _report_photo(demo: Demo) -> Chat | None:
    """A photo of a lab report: the bot cannot read it, staff can."""
    patient = demo.regular()
    if patient is None:
        return None
    chat, at = demo.chat(patient), demo.now - timedelta(days=2, hours=3, minutes=12)
    image: dict[str, object] = {
        "caption": "Blood test report aa gayi hai, doctor ko dikhana hai",
        "mime_type": "image/jpeg",
        "sha256": base64.b64encode(demo.rng.randbytes(32)).decode(),
        "id": str(demo.rng.randrange(10**15, 10**16)),
    }
    chat.sends(at, "image", image)
    chat.bot(at, _menu(EN, say(EN, "media")))
    return chat


def _fever(demo: Demo) -> Chat | None:
    """A question only a doctor may answer: the bot points to a visit instead."""
    patient = demo.regular("Consultation")
    if patient is None:
        return None
    chat, at = demo.chat(patient), demo.now - timedelta(hours=3, minutes=26)
    buttons = [_pick(EN, "menu:book"), _pick(EN, "menu:staff"), _home(EN)]
    medical = reply(say(EN, "medical", phone=demo.clinic.phone or "-"), buttons)
    turn(chat, at, "Doctor sahab, 2 din se bukhar hai 101. Kaunsi dawai le sakta hoon?", medical)
    thanks = reply(say(EN, "thanks"))
    turn(chat, at + timedelta(minutes=2, seconds=9), "ok thank you", thanks, read=False)
    return chat


def _address(demo: Demo) -> Chat | None:
    patient = demo.regular()
    if patient is None:
        return None
    chat, at = demo.chat(patient), demo.now - timedelta(days=3, hours=5, minutes=41)
    clinic = demo.clinic
    turn(chat, at, "Hi", _greeting(chat))
    rows = [_pick(EN, "menu:book")] + [
        Choice(f"info:{topic}", say(EN, f"btn.{topic}"))
        for topic in ("hours", "address", "fees", "doctors")
    ]
    topics = _listed(EN, "info_menu", rows, "list.menu", clinic=clinic.name)
    turn(chat, at + timedelta(seconds=14), _pick(EN, "menu:info"), topics, in_list=True)
    text = say(
        EN, "address", clinic=clinic.name, address=clinic.address or "-", phone=clinic.phone or "-"
    )
    turn(chat, at + timedelta(seconds=26), rows[2], _back(EN, text), in_list=True)
    return chat


SCRIPTS = (
    _reminder_failed,  # first: see its docstring
    _waiting_for_staff,
    _booked_today,
    _booked_in_hindi,
    _cancelled,
    _report_photo,
    _fever,
    _address,
)
UNREAD = (_waiting_for_staff, _fever)  # staff have seen the others


def load_conversations(conn: sqlite3.Connection, clinic_id: str, now: datetime) -> int:
    """Write the demo conversations (see the module docstring); return how many."""
    demo = Demo(conn, clinic_id, now)
    for script in SCRIPTS:
        chat = script(demo)
        if chat is not None and script not in UNREAD:
            conversations.update(conn, chat.patient["id"], {"unread": 0})
    _settle_reminders(demo)
    return len(demo.chats)


def _settle_reminders(demo: Demo) -> None:
    """Every reminder of these patients' coming visits counts as done, so the scheduler
    never queues one for a made-up number."""
    now_ts, at = int(demo.now.timestamp()), stamp(demo.now)
    for chat in demo.chats:
        visits = demo.conn.execute(
            "SELECT id, start_ts FROM appointments WHERE patient_id = ? AND status = 'confirmed'"
            " AND start_ts > ?",
            [chat.patient["id"], now_ts],
        ).fetchall()
        demo.conn.executemany(
            "INSERT OR IGNORE INTO reminders (appointment_id, start_ts, minutes_before,"
            " outbox_id, outcome, created_at) VALUES (?, ?, ?, NULL, ?, ?)",
            [(v[0], v[1], m, SETTLED, at) for v in visits for m in offsets(demo.clinic)],
        )
