"""Patients chatting with a real ``clinicbot serve --demo`` process through the local fake of
Meta's Graph API, over the real wire: signed webhooks in, Graph API calls out.

``Clinic`` is the running server, its fake and a read-only view of its SQLite file;
``Patient`` is one WhatsApp user (a fresh number each). A patient's action returns the bot's
``Answer``s to it, once the turn is over: the inbound message processed and every reply it
caused handed to the fake (accepted, or refused for good). Each turn also checks that the
fake got exactly those replies for the patient and nothing else, and that the patient's
message was marked as read. Nothing here sleeps to wait: it polls the database.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx

from clinicbot.conversation.model import Language
from clinicbot.conversation.texts import LANGUAGE_TITLES, money, say, slot_label
from tests.conftest import RunningServer, start_server
from tests.fakes import FakeWhatsApp
from tests.fakes.patients import Injected
from tests.fakes.records import Sent

JSON = dict[str, Any]
T = TypeVar("T")
TIMEOUT = 20.0  # generous: the machine is shared with other test runs
MENU = [  # the main menu: choice ids and the catalogue keys of their titles, Book first
    ("menu:book", "btn.book"),
    ("menu:mine", "btn.mine"),
    ("menu:reschedule", "btn.reschedule"),
    ("menu:cancel", "btn.cancel"),
    ("menu:info", "btn.info"),
    ("menu:staff", "btn.staff"),
    ("menu:language", "btn.language"),
]
MENU_IDS = [choice_id for choice_id, _ in MENU]
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Option:
    """One choice of a bot message, as WhatsApp shows it."""

    id: str
    title: str
    in_list: bool
    description: str | None = None


@dataclass(frozen=True)
class Answer:
    """One message the fake Graph API accepted for a patient."""

    sent: Sent

    @property
    def text(self) -> str:
        return self.sent.text

    @property
    def kind(self) -> str:
        """The message's shape: "text", "button" (reply buttons) or "list"."""
        if self.sent.type != "interactive":
            return self.sent.type
        return str(self.sent.body["interactive"]["type"])

    @property
    def options(self) -> list[Option]:
        if self.sent.type != "interactive":
            return []
        inner = self.sent.body["interactive"]
        if inner["type"] == "button":
            return [
                Option(b["reply"]["id"], b["reply"]["title"], False)
                for b in inner["action"]["buttons"]
            ]
        return [
            Option(r["id"], r["title"], True, r.get("description"))
            for s in inner["action"]["sections"]
            for r in s["rows"]
        ]

    @property
    def ids(self) -> list[str]:
        return [o.id for o in self.options]

    def option(self, prefix: str) -> Option:
        """The first option whose id is ``prefix`` or starts with it."""
        for found in self.options:
            if found.id == prefix or found.id.startswith(prefix):
                return found
        raise AssertionError(f"no option {prefix!r} in {self.ids} ({self.text!r})")


def settled(predicate: Callable[[], T | None], what: str, timeout: float = TIMEOUT) -> T:
    """Wait until ``predicate()`` is not None (an empty list counts) and return it."""
    box: list[T] = []

    def ready() -> bool:
        value = predicate()
        if value is None:
            return False
        box.append(value)
        return True

    FakeWhatsApp.wait_for(ready, timeout, what=what)
    return box[-1]


@dataclass
class Clinic:
    """The demo clinic, served by a real process that talks to ``fake``."""

    server: RunningServer
    fake: FakeWhatsApp
    api: httpx.Client
    db: sqlite3.Connection
    id: str
    info: JSON
    doctors: dict[str, JSON]  # by name: "Dr. Anil Sharma"
    services: dict[str, JSON]  # by name: "General Consultation"
    taken_phones: set[str] = field(default_factory=set)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(str(self.info["timezone"]))

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def patient(self, name: str = "Test Patient") -> Patient:
        """A new WhatsApp user, never one of the demo clinic's patients."""
        while True:
            wa_id = f"9170{next(_numbers):08d}"
            if "+" + wa_id not in self.taken_phones:
                return Patient(self, wa_id, name)

    def get(self, path: str, **params: str | int | bool) -> Any:
        answer = self.api.get(path, params=params)
        assert answer.status_code == 200, (path, answer.status_code, answer.text)
        return answer.json()

    def post(self, path: str, body: JSON | None = None, status: int = 200) -> Any:
        answer = self.api.post(path, json=body)
        assert answer.status_code == status, (path, answer.status_code, answer.text)
        return answer.json()

    def free_starts(self, doctor: str, service: str, day: date) -> list[datetime]:
        """What the slots API says is free: the clinic-local starts."""
        found = self.get(
            f"/api/v1/doctors/{self.doctors[doctor]['id']}/slots",
            date=day.isoformat(),
            service_id=self.services[service]["id"],
        )
        return [datetime.fromisoformat(s["start"]).astimezone(self.tz) for s in found]

    def earliest(self, doctor: str, service: str) -> datetime:
        """The first free time the slots API knows for ``doctor`` and ``service``."""
        today = self.now().date()
        for offset in range(int(self.info["horizon_days"]) + 1):
            starts = self.free_starts(doctor, service, today + timedelta(days=offset))
            if starts:
                return starts[0]
        raise AssertionError(f"{doctor} has no free time for {service}")

    def tomorrow_at(self, hour: int) -> datetime:
        day = self.now().date() + timedelta(days=1)
        return datetime(day.year, day.month, day.day, hour, tzinfo=self.tz)

    def doctor_id(self, name: str) -> str:
        return str(self.doctors[name]["id"])

    def service_id(self, name: str) -> str:
        return str(self.services[name]["id"])

    def service_name(self, service_id: str) -> str:
        return next(name for name, s in self.services.items() if s["id"] == service_id)

    def read_choice(self, choice_id: str) -> tuple[str, str, datetime]:
        """Doctor name, service name and clinic-local start of a "slot:"/"ok:" choice."""
        _, doctor, service, stamp = choice_id.split(":")
        at = datetime.strptime(stamp, "%Y%m%d%H%M").replace(tzinfo=self.tz)
        doctors = {d["id"]: name for name, d in self.doctors.items()}
        return doctors[doctor], self.service_name(service), at

    def row(self, sql: str, *args: object) -> sqlite3.Row | None:
        found: sqlite3.Row | None = self.db.execute(sql, args).fetchone()
        return found

    def inbound(self, wamid: str) -> sqlite3.Row | None:
        return self.row("SELECT * FROM inbound_messages WHERE wa_message_id = ?", wamid)

    def outbox_id(self, answer: Answer) -> str:
        """The outbox row that carried ``answer`` (its id, as the thread shows it)."""
        row = self.row("SELECT id FROM outbox WHERE wa_message_id = ?", answer.sent.wamid)
        assert row is not None
        return str(row["id"])

    def answers_to(self, wamid: str) -> list[Answer] | None:
        """The replies to one inbound message once all are with the fake; else None."""
        message = self.inbound(wamid)
        if message is None or message["processed_at"] is None:
            return None
        rows = self.db.execute(
            "SELECT kind, status, wa_message_id FROM outbox"
            " WHERE in_reply_to = ? OR key = ? ORDER BY id",
            [wamid, f"read:{wamid}"],
        ).fetchall()
        if any(r["status"] in ("queued", "sending") for r in rows):
            return None
        return [
            Answer(self.fake.sent(r["wa_message_id"]))
            for r in rows
            if r["kind"] != "read" and r["wa_message_id"]
        ]


def open_clinic(data_dir: Path, fake: FakeWhatsApp) -> Clinic:
    """``clinicbot serve --demo`` pointed at ``fake``; close it with ``close_clinic``."""
    server = start_server(data_dir, "--demo", env=fake.env())
    fake.webhook_url = server.webhook_url
    api = server.client()
    db = sqlite3.connect(f"file:{data_dir / 'clinicbot.db'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    [info] = api.get("/api/v1/clinics").json()
    doctors = api.get("/api/v1/doctors", params={"clinic_id": info["id"]}).json()
    services = api.get("/api/v1/services", params={"clinic_id": info["id"]}).json()
    clinic = Clinic(
        server,
        fake,
        api,
        db,
        info["id"],
        info,
        {d["name"]: d for d in doctors},
        {s["name"]: s for s in services},
    )
    phones = db.execute("SELECT phone FROM patients WHERE clinic_id = ?", [clinic.id])
    clinic.taken_phones = {r[0] for r in phones}
    return clinic


def close_clinic(clinic: Clinic) -> None:
    clinic.api.close()
    clinic.db.close()
    clinic.server.stop()


@dataclass
class Patient:
    """One WhatsApp user. ``lang`` is the language the test expects the bot to speak."""

    clinic: Clinic
    wa_id: str
    name: str
    lang: Language = Language.EN
    history: list[Answer] = field(default_factory=list)  # every bot message, oldest first
    accounted: list[str] = field(default_factory=list)  # wamids of all we expect the fake had

    @property
    def fake(self) -> FakeWhatsApp:
        return self.clinic.fake

    @property
    def phone(self) -> str:
        return "+" + self.wa_id

    @property
    def last(self) -> Answer:
        assert self.history, "the bot has not answered yet"
        return self.history[-1]

    def expect(self, key: str, **values: object) -> str:
        """The catalogue text ``key`` in the patient's language."""
        return say(self.lang, key, **values)

    def when(self, moment: datetime) -> str:
        """A time as the bot writes it to this patient."""
        return slot_label(moment.astimezone(self.clinic.tz), self.lang)

    def greeting(self) -> str:
        first = self.name.split(" ")[0]
        return self.expect("greeting", name=f" {first}", clinic=self.clinic.info["name"])

    def confirm_text(self, service: str, doctor: str, at: datetime) -> str:
        price = money(float(self.clinic.services[service]["price"]))
        return self.expect(
            "confirm", service=service, doctor=doctor, when=self.when(at), price=price
        )

    def booked_text(self, service: str, doctor: str, at: datetime) -> str:
        info = self.clinic.info
        return self.expect(
            "booked",
            service=service,
            doctor=doctor,
            when=self.when(at),
            clinic=info["name"],
            address=info["address"],
        )

    # --- what the patient does ------------------------------------------------------------

    def hello(self, lang: Language) -> None:
        """Say hello: in English, or in Devanagari (and the bot switches to Hindi)."""
        [answer] = self.says("नमस्ते" if lang is Language.HI else "Hi")
        self.lang = lang
        assert_menu(answer, self.greeting())
        assert self.conversation()["language"] == lang.value

    def choose_hindi(self) -> None:
        """Hindi, from the menu's "Language / भाषा"."""
        [asked] = self.taps("menu:language")
        assert asked.text == say(Language.EN, "language_ask")
        assert asked.ids == ["lang:hi", "lang:en"]
        titles = [LANGUAGE_TITLES[Language.HI], LANGUAGE_TITLES[Language.EN]]
        assert [o.title for o in asked.options] == titles
        self.lang = Language.HI
        [done] = self.taps("lang:hi")
        assert_menu(done, self.expect("language_set"))
        assert self.conversation()["language"] == "hi"

    def says(self, text: str, **options: Any) -> list[Answer]:
        return self.turn(self.fake.patient_says(self.wa_id, text, name=self.name, **options))

    def taps(self, prefix: str, answer: Answer | None = None, **options: Any) -> list[Answer]:
        """Tap the option whose id starts with ``prefix``, in ``answer`` or the latest
        message that offers it."""
        found = self.choice(prefix, answer)
        injected = self.fake.patient_taps(
            self.wa_id,
            found.id,
            found.title,
            list=found.in_list,
            name=self.name,
            context_id=(answer or self._offering(prefix)).sent.wamid,
            **options,
        )
        return self.turn(injected)

    def sends(self, type: str, content: JSON | None = None, **options: Any) -> list[Answer]:
        return self.turn(
            self.fake.patient_sends(self.wa_id, type, content, name=self.name, **options)
        )

    def takes_first(self) -> list[Answer]:
        """Take the first option of the last message: tap it, or type "1" under a numbered
        text."""
        if self.last.options:
            return self.taps(self.last.options[0].id, self.last)
        assert "\n1. " in self.last.text, f"no options in {self.last.text!r}"
        return self.says("1")

    def choice(self, prefix: str, answer: Answer | None = None) -> Option:
        return (answer or self._offering(prefix)).option(prefix)

    def _offering(self, prefix: str) -> Answer:
        for answer in reversed(self.history):
            if any(o.id == prefix or o.id.startswith(prefix) for o in answer.options):
                return answer
        raise AssertionError(f"the bot never offered {prefix!r}")

    # --- waiting for the bot --------------------------------------------------------------

    def turn(self, injected: Injected) -> list[Answer]:
        """The bot's replies to ``injected``, once it is processed and they are sent; the
        fake must hold exactly what this patient was sent so far."""
        [answers] = self.turns(injected)
        return answers

    def turns(self, *injected: Injected) -> list[list[Answer]]:
        """The replies to each of several messages sent together (a batch)."""
        found = [
            settled(partial(self.clinic.answers_to, i.wamid), f"the answers to {i.wamid}")
            for i in injected
        ]
        new = {a.sent.wamid: a for answers in found for a in answers}
        in_order = [new[s.wamid] for s in self.fake.messages_to(self.wa_id) if s.wamid in new]
        self.history.extend(in_order)
        self.accounted.extend(a.sent.wamid for a in in_order)
        self.check_fake()
        # The blue ticks: marking a message read marks the patient's earlier ones, so of
        # messages answered together only the last answered needs its own receipt.
        answered = [m.wamid for m, answers in zip(injected, found, strict=True) if answers]
        if answered:
            last = max(answered, key=lambda wamid: self.processed_order(wamid))
            assert last in self.fake.reads, f"{last} was not marked read"
        return found

    def processed_order(self, wamid: str) -> tuple[int, int]:
        """Where the bot answered a message in the patient's order: WhatsApp time, then
        arrival."""
        row = self.clinic.row(
            "SELECT wa_timestamp, rowid FROM inbound_messages WHERE wa_message_id = ?", wamid
        )
        assert row is not None, f"{wamid} was not stored"
        return int(row[0]), int(row[1])

    def outcome(self, wamid: str) -> str:
        row = self.clinic.inbound(wamid)
        assert row is not None, f"{wamid} was not stored"
        return str(row["outcome"])

    def receives(self, text: str) -> Sent:
        """A message from staff (or anyone but the bot) reaches the patient."""
        sent = settled(
            lambda: next((s for s in self.fake.messages_to(self.wa_id) if s.text == text), None),
            f"{text!r} to reach the patient",
        )
        self.accounted.append(sent.wamid)
        self.check_fake()
        return sent

    def check_fake(self) -> None:
        got = [s.wamid for s in self.fake.messages_to(self.wa_id)]
        assert got == self.accounted, "the fake got other messages than the bot's answers"

    # --- what staff see -------------------------------------------------------------------

    @property
    def id(self) -> str:
        found = self.clinic.get(f"/api/v1/patients/by-phone/{self.phone}", clinic_id=self.clinic.id)
        return str(found["id"])

    def record(self) -> JSON:
        found: JSON = self.clinic.get(f"/api/v1/patients/{self.id}")
        return found

    def appointments(self) -> list[JSON]:
        found: list[JSON] = self.clinic.get(f"/api/v1/patients/{self.id}/appointments")
        return found

    def only_appointment(self) -> JSON:
        [appointment] = self.appointments()
        return appointment

    def thread(self) -> JSON:
        found: JSON = self.clinic.get(f"/api/v1/conversations/{self.id}")
        return found

    def conversation(self) -> JSON:
        found: JSON = self.thread()["conversation"]
        return found

    def wait_for_status(self, outbox_id: str, status: str) -> JSON:
        """The thread's outbound message ``outbox_id``, once it has ``status``."""

        def found() -> JSON | None:
            for message in self.thread()["messages"]:
                if message["direction"] == "out" and message["id"] == outbox_id:
                    return message if message["status"] == status else None
            return None

        return settled(found, f"outbox {outbox_id} to be {status}")


def menu_titles(lang: Language) -> list[str]:
    return [say(lang, key) for _, key in MENU]


def assert_menu(answer: Answer, text: str) -> None:
    """``text`` with the whole main menu under it, Book first, in the text's language."""
    assert answer.text == text
    assert answer.ids == MENU_IDS
    hindi = any("\u0900" <= ch <= "\u097f" for ch in answer.options[0].title)
    assert [o.title for o in answer.options] == menu_titles(Language.HI if hindi else Language.EN)
