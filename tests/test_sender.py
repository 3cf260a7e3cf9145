"""The outbox sender, end to end: real ``clinicbot serve`` processes send to the fake Graph
API over HTTP and hear its status webhooks. Rows are written straight into the server's
SQLite file (WAL lets a second connection write beside it); the sender finds them on its
next poll. Backoffs are shortened through the environment: at most 1 s between retries, 4 s
before a crash-orphaned ``sending`` row is sent again, a refused token retried every 1 s.
Each test uses its own patients' numbers, so they share one clinic and one fake."""

from __future__ import annotations

import itertools
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from clinicbot.db import connect
from clinicbot.services.sender import backoff, mask_recipient, scrub
from clinicbot.store.outbox import callback_data, enqueue, parse_callback
from tests.conftest import RunningServer, start_server
from tests.fakes import FakeWhatsApp
from tests.fakes import payloads as meta

FAST = {
    "CLINICBOT_SENDER_MAX_BACKOFF": "1",
    "CLINICBOT_SENDER_AMBIGUOUS_WAIT": "4",
    "CLINICBOT_SENDER_AUTH_RETRY": "1",
}
DONE = {"sent", "delivered", "read"}
_numbers = itertools.count(10_000)


def number() -> str:
    """A fresh Indian mobile number, as WhatsApp's digits."""
    return f"9198765{next(_numbers):05d}"


@dataclass
class Clinic:
    server: RunningServer
    fake: FakeWhatsApp
    id: str
    conn: sqlite3.Connection

    def enqueue(self, recipient: str, text: str, *, simulated: bool = False) -> int:
        payload = {"type": "text", "text": {"preview_url": False, "body": text}}
        return self.enqueue_payload(recipient, "text", payload, text, simulated=simulated)

    def enqueue_payload(
        self, recipient: str, kind: str, payload: dict[str, Any], preview: str = "", **kw: Any
    ) -> int:
        row_id = enqueue(
            self.conn,
            key=f"test:{uuid.uuid4()}",
            clinic_id=self.id,
            patient_id=None,
            recipient=recipient,
            kind=kind,
            payload=payload,
            preview=preview,
            author="bot",
            now=datetime.now(UTC),
            **kw,
        )
        assert row_id is not None
        return row_id

    def row(self, row_id: int) -> sqlite3.Row:
        found: sqlite3.Row = self.conn.execute(
            "SELECT * FROM outbox WHERE id = ?", [row_id]
        ).fetchone()
        return found

    def statuses(self, ids: Iterable[int]) -> list[str]:
        return [self.row(i)["status"] for i in ids]

    def wait_until(self, ids: Iterable[int], allowed: set[str], timeout: float = 15) -> None:
        ids = list(ids)
        self.fake.wait_for(
            lambda: all(s in allowed for s in self.statuses(ids)),
            timeout,
            what=f"outbox rows {ids} to be {allowed}",
        )

    def api(self) -> httpx.Client:
        return self.server.client()

    def sender(self) -> dict[str, Any]:
        with self.api() as client:
            state: dict[str, Any] = client.get(
                "/api/v1/messages/sender", params={"clinic_id": self.id}
            ).json()
            return state


def open_clinic(data_dir: Path, fake: FakeWhatsApp, env: dict[str, str]) -> Clinic:
    server = start_server(data_dir, env={**fake.env(), **FAST, **env})
    fake.webhook_url = server.webhook_url
    with server.client() as client:
        made = client.post(
            "/api/v1/clinics",
            json={"name": "Sender Clinic", "whatsapp_phone_number_id": fake.phone_number_id},
        )
        assert made.status_code == 201, made.text
    return Clinic(server, fake, made.json()["id"], connect(data_dir / "clinicbot.db"))


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clinic]:
    with FakeWhatsApp(status_delay=0.01, webhook_retry=(0.05, 0.5)) as fake:
        running = open_clinic(tmp_path_factory.mktemp("sender"), fake, {})
        yield running
        running.conn.close()
        running.server.stop()


def callbacks_of(fake: FakeWhatsApp, row_id: int) -> list[str]:
    """The callback data of every message the fake accepted for outbox row ``row_id``."""
    return [c for c in fake.callback_counts().elements() if c.split(":")[1] == str(row_id)]


# --- the everyday path ------------------------------------------------------------------


def test_a_message_goes_once_and_moves_to_read(clinic: Clinic) -> None:
    patient = number()
    clinic.fake.open_window(patient)
    row_id = clinic.enqueue(patient, "Your appointment is confirmed.")
    clinic.wait_until([row_id], {"read"})
    [sent] = clinic.fake.messages_to(patient)
    assert sent.to == "+" + patient
    assert sent.body["recipient_type"] == "individual"
    assert sent.body["text"] == {"preview_url": False, "body": "Your appointment is confirmed."}
    assert sent.callback == f"ob:{row_id}:1"
    row = clinic.row(row_id)
    assert row["wa_message_id"] == sent.wamid
    assert row["attempts"] == 1 and row["sent_at"] and row["error_reason"] is None
    stored = clinic.conn.execute(
        "SELECT status FROM message_statuses WHERE wa_message_id = ?", [sent.wamid]
    ).fetchall()
    assert {s[0] for s in stored} == {"sent", "delivered", "read"}
    state = clinic.sender()
    assert state["state"] == "ok" and state["last_success_at"]


def test_each_patient_gets_their_messages_in_order(clinic: Clinic) -> None:
    patients = [number() for _ in range(4)]
    for p in patients:
        clinic.fake.open_window(p)
    ids = [clinic.enqueue(p, f"{p} #{n}") for n in range(5) for p in patients]
    clinic.wait_until(ids, DONE)
    for p in patients:
        assert [m.text for m in clinic.fake.messages_to(p)] == [f"{p} #{n}" for n in range(5)]
    assert all(len(callbacks_of(clinic.fake, i)) == 1 for i in ids)


def test_buttons_lists_and_read_receipts(clinic: Clinic) -> None:
    patient = number()
    clinic.fake.open_window(patient)
    choice = {"type": "reply", "reply": {"id": "book", "title": "Book"}}
    buttons = {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Hello!"},
            "action": {"buttons": [choice]},
        },
    }
    asked = clinic.enqueue_payload(patient, "interactive", buttons, "Hello!")
    read = {"status": "read", "message_id": "wamid.FROM.PATIENT"}
    receipt = clinic.enqueue_payload(patient, "read", read)
    # (another patient's: a later receipt for the same patient would stand in for the first)
    broken = clinic.enqueue_payload(number(), "read", {"status": "read", "message_id": ""})
    clinic.wait_until([asked, receipt], DONE)
    clinic.wait_until([broken], {"cancelled"})  # dropped, not shown to staff as failed
    assert "wamid.FROM.PATIENT" in clinic.fake.reads
    assert clinic.fake.messages_to(patient)[0].body["interactive"] == buttons["interactive"]


def test_simulated_messages_never_reach_whatsapp(clinic: Clinic) -> None:
    ids = [clinic.enqueue("SIM.asha", f"hello {n}", simulated=True) for n in range(3)]
    clinic.wait_until(ids, {"read"}, timeout=5)
    assert not any("SIM" in (s.recipient or s.to or "") for s in clinic.fake.accepted)
    assert all(clinic.row(i)["attempts"] == 0 for i in ids)


# --- failures staff see ------------------------------------------------------------------


def failed_list(clinic: Clinic) -> dict[int, dict[str, Any]]:
    with clinic.api() as client:
        answer = client.get("/api/v1/messages/failed", params={"clinic_id": clinic.id})
        assert answer.status_code == 200
        return {m["id"]: m for m in answer.json()}


def test_permanent_failures_are_listed_with_a_reason_and_can_be_retried(clinic: Clinic) -> None:
    quiet, gone, fine = number(), number(), number()  # quiet has not written for days
    clinic.fake.open_window(gone)
    clinic.fake.open_window(fine)
    clinic.fake.force_error(131026, to=gone)
    late = clinic.enqueue(quiet, "Are you coming tomorrow?")
    lost = clinic.enqueue(gone, "Your visit is booked.")
    huge = clinic.enqueue(fine, "x" * 5000)  # over the 4096 limit: refused at once
    after = clinic.enqueue(fine, "This one is fine.")
    clinic.wait_until([late, lost, huge], {"failed"})
    clinic.wait_until([after], DONE)
    listed = failed_list(clinic)
    assert listed[late]["error_code"] == 131047
    assert listed[late]["error_reason"] == (
        "More than 24 hours since the patient last wrote: only a template can reach them."
    )
    assert listed[lost]["error_code"] == 131026
    assert "could not deliver" in listed[lost]["error_reason"]
    assert listed[huge]["error_code"] == 131009
    assert "malformed" in listed[huge]["error_reason"]
    assert listed[late]["preview"] == "Are you coming tomorrow?"
    assert listed[late]["recipient"] == quiet and listed[late]["updated_at"]
    assert clinic.sender()["failed"] >= 3
    clinic.fake.open_window(quiet)  # the patient wrote again
    with clinic.api() as client:
        retried = client.post(f"/api/v1/messages/{late}/retry")
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] in ("queued", "sending", *DONE)
        assert client.post(f"/api/v1/messages/{after}/retry").status_code == 409
        assert client.post("/api/v1/messages/999999999/retry").status_code == 404
    clinic.wait_until([late], {"read"})
    assert callbacks_of(clinic.fake, late) == [f"ob:{late}:1", f"ob:{late}:3"]
    assert late not in failed_list(clinic)
    clinic.fake.clear_errors()


def post_status(
    clinic: Clinic, wamid: str, status: str, callback: str | None = None, code: int | None = None
) -> None:
    item = meta.status_item(
        wamid=wamid,
        status=status,
        timestamp=int(time.time()),
        recipient_id=None,
        user_id=None,
        callback=callback,
        error_code=code,
    )
    metadata = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}
    body = meta.envelope(clinic.fake.waba_id, metadata, {"statuses": [item]})
    clinic.fake.post_webhook(body, "status").wait()


def test_statuses_never_go_backwards(clinic: Clinic) -> None:
    patient = number()
    clinic.fake.open_window(patient)
    clinic.fake.statuses = ()  # this test sends the statuses itself, in a bad order
    try:
        first = clinic.enqueue(patient, "one")
        second = clinic.enqueue(patient, "two")
        clinic.wait_until([first, second], {"sent"})
    finally:
        clinic.fake.statuses = ("sent", "delivered", "read")
    one, two = (clinic.row(i)["wa_message_id"] for i in (first, second))
    post_status(clinic, one, "read")
    post_status(clinic, one, "delivered")  # late
    post_status(clinic, one, "sent")  # later still
    post_status(clinic, one, "failed", code=131000)
    assert clinic.row(first)["status"] == "read"
    post_status(clinic, two, "failed", code=131026)
    assert clinic.row(second)["status"] == "failed"
    post_status(clinic, two, "sent")
    assert clinic.row(second)["status"] == "failed"
    post_status(clinic, two, "delivered")  # it reached the phone after all
    assert clinic.statuses([second]) == ["delivered"]
    assert clinic.row(second)["error_code"] is None


def test_a_status_names_a_row_the_sender_never_heard_back_about(clinic: Clinic) -> None:
    """The crash rule's other half: a row left ``sending`` (here made by hand, not due for
    an hour) is matched by the callback data Meta echoes, and only for its own attempt."""
    patient = number()
    row_id = clinic.enqueue(patient, "sent before a crash")
    clinic.conn.execute(
        "UPDATE outbox SET status = 'sending', attempts = 2, not_before = ? WHERE id = ?",
        [time.time() + 3600, row_id],
    )
    post_status(clinic, "wamid.OLD.ATTEMPT", "delivered", callback=f"ob:{row_id}:1")
    assert clinic.row(row_id)["status"] == "sending"
    post_status(clinic, "wamid.LOST.ANSWER", "delivered", callback=f"ob:{row_id}:2")
    row = clinic.row(row_id)
    assert (row["status"], row["wa_message_id"]) == ("delivered", "wamid.LOST.ANSWER")
    post_status(clinic, "wamid.LOST.ANSWER", "read")
    assert clinic.row(row_id)["status"] == "read"
    assert clinic.fake.messages_to(patient) == []


# --- the network misbehaves -------------------------------------------------------------


def test_after_an_outage_every_message_arrives_once_and_in_order(clinic: Clinic) -> None:
    patients = [number() for _ in range(3)]
    for p in patients:
        clinic.fake.open_window(p)
    clinic.fake.outage("refuse")
    try:
        ids = [clinic.enqueue(p, f"{p} #{n}") for n in range(4) for p in patients]
        clinic.fake.wait_for(
            lambda: clinic.sender()["state"] == "retrying", what="the sender to notice"
        )
        assert "No connection to WhatsApp" in clinic.sender()["detail"]
        time.sleep(6)  # minutes, compressed: every head retries at most 1 s apart
        assert set(clinic.statuses(ids)) <= {"queued", "sending"}
        assert max(clinic.row(i)["attempts"] for i in ids) >= 4
    finally:
        clinic.fake.end_outage()
    clinic.wait_until(ids, DONE)
    for p in patients:
        assert [m.text for m in clinic.fake.messages_to(p)] == [f"{p} #{n}" for n in range(4)]
    assert all(len(callbacks_of(clinic.fake, i)) == 1 for i in ids)
    clinic.fake.wait_for(lambda: clinic.sender()["state"] == "ok")


def test_503s_and_throughput_limits_are_retried(clinic: Clinic) -> None:
    patient = number()
    clinic.fake.open_window(patient)
    clinic.fake.force_error(130429, times=2)
    with clinic.fake.down("503"):
        ids = [clinic.enqueue(patient, f"#{n}") for n in range(3)]
        clinic.fake.wait_for(lambda: clinic.row(ids[0])["attempts"] >= 2)
    clinic.wait_until(ids, DONE)
    assert [m.text for m in clinic.fake.messages_to(patient)] == ["#0", "#1", "#2"]
    assert len(clinic.fake.refusals(130429)) >= 2


def test_a_burst_stays_within_the_numbers_rate(clinic: Clinic) -> None:
    """240 replies to 240 patients at once go out within Meta's 80 per second over every
    second (the fake refuses with 130429 over a sliding second, as Meta counts)."""
    refused_before = len(clinic.fake.refusals(130429))
    patients = [number() for _ in range(240)]
    for patient in patients:
        clinic.fake.open_window(patient)
    ids = [clinic.enqueue(patient, "your appointment is booked") for patient in patients]
    clinic.wait_until(ids, DONE, timeout=60)
    assert len(clinic.fake.refusals(130429)) == refused_before
    assert all(len(clinic.fake.messages_to(p)) == 1 for p in patients)


def test_a_pair_rate_limit_holds_only_that_patient(clinic: Clinic) -> None:
    busy, other = number(), number()
    clinic.fake.open_window(busy)
    clinic.fake.open_window(other)
    clinic.fake.force_error(131056, to=busy, times=2)
    held = [clinic.enqueue(busy, f"busy #{n}") for n in range(2)]
    free = clinic.enqueue(other, "not held")
    clinic.wait_until([free], DONE, timeout=5)
    assert clinic.row(held[0])["attempts"] <= 2 and clinic.row(held[1])["attempts"] == 0
    clinic.wait_until(held, DONE)
    assert [m.text for m in clinic.fake.messages_to(busy)] == ["busy #0", "busy #1"]


def test_an_expired_token_fails_one_message_and_holds_the_rest(clinic: Clinic) -> None:
    patients = [number() for _ in range(3)]
    for p in patients:
        clinic.fake.open_window(p)
    clinic.fake.expire_token()
    try:
        ids = [clinic.enqueue(p, f"{p} #{n}") for n in range(2) for p in patients]
        clinic.fake.wait_for(lambda: "failed" in clinic.statuses(ids))
        time.sleep(2.5)  # a probe a second: still refused, still only one failed
        statuses = clinic.statuses(ids)
        assert statuses.count("failed") == 1
        assert set(statuses) == {"failed", "queued"}
        [first] = [i for i in ids if clinic.row(i)["status"] == "failed"]
        assert clinic.row(first)["error_code"] == 190
        state = clinic.sender()
        assert state["state"] == "auth_failed" and state["next_probe_at"]
        assert state["detail"] == "The WhatsApp access token has expired: update it in Settings."
    finally:
        clinic.fake.renew_token()  # as if staff put a fresh token in
    rest = [i for i in ids if i != first]
    clinic.wait_until(rest, DONE)
    clinic.fake.wait_for(lambda: clinic.sender()["state"] == "ok")
    with clinic.api() as client:
        assert client.post(f"/api/v1/messages/{first}/retry").status_code == 200
    clinic.wait_until([first], DONE)
    assert all(len(callbacks_of(clinic.fake, i)) == 1 for i in ids)


# --- crashes and configuration ----------------------------------------------------------


def test_after_kill_9_mid_send_each_message_arrives_exactly_once(tmp_path: Path) -> None:
    """Killed while sending: for three patients Meta took the message but the answer was
    lost (their status webhooks, late today, must name the rows after the restart); for
    three more the request never reached Meta (sent again once ``ambiguous_wait`` has
    passed since the restart, time for Meta's late statuses to arrive); the rest were
    mid-stream. Every message arrives once, each patient's in order."""
    with FakeWhatsApp(status_delay=0.01, webhook_retry=(0.05, 0.3), latency=0.02) as fake:
        first = open_clinic(tmp_path, fake, {})
        patients = [number() for _ in range(14)]
        lost, swallowed, flowing = patients[:3], patients[3:6], patients[6:]
        for p in patients:
            fake.open_window(p)
        for p in lost:
            fake.hang(p, accepted=True)
        for p in swallowed:
            fake.hang(p, accepted=False)
        fake.webhook_url = None  # Meta's webhooks are late: none arrives before the crash
        ids = [first.enqueue(p, f"{p} #{n}") for n in range(3) for p in patients]
        heads = ids[: len(lost) + len(swallowed)]
        fake.wait_for(lambda: len(fake.accepted) >= len(lost) + len(flowing) * 3 // 2)
        assert set(first.statuses(heads)) == {"sending"}
        first.server.process.kill()
        first.server.process.wait()
        fake.release()
        second = start_server(tmp_path, env={**fake.env(), **FAST})
        restarted_at = time.time()
        fake.webhook_url = second.webhook_url
        try:
            first.wait_until(ids, DONE, timeout=30)
            counts = {i: len(callbacks_of(fake, i)) for i in ids}
            assert counts == dict.fromkeys(ids, 1)
            for p in patients:
                assert [m.text for m in fake.messages_to(p)] == [f"{p} #{n}" for n in range(3)]
            attempts = [first.row(i)["attempts"] for i in heads]
            assert attempts == [1] * len(lost) + [2] * len(swallowed)
            resent = [fake.messages_to(p)[0].at for p in swallowed]
            assert min(resent) - restarted_at > 3.5  # not before the ambiguous wait (4 s)
        finally:
            first.conn.close()
            second.stop()


def test_without_credentials_nothing_is_sent_and_the_state_says_so(tmp_path: Path) -> None:
    with FakeWhatsApp() as fake:
        clinic = open_clinic(
            tmp_path,
            fake,
            {"CLINICBOT_WHATSAPP_ACCESS_TOKEN": "", "CLINICBOT_WHATSAPP_PHONE_NUMBER_ID": ""},
        )
        try:
            patient = number()
            fake.open_window(patient)
            real = clinic.enqueue(patient, "waits")
            simulated = clinic.enqueue("SIM.ravi", "goes", simulated=True)
            clinic.wait_until([simulated], {"read"}, timeout=5)
            time.sleep(0.6)  # one more poll
            assert clinic.row(real)["status"] == "queued" and clinic.row(real)["attempts"] == 0
            state = clinic.sender()
            assert state["state"] == "not_configured" and "access token" in state["detail"]
            assert state["backlog"] == 1
            assert fake.accepted == [] and fake.requests == []
        finally:
            clinic.conn.close()
            clinic.server.stop()


# --- the small pure rules ---------------------------------------------------------------


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    lows = [backoff(n, 2.0, 300.0, lambda: 0.0) for n in range(1, 12)]
    highs = [backoff(n, 2.0, 300.0, lambda: 1.0) for n in range(1, 12)]
    assert highs[:5] == [2.0, 4.0, 8.0, 16.0, 32.0] and highs[-1] == 300.0
    assert lows == [h / 2 for h in highs]
    assert backoff(10_000, 2.0, 1.0, lambda: 1.0) == 1.0


def test_logs_see_no_numbers() -> None:
    assert mask_recipient("919876543210") == "+91********10"
    assert mask_recipient("US.13491208655302741918") == "US.…"
    assert "98765" not in scrub("(#131009) 'to' +91 98765 43210 is not valid")


def test_callback_data_names_row_and_attempt() -> None:
    assert parse_callback(callback_data(12, 3)) == (12, 3)
    for other in ("appt_8841", "ob:12", "ob:x:1", "ob:1:2:3", None, 5, "ob:1:" + "9" * 30):
        assert parse_callback(other) is None
