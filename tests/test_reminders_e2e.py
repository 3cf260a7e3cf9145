"""Reminders end to end: a real ``clinicbot serve`` process looks for due reminders every half
second and sends them to the fake Graph API; patients tap their buttons over signed webhooks;
staff read the result through the staff API.

A reminder is made due at once by booking (through the staff API) a visit a few seconds
after ``now`` + the clinic's reminder time (30 minutes here). Each appointment gets its own
doctor, working round the clock, so that visits due together never overlap. Counting what
the fake accepted is the proof of "never twice".
"""

from __future__ import annotations

import collections
import itertools
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from clinicbot.db import connect
from clinicbot.store.outbox import parse_callback
from tests.conftest import RunningServer, start_server
from tests.fakes import FakeWhatsApp
from tests.fakes.records import Sent

OFFSET = 30  # minutes before the visit (the clinic also keeps a day-before one)
LEAD = 4.0  # seconds between booking and the reminder falling due
ENV = {
    "CLINICBOT_REMINDER_INTERVAL": "0.5",
    "CLINICBOT_SENDER_MAX_BACKOFF": "1",
    "CLINICBOT_SENDER_AMBIGUOUS_WAIT": "3",
    "CLINICBOT_SENDER_AUTH_RETRY": "1",
}
TZ = ZoneInfo("Asia/Kolkata")
DONE = ("sent", "delivered", "read")
_numbers = itertools.count(1)


def number() -> str:
    return f"9171{next(_numbers):08d}"


@dataclass
class Clinic:
    server: RunningServer
    fake: FakeWhatsApp
    conn: sqlite3.Connection
    id: str
    service: str

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        with self.server.client() as client:
            answer = client.request(method, path, **kwargs)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()

    def doctor(self) -> str:
        """A doctor who works every hour of every day, so any time can be booked."""
        made = self.api("POST", "/api/v1/doctors", json={"clinic_id": self.id, "name": "Dr. Ray"})
        for weekday in range(7):
            hours = {"doctor_id": made["id"], "weekday": weekday}
            self.api(
                "POST",
                "/api/v1/working-hours",
                json={**hours, "start_time": "00:00", "end_time": "24:00"},
            )
        return str(made["id"])

    def patient(self, phone: str, **options: Any) -> str:
        """The patient writes first (WhatsApp's opt-in); their patient id once answered."""
        wamid = self.fake.patient_says(phone, "Hi", **options).wamid
        self.answer_to(wamid)
        found = self.api(
            "GET", f"/api/v1/patients/by-phone/+{phone}", params={"clinic_id": self.id}
        )
        return str(found["id"])

    def book(self, patient_id: str, doctor_id: str, lead: float = LEAD) -> dict[str, Any]:
        """A visit whose reminder falls due ``lead`` seconds from now."""
        start = datetime.now(TZ) + timedelta(minutes=OFFSET, seconds=lead)
        body = {
            "clinic_id": self.id,
            "doctor_id": doctor_id,
            "service_id": self.service,
            "patient_id": patient_id,
            "starts_at": start.replace(microsecond=0).isoformat(),
        }
        made: dict[str, Any] = self.api("POST", "/api/v1/appointments", json=body)
        return made

    def appointment(self, appointment_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.api("GET", f"/api/v1/appointments/{appointment_id}")
        return found

    def answer_to(self, wamid: str, timeout: float = 20) -> list[Sent]:
        """The bot's replies to one inbound message, once Meta has accepted them all."""

        def replies() -> list[Sent] | None:
            processed = self.conn.execute(
                "SELECT processed_at FROM inbound_messages WHERE wa_message_id = ?", [wamid]
            ).fetchone()
            if processed is None or processed[0] is None:
                return None
            rows = [
                r[0]
                for r in self.conn.execute(
                    "SELECT id FROM outbox WHERE in_reply_to = ? AND kind != 'read' ORDER BY id",
                    [wamid],
                )
            ]
            sent = {row: s for s in list(self.fake.accepted) if (row := row_of(s)) is not None}
            return [sent[r] for r in rows] if all(r in sent for r in rows) else None

        found = self.fake.wait_for(replies, timeout, 0.05, f"the answer to {wamid}")
        assert found is not None
        return found

    def reminders_to(self, phone: str) -> list[Sent]:
        return [s for s in self.fake.messages_to(phone) if reminder_row(self.conn, s)]


def row_of(sent: Sent) -> int | None:
    named = parse_callback(sent.callback)
    return None if named is None else named[0]


def reminder_row(conn: sqlite3.Connection, sent: Sent) -> str | None:
    """The appointment an accepted message reminded of, if it was a reminder."""
    row = row_of(sent)
    found = conn.execute(
        "SELECT appointment_id FROM outbox WHERE id = ? AND author = 'reminder'", [row]
    ).fetchone()
    return None if found is None else str(found[0])


def choice_ids(sent: Sent) -> list[str]:
    inner = sent.body.get("interactive") or {}
    if inner.get("type") == "button":
        return [b["reply"]["id"] for b in inner["action"]["buttons"]]
    return [r["id"] for s in inner.get("action", {}).get("sections", []) for r in s["rows"]]


def open_clinic(data_dir: Path, fake: FakeWhatsApp) -> Clinic:
    server = start_server(data_dir, env={**fake.env(), **ENV})
    fake.webhook_url = server.webhook_url
    conn = connect(data_dir / "clinicbot.db")
    with server.client() as client:
        made = client.post(
            "/api/v1/clinics",
            json={
                "name": "Reminder Clinic",
                "whatsapp_phone_number_id": fake.phone_number_id,
                "min_notice_minutes": 0,
                "reminder_minutes": [1440, OFFSET],
            },
        )
        assert made.status_code == 201, made.text
        service = client.post(
            "/api/v1/services",
            json={"clinic_id": made.json()["id"], "name": "Consultation", "duration_minutes": 15},
        )
        assert service.status_code == 201, service.text
    return Clinic(server, fake, conn, made.json()["id"], service.json()["id"])


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    with FakeWhatsApp(status_delay=0.01, webhook_retry=(0.05, 0.5)) as fake:
        running = open_clinic(tmp_path_factory.mktemp("reminders"), fake)
        yield running
        running.conn.close()
        running.server.stop()


def wait_reminder(clinic: Clinic, phone: str, timeout: float = 30) -> Sent:
    [sent] = clinic.fake.wait_for(
        lambda: clinic.reminders_to(phone), timeout, 0.1, f"a reminder to {phone}"
    )
    return sent


def assert_on_time(clinic: Clinic, sent: Sent, appointment: dict[str, Any]) -> None:
    """Sent at the configured time before the visit, not earlier; the earlier (day-before)
    reminder was never due for a visit booked later than that."""
    start = datetime.fromisoformat(appointment["starts_at"]).timestamp()
    assert sent.at >= start - OFFSET * 60
    outcomes = dict(
        clinic.conn.execute(
            "SELECT minutes_before, outcome FROM reminders WHERE appointment_id = ?",
            [appointment["id"]],
        ).fetchall()
    )
    assert outcomes[1440] == "skipped: booked after the reminder time"
    assert outcomes[OFFSET] in ("queued", "template")


# --- inside and outside the 24-hour window -------------------------------------------------


def test_a_reminder_in_the_window_has_buttons_that_act_on_the_appointment(clinic: Clinic) -> None:
    phones = {action: number() for action in ("confirm", "cancel", "reschedule")}
    patients = {a: clinic.patient(p) for a, p in phones.items()}
    booked = {a: clinic.book(patients[a], clinic.doctor()) for a in phones}
    for action, phone in phones.items():
        sent = wait_reminder(clinic, phone)
        appointment_id = booked[action]["id"]
        assert sent.type == "interactive"
        assert choice_ids(sent) == [
            f"confirm:{appointment_id}",
            f"cancel:{appointment_id}",
            f"reschedule:{appointment_id}",
        ]
        assert "Reminder Clinic" in sent.text and "Dr. Ray" in sent.text
        assert_on_time(clinic, sent, booked[action])
    tap = {
        a: clinic.fake.patient_taps(phones[a], f"{a}:{booked[a]['id']}", a.title()) for a in phones
    }

    confirm = booked["confirm"]["id"]
    [thanks] = clinic.answer_to(tap["confirm"].wamid)
    assert "Thank you" in thanks.text
    events = clinic.api("GET", f"/api/v1/appointments/{confirm}/events")
    assert any("confirmed they will come" in (e.get("detail") or "") for e in events)
    assert clinic.appointment(confirm)["status"] == "confirmed"

    cancel = booked["cancel"]["id"]
    [sure] = clinic.answer_to(tap["cancel"].wamid)
    assert choice_ids(sure)[0] == f"drop:{cancel}"
    assert clinic.appointment(cancel)["status"] == "confirmed"  # asked first, not yet
    clinic.answer_to(
        clinic.fake.patient_taps(phones["cancel"], f"drop:{cancel}", "Yes, cancel").wamid
    )
    assert clinic.appointment(cancel)["status"] == "cancelled"

    move = booked["reschedule"]["id"]
    [times] = clinic.answer_to(tap["reschedule"].wamid)
    first = choice_ids(times)[0]
    assert first.startswith("move:"), times.text
    [check] = clinic.answer_to(
        clinic.fake.patient_taps(phones["reschedule"], first, "first", list=True).wamid
    )
    yes = choice_ids(check)[0]
    assert yes.startswith("moveok:")
    clinic.answer_to(clinic.fake.patient_taps(phones["reschedule"], yes, "Confirm").wamid)
    moved = clinic.appointment(move)
    assert moved["status"] == "confirmed"
    assert moved["starts_at"] != booked["reschedule"]["starts_at"]
    assert all(len(clinic.reminders_to(p)) == 1 for p in phones.values())


def test_outside_the_window_the_template_goes_and_its_quick_replies_act(clinic: Clinic) -> None:
    phones = {action: number() for action in ("CONFIRM", "CANCEL", "RESCHEDULE")}
    # They last wrote more than a day ago: only a template can reach them now.
    patients = {a: clinic.patient(p, age=25 * 3600) for a, p in phones.items()}
    for phone in phones.values():
        assert not clinic.fake.window_open(phone)
    booked = {a: clinic.book(patients[a], clinic.doctor()) for a in phones}
    for action, phone in phones.items():
        sent = wait_reminder(clinic, phone)
        appointment_id = booked[action]["id"]
        assert sent.type == "template"
        template = sent.body["template"]
        assert (template["name"], template["language"]["code"]) == ("appointment_reminder", "en")
        payloads = [
            c["parameters"][0]["payload"] for c in template["components"] if c["type"] == "button"
        ]
        assert payloads == [f"{a}:{appointment_id}" for a in ("CONFIRM", "CANCEL", "RESCHEDULE")]
        assert sent.failure is None  # a template may go outside the window
        assert_on_time(clinic, sent, booked[action])
    tap = {
        a: clinic.fake.patient_taps_template(phones[a], f"{a}:{booked[a]['id']}", a.title())
        for a in phones
    }

    confirm = booked["CONFIRM"]["id"]
    clinic.answer_to(tap["CONFIRM"].wamid)
    events = clinic.api("GET", f"/api/v1/appointments/{confirm}/events")
    assert any("confirmed they will come" in (e.get("detail") or "") for e in events)

    cancel = booked["CANCEL"]["id"]
    [sure] = clinic.answer_to(tap["CANCEL"].wamid)
    clinic.answer_to(clinic.fake.patient_taps(phones["CANCEL"], choice_ids(sure)[0], "Yes").wamid)
    assert clinic.appointment(cancel)["status"] == "cancelled"

    move = booked["RESCHEDULE"]
    [times] = clinic.answer_to(tap["RESCHEDULE"].wamid)
    assert times.failure is None  # the tap opened the window: free-form again
    [check] = clinic.answer_to(
        clinic.fake.patient_taps(phones["RESCHEDULE"], choice_ids(times)[0], "1", list=True).wamid
    )
    clinic.answer_to(
        clinic.fake.patient_taps(phones["RESCHEDULE"], choice_ids(check)[0], "OK").wamid
    )
    assert clinic.appointment(move["id"])["starts_at"] != move["starts_at"]


# --- never for a cancelled appointment, never after "stop" ---------------------------------


def test_no_reminder_for_a_cancelled_appointment_or_a_patient_who_said_stop(clinic: Clinic) -> None:
    control, cancelled, late, stopped = (number() for _ in range(4))
    ids = {p: clinic.patient(p) for p in (control, cancelled, late, stopped)}
    stop = clinic.fake.patient_says(stopped, "stop")
    [said] = clinic.answer_to(stop.wamid)
    assert "won't get any more reminders" in said.text
    # The late one's reminder is queued, but Meta refuses it for now (throughput).
    clinic.fake.force_error(130429, to=late)
    try:
        booked = {p: clinic.book(ids[p], clinic.doctor()) for p in (cancelled, stopped, late)}
        clinic.api(
            "PATCH", f"/api/v1/appointments/{booked[cancelled]['id']}", json={"status": "cancelled"}
        )
        booked[control] = clinic.book(ids[control], clinic.doctor(), lead=LEAD + 1)

        def late_row() -> Any:
            return clinic.conn.execute(
                "SELECT id, status, attempts, error_reason FROM outbox"
                " WHERE appointment_id = ? AND author = 'reminder'",
                [booked[late]["id"]],
            ).fetchone()

        clinic.fake.wait_for(
            lambda: (row := late_row()) is not None and row["attempts"] >= 1, 30, 0.1, "a try"
        )
        # The attempt is counted when it starts; Meta's refusal is recorded when it answers.
        clinic.fake.wait_for(lambda: bool(clinic.fake.refusals(130429)), 20, 0.1, "a refusal")
        clinic.api(
            "PATCH", f"/api/v1/appointments/{booked[late]['id']}", json={"status": "cancelled"}
        )
        clinic.fake.wait_for(lambda: late_row()["status"] == "cancelled", 20, 0.1, "dropped")
        assert late_row()["error_reason"] == "Not sent: the appointment is cancelled now."
    finally:
        clinic.fake.clear_errors()

    wait_reminder(clinic, control)  # due last: the scheduler has passed the others' times
    assert clinic.reminders_to(cancelled) == []
    assert clinic.reminders_to(late) == []
    assert clinic.reminders_to(stopped) == []
    outcomes = dict(
        clinic.conn.execute(
            "SELECT appointment_id, outcome FROM reminders WHERE minutes_before = ?", [OFFSET]
        ).fetchall()
    )
    assert booked[cancelled]["id"] not in outcomes
    assert outcomes[booked[stopped]["id"]] == "skipped: the patient asked for no reminders"


# --- never twice, across restarts ----------------------------------------------------------


def test_reminders_go_once_however_often_the_clinic_restarts(tmp_path: Path) -> None:
    """Six reminders fall due one after another while the clinic is killed (-9) twice and
    stopped once. The first is accepted by Meta but its answer is lost in the first kill:
    its status webhook, heard after the restart, must keep it from going again."""
    with FakeWhatsApp(status_delay=0.01, webhook_retry=(0.05, 0.5)) as fake:
        clinic = open_clinic(tmp_path, fake)
        try:
            phones = [number() for _ in range(6)]
            patients = [clinic.patient(p) for p in phones]
            doctors = [clinic.doctor() for _ in phones]
            fake.hang(phones[0], accepted=True)
            booked = [
                clinic.book(p, d, lead=LEAD + 1.5 * n)
                for n, (p, d) in enumerate(zip(patients, doctors, strict=True))
            ]

            def reminded() -> int:
                return sum(bool(clinic.reminders_to(p)) for p in phones)

            fake.wait_for(lambda: reminded() >= 1, 30, 0.05, "the first reminder")
            clinic.server = restart(clinic, fake, kill=True)
            fake.release()  # its answer never reached the killed clinic
            fake.wait_for(lambda: reminded() >= 3, 30, 0.05, "three reminders")
            clinic.server = restart(clinic, fake, kill=False)
            fake.wait_for(lambda: reminded() >= 4, 30, 0.05, "four reminders")
            clinic.server = restart(clinic, fake, kill=True)
            fake.wait_for(lambda: reminded() == len(phones), 30, 0.05, "every reminder")

            ids = [b["id"] for b in booked]
            fake.wait_for(lambda: all_sent(clinic.conn, ids), 30, 0.1, "every reminder settled")
            per_appointment = collections.Counter(
                reminder_row(clinic.conn, s) for p in phones for s in fake.messages_to(p)
            )
            del per_appointment[None]
            assert per_appointment == dict.fromkeys(ids, 1)
            assert set(fake.callback_counts().values()) == {1}
            rows = clinic.conn.execute(
                "SELECT appointment_id, count(*) FROM outbox WHERE author = 'reminder'"
                " GROUP BY appointment_id"
            ).fetchall()
            assert dict(rows) == dict.fromkeys(ids, 1)
            lost = clinic.conn.execute(
                "SELECT attempts, status FROM outbox WHERE appointment_id = ?", [ids[0]]
            ).fetchone()
            assert tuple(lost) in ((1, "delivered"), (1, "read"))  # named by its status webhook
        finally:
            fake.release()
            clinic.conn.close()
            clinic.server.stop()


def restart(clinic: Clinic, fake: FakeWhatsApp, *, kill: bool) -> RunningServer:
    if kill:
        clinic.server.process.kill()
        clinic.server.process.wait(timeout=20)
    else:
        assert clinic.server.stop() == 0
    server = start_server(clinic.server.data_dir, env={**fake.env(), **ENV})
    fake.webhook_url = server.webhook_url
    return server


def all_sent(conn: sqlite3.Connection, appointment_ids: list[str]) -> bool:
    statuses = conn.execute(
        "SELECT status FROM outbox WHERE author = 'reminder'"
        " AND appointment_id IN (SELECT value FROM json_each(?))",
        [json.dumps(appointment_ids)],
    ).fetchall()
    return len(statuses) == len(appointment_ids) and all(s[0] in DONE for s in statuses)
