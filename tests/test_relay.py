"""The relay and the clinic's poller, as real processes over real HTTP on 127.0.0.1.

A ``clinicbot relay`` takes signed webhooks and keeps them in ``relay.db``; a
``clinicbot serve`` pointed at it (CLINICBOT_RELAY_URL/TOKEN) polls them, re-verifies each
signature, stores the batches in its inbox and only then acknowledges. What the clinic
stored is read back from ``<data>/clinicbot.db`` through a read-only connection. Crashes
are real (SIGKILL), outages are real (the relay process stopped and started again on the
same port), and tampering is real (a row of the relay's database edited).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from clinicbot.services.backoff import Backoff
from tests.conftest import RunningServer, start_server

T = TypeVar("T")
JSON = dict[str, Any]

APP_SECRET = "relay-test-app-secret"
RELAY_TOKEN = "relay-test-token-0123456789"
VERIFY_TOKEN = "relay-test-verify-token"
FIXTURES = Path(__file__).parent / "webhooks"
MAX_BODY = 4 * 1024 * 1024


# --- webhook bodies ----------------------------------------------------------------------


def wire(body: object) -> bytes:
    """The bytes Meta sends: compact JSON with every non-ASCII character escaped."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def text_message(text: str = "Hi, I'd like to book an appointment") -> tuple[str, JSON]:
    """A text webhook (WHATSAPP.md §2.2) under a fresh wamid: (wamid, body)."""
    body: JSON = json.loads((FIXTURES / "text.json").read_text(encoding="utf-8"))
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = f"wamid.relay.{uuid.uuid4().hex}"
    message["text"]["body"] = text
    return message["id"], body


def wait_for(check: Callable[[], T], what: str, timeout: float = 20.0) -> T:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value!r}")
        time.sleep(0.05)


# --- processes ---------------------------------------------------------------------------


@dataclass
class RunningRelay:
    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    output: list[str] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def client(self, token: str | None = RELAY_TOKEN) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def post(self, raw: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return httpx.post(f"{self.url}/webhooks/whatsapp", content=raw, headers=headers)

    def send(self, body: object) -> httpx.Response:
        raw = wire(body)
        response = self.post(raw, sign(raw))
        assert response.status_code == 200, response.text
        return response

    def events(self, after: str | None = None, **params: Any) -> JSON:
        query = {"limit": 500, **params, **({"after": after} if after else {})}
        with self.client() as client:
            response = client.get("/relay/events", params=query)
        assert response.status_code == 200, response.text
        page: JSON = response.json()
        return page

    def pending(self) -> list[JSON]:
        """The events the clinic has not acknowledged (a read without a cursor)."""
        events: list[JSON] = self.events()["events"]
        return events

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def relay_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CLINICBOT_WHATSAPP_APP_SECRET": APP_SECRET,
        "CLINICBOT_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "CLINICBOT_RELAY_TOKEN": RELAY_TOKEN,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def relay_command(data_dir: Path, port: int = 0) -> list[str]:
    return [
        sys.executable,
        "-m",
        "clinicbot",
        "relay",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
    ]


def start_relay(data_dir: Path, port: int = 0, env: dict[str, str] | None = None) -> RunningRelay:
    """``clinicbot relay`` in its own process; returns once it listens."""
    process = subprocess.Popen(
        relay_command(data_dir, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env or relay_env(),
    )
    assert process.stdout is not None
    output: list[str] = []
    url = None
    deadline = time.monotonic() + 30
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if line.startswith("clinicbot relay: http"):
            url = line.split()[-1]
    if url is None:
        process.kill()
        raise RuntimeError("relay did not start:\n" + "".join(output) + process.stdout.read())

    def drain() -> None:
        assert process.stdout is not None
        output.extend(process.stdout)

    threading.Thread(target=drain, daemon=True).start()
    return RunningRelay(process, url, data_dir, output)


def clinic_env(relay_url: str, **extra: str) -> dict[str, str]:
    return {
        "CLINICBOT_WHATSAPP_APP_SECRET": APP_SECRET,
        "CLINICBOT_RELAY_URL": relay_url,
        "CLINICBOT_RELAY_TOKEN": RELAY_TOKEN,
        **extra,
    }


@pytest.fixture
def processes() -> Iterator[list[RunningRelay | RunningServer]]:
    """Every process a test starts, stopped at its end whatever happened."""
    started: list[RunningRelay | RunningServer] = []
    yield started
    for running in reversed(started):
        running.stop()


def relay_status(clinic: RunningServer) -> JSON:
    with clinic.client() as client:
        response = client.get("/api/v1/relay")
    assert response.status_code == 200, response.text
    status: JSON = response.json()
    return status


# --- what the clinic stored ----------------------------------------------------------------


def read_db(data_dir: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    uri = (data_dir / "clinicbot.db").as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=30)) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, params).fetchall()


def stored(clinic: RunningServer, ids: list[str]) -> dict[str, int]:
    """How many rows each of ``ids`` has in the clinic's inbox."""
    marks = ",".join("?" * len(ids))
    rows = read_db(
        clinic.data_dir,
        f"SELECT wa_message_id, count(*) AS n FROM inbound_messages"  # noqa: S608
        f" WHERE wa_message_id IN ({marks}) GROUP BY wa_message_id",
        *ids,
    )
    return {row["wa_message_id"]: row["n"] for row in rows}


def stored_cursor(clinic: RunningServer) -> str | None:
    rows = read_db(clinic.data_dir, "SELECT value FROM app_state WHERE key = 'relay_cursor'")
    return rows[0]["value"] if rows else None


# --- the relay alone -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def relay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRelay]:
    running = start_relay(tmp_path_factory.mktemp("relay"))
    yield running
    running.stop()


def _last_cursor(relay: RunningRelay) -> str | None:
    page = relay.events(wait=0)
    cursor: str | None = page["next"]
    while page["more"]:
        page = relay.events(cursor)
        cursor = page["next"]
    return cursor


def test_the_handshake_echoes_the_challenge_only_for_the_verify_token(relay: RunningRelay) -> None:
    url = f"{relay.url}/webhooks/whatsapp"
    good = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158"}
    r = httpx.get(url, params=good)
    assert (r.status_code, r.text) == (200, "1158")
    assert httpx.get(url, params={**good, "hub.verify_token": "wrong"}).status_code == 403
    assert httpx.get(url, params={**good, "hub.mode": "unsubscribe"}).status_code == 403
    assert httpx.get(url).status_code == 403


def test_refused_webhooks_leave_nothing_stored(relay: RunningRelay) -> None:
    before = _last_cursor(relay)
    raw = wire(text_message()[1])
    assert relay.post(raw, None).status_code == 401
    assert relay.post(raw, sign(raw, "another-app's-secret")).status_code == 403
    good = sign(raw)
    assert relay.post(raw, good[:-1] + ("1" if good.endswith("0") else "0")).status_code == 403
    assert relay.post(raw + b" ", sign(raw)).status_code == 403
    assert relay.post(raw, "sha1=" + sign(raw)[7:]).status_code == 403
    huge = b'{"object":"x","entry":[]}' + b" " * MAX_BODY
    assert relay.post(huge, sign(huge)).status_code == 413
    not_json = b"definitely not json"
    assert relay.post(not_json, sign(not_json)).status_code == 400
    assert relay.events(before)["events"] == []


def test_event_routes_need_the_relay_token(relay: RunningRelay) -> None:
    for token in (None, "wrong-token", RELAY_TOKEN + "x"):
        with relay.client(token) as client:
            r = client.get("/relay/events")
            assert r.status_code == 401, r.text
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert client.post("/relay/ack", json={"cursor": "x-1"}).status_code == 401
    with httpx.Client(base_url=relay.url, headers={"Authorization": RELAY_TOKEN}) as client:
        assert client.get("/relay/events").status_code == 401


def test_the_relay_serves_nothing_else(relay: RunningRelay) -> None:
    with relay.client() as client:
        for path in ("/", "/schema/openapi.json", "/api/v1/health", "/relay", "/webhooks"):
            assert client.get(path).status_code == 404, path


def test_events_come_back_in_order_byte_for_byte_and_ack_moves_the_queue(
    relay: RunningRelay,
) -> None:
    start = _last_cursor(relay)
    if start is not None:  # earlier tests' events: out of the way
        with relay.client() as client:
            assert client.post("/relay/ack", json={"cursor": start}).status_code == 200
    sent = []
    for n in range(5):
        raw = wire(text_message(f"message {n} é")[1])  # escaped, as Meta sends
        relay.post(raw, sign(raw))
        sent.append(raw)

    first = relay.events(start, limit=2)
    assert len(first["events"]) == 2 and first["more"] is True
    rest = relay.events(first["next"], limit=10)
    assert rest["more"] is False
    events = first["events"] + rest["events"]
    assert [base64.b64decode(e["body"]) for e in events] == sent
    assert [e["signature"] for e in events] == [sign(raw) for raw in sent]
    assert all(datetime.fromisoformat(e["received_at"]).tzinfo for e in events)
    assert len({e["cursor"] for e in events}) == 5
    assert rest["next"] == events[-1]["cursor"]

    with relay.client() as client:
        r = client.post("/relay/ack", json={"cursor": events[2]["cursor"]})
        assert r.status_code == 200, r.text
        assert r.json() == {"acked": 3}
        assert client.post("/relay/ack", json={"cursor": events[2]["cursor"]}).json() == {
            "acked": 0
        }
    assert [e["cursor"] for e in relay.pending()] == [e["cursor"] for e in events[3:]]
    # Acknowledged events are kept a while: a clinic restored from a backup reads them again.
    assert [e["cursor"] for e in relay.events(events[0]["cursor"])["events"]] == [
        e["cursor"] for e in events[1:]
    ]


def test_a_page_holds_at_most_8_mib_of_bodies(relay: RunningRelay) -> None:
    start = _last_cursor(relay)
    big = []
    for n in range(3):  # near Meta's 3 MB each
        raw = wire({"object": "whatsapp_business_account", "entry": [], "pad": f"{n}" * 3_500_000})
        relay.post(raw, sign(raw))
        big.append(raw)
    first = relay.events(start)
    assert [base64.b64decode(e["body"]) for e in first["events"]] == big[:2]
    assert first["more"] is True
    second = relay.events(first["next"])
    assert [base64.b64decode(e["body"]) for e in second["events"]] == big[2:]
    assert second["more"] is False
    with relay.client() as client:
        assert client.post("/relay/ack", json={"cursor": second["next"]}).status_code == 200


def test_bad_cursors_and_limits_are_400(relay: RunningRelay) -> None:
    with relay.client() as client:
        for params in (
            {"after": "not a cursor"},
            {"after": "abc-"},
            {"after": "abc-1" + "0" * 30},
            {"limit": 0},
            {"limit": 501},
            {"wait": -1},
            {"wait": 31},
        ):
            r = client.get("/relay/events", params=params)
            assert r.status_code == 400, (params, r.text)
        assert client.post("/relay/ack", json={"cursor": "junk"}).status_code == 400
        assert client.post("/relay/ack", json={}).status_code == 400
        assert client.post("/relay/ack", content=b"[").status_code == 400
        # A cursor of another relay database (this one was replaced): reads from the oldest
        # unacknowledged event, acknowledges nothing.
        assert client.post("/relay/ack", json={"cursor": "0000-99"}).json() == {"acked": 0}
        assert client.get("/relay/events", params={"after": "0000-99"}).json()["events"] == (
            relay.pending()
        )


def test_a_long_poll_returns_as_soon_as_an_event_arrives(relay: RunningRelay) -> None:
    cursor = _last_cursor(relay)
    raw = wire(text_message()[1])
    timer = threading.Timer(0.3, relay.post, args=(raw, sign(raw)))
    began = time.monotonic()
    timer.start()
    try:
        page = relay.events(cursor, wait=10)
    finally:
        timer.join()
    assert time.monotonic() - began < 5
    assert [base64.b64decode(e["body"]) for e in page["events"]] == [raw]


def test_without_secrets_or_token_the_relay_refuses_everything(tmp_path: Path) -> None:
    env = {k: v for k, v in relay_env().items() if not k.startswith("CLINICBOT_")}
    bare = start_relay(tmp_path, env=env)
    try:
        raw = wire(text_message()[1])
        r = bare.post(raw, sign(raw))
        assert r.status_code == 403
        assert "secret" in r.text
        params = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
        assert httpx.get(f"{bare.url}/webhooks/whatsapp", params=params).status_code == 403
        with bare.client("anything") as client:
            r = client.get("/relay/events")
            assert r.status_code == 403
            assert "CLINICBOT_RELAY_TOKEN" in r.json()["detail"]
            assert client.post("/relay/ack", json={"cursor": "a-1"}).status_code == 403
    finally:
        bare.stop()
    assert any("CLINICBOT_RELAY_TOKEN is not set" in line for line in bare.output)


def test_a_second_relay_on_the_same_data_dir_refuses(relay: RunningRelay) -> None:
    second = subprocess.run(
        relay_command(relay.data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        env=relay_env(),
    )
    assert second.returncode != 0
    assert "already running" in second.stderr
    assert "clinicbot relay: http" not in second.stdout
    with relay.client() as client:
        assert client.get("/relay/events").status_code == 200


def test_relay_help_documents_its_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "clinicbot", "relay", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for option in ("--data-dir", "--host", "--port"):
        assert option in result.stdout
    assert "--webhook-port" not in result.stdout


def test_backoff_doubles_from_one_second_to_a_minute_with_jitter() -> None:
    backoff = Backoff()
    for _ in range(3):
        delays = [backoff.next() for _ in range(10)]
        bounds = [min(60.0, 2.0**n) for n in range(10)]
        assert all(b / 2 <= d <= b for d, b in zip(delays, bounds, strict=True)), delays
        backoff.reset()
    assert len({round(Backoff().next(), 9) for _ in range(20)}) > 1  # jittered


# --- the relay and the clinic --------------------------------------------------------------


def test_webhooks_through_the_relay_are_stored_once(tmp_path: Path, processes: list[Any]) -> None:
    relay = start_relay(tmp_path / "relay")
    processes.append(relay)
    clinic = start_server(tmp_path / "clinic", env=clinic_env(relay.url))
    processes.append(clinic)

    ids = []
    for n in range(6):
        wamid, body = text_message(f"through the relay {n}")
        ids.append(wamid)
        relay.send(body)
    again_id, again = text_message("sent twice")
    relay.send(again)
    relay.send(again)  # Meta's redelivery: a second event, the same message
    ids.append(again_id)

    wait_for(lambda: len(stored(clinic, ids)) == len(ids), "the clinic to store them")
    wait_for(lambda: relay.pending() == [], "the relay to be acknowledged")
    assert stored(clinic, ids) == dict.fromkeys(ids, 1)
    assert relay.events(stored_cursor(clinic))["events"] == []  # its cursor is at the end
    (row,) = read_db(
        clinic.data_dir, "SELECT * FROM inbound_messages WHERE wa_message_id = ?", ids[0]
    )
    assert (row["sender"], row["type"], row["profile_name"]) == (
        "16505551234",
        "text",
        "Sheena Nelson",
    )
    assert json.loads(row["body"])["text"]["body"] == "through the relay 0"
    status = relay_status(clinic)
    assert status["state"] == "polling"
    assert status["relay_url"] == relay.url
    assert status["received"] == 8 and status["skipped"] == 0
    assert status["backlog_acked"] is True and status["failures"] == 0


class AckGate:
    """A forwarding proxy in front of the relay that can hold the clinic's acknowledgement,
    so that the clinic can be killed between storing events and acknowledging them."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.holding = threading.Event()
        self.held = threading.Event()
        self.release = threading.Event()
        gate = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gate.forward(self, "GET")

            def do_POST(self) -> None:
                gate.forward(self, "POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, request: http.server.BaseHTTPRequestHandler, method: str) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        if method == "POST" and request.path == "/relay/ack" and self.holding.is_set():
            self.held.set()
            self.release.wait(60)
            return  # the caller is dead by now; it gets no answer
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("authorization", "content-type")
        }
        answer = httpx.request(
            method, self.upstream + request.path, content=body, headers=headers, timeout=60
        )
        request.send_response(answer.status_code)
        request.send_header("Content-Type", answer.headers.get("content-type", "text/plain"))
        request.send_header("Content-Length", str(len(answer.content)))
        request.end_headers()
        request.wfile.write(answer.content)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.reliability
def test_killed_between_storing_and_acknowledging_nothing_is_lost_or_doubled(
    tmp_path: Path, processes: list[Any]
) -> None:
    relay = start_relay(tmp_path / "relay")
    processes.append(relay)
    ids = []
    for n in range(3):
        wamid, body = text_message(f"before the crash {n}")
        ids.append(wamid)
        relay.send(body)
    gate = AckGate(relay.url)
    gate.holding.set()
    try:
        first = start_server(tmp_path / "clinic", env=clinic_env(gate.url))
        processes.append(first)
        wait_for(gate.held.is_set, "the clinic's acknowledgement")
        # Stored and committed with the cursor, not yet acknowledged: now the power goes.
        assert stored(first, ids) == dict.fromkeys(ids, 1)
        assert stored_cursor(first) == _last_cursor(relay)
        first.process.kill()
        first.process.wait()
        assert len(relay.pending()) == 3

        gate.holding.clear()
        gate.release.set()
        later_id, later = text_message("while the clinic was down")
        relay.send(later)
        ids.append(later_id)

        second = start_server(tmp_path / "clinic", env=clinic_env(gate.url))
        processes.append(second)
        wait_for(lambda: len(stored(second, ids)) == 4, "the later message")
        wait_for(lambda: relay.pending() == [], "the relay to be acknowledged")
        assert stored(second, ids) == dict.fromkeys(ids, 1)
        assert read_db(second.data_dir, "SELECT count(*) FROM inbound_messages")[0][0] == 4
    finally:
        gate.close()


@pytest.mark.reliability
def test_a_relay_outage_is_ridden_out_with_backoff(tmp_path: Path, processes: list[Any]) -> None:
    relay = start_relay(tmp_path / "relay")
    processes.append(relay)
    clinic = start_server(tmp_path / "clinic", env=clinic_env(relay.url))
    processes.append(clinic)
    before_id, before = text_message("before the outage")
    relay.send(before)
    wait_for(lambda: stored(clinic, [before_id]), "the first message")

    assert relay.stop() == 0
    down = wait_for(
        lambda: (s := relay_status(clinic))["state"] == "retrying" and s, "the clinic to notice"
    )
    assert down["last_error"] and "cannot reach the relay" in down["last_error"]
    assert down["failures"] >= 1 and down["retry_in"] is not None

    back = start_relay(relay.data_dir, port=relay.port)
    processes.append(back)
    up = wait_for(
        lambda: (s := relay_status(clinic))["state"] == "polling" and s,
        "the clinic to recover",
        timeout=30,
    )
    assert up["failures"] == 0 and up["retry_in"] is None
    assert up["last_success"] > down["last_error_at"]
    after_id, after = text_message("after the outage")
    back.send(after)
    wait_for(lambda: stored(clinic, [after_id]), "the message after the outage")
    assert stored(clinic, [before_id, after_id]) == {before_id: 1, after_id: 1}
    wait_for(lambda: back.pending() == [], "the relay to be acknowledged")


def test_a_tampered_event_is_skipped_and_does_not_block_the_queue(
    tmp_path: Path, processes: list[Any]
) -> None:
    relay = start_relay(tmp_path / "relay")
    processes.append(relay)
    secret_text = f"tampered secret words {uuid.uuid4().hex}"
    bad_body, body_b = text_message(secret_text)
    bad_sig, body_d = text_message("signature swapped")
    relay.send(body_b)
    relay.send(body_d)
    with closing(sqlite3.connect(tmp_path / "relay" / "relay.db", timeout=30)) as db, db:
        raw_b = wire(body_b)
        changed = raw_b.replace(b"tampered", b"Tampered")
        db.execute("UPDATE relay_events SET body = ? WHERE body = ?", [changed, raw_b])
        db.execute(
            "UPDATE relay_events SET signature = ? WHERE body = ?",
            [sign(wire(text_message()[1])), wire(body_d)],
        )
        assert db.total_changes == 2

    clinic = start_server(tmp_path / "clinic", env=clinic_env(relay.url))
    processes.append(clinic)
    # Nothing verifies yet: held (a wrong secret here would look the same), not dropped.
    held = wait_for(lambda: (s := relay_status(clinic))["state"] == "retrying" and s, "a hold")
    assert "none of 2 relayed webhooks verifies" in held["last_error"]
    assert len(relay.pending()) == 2

    good_a, body_a = text_message("first good")
    good_c, body_c = text_message("second good")
    relay.send(body_a)
    relay.send(body_c)
    wait_for(lambda: len(stored(clinic, [good_a, good_c])) == 2, "the good messages")
    wait_for(lambda: relay.pending() == [], "every event acknowledged, the bad ones too")
    assert stored(clinic, [bad_body, bad_sig]) == {}
    good_e, body_e = text_message("after the bad ones")
    relay.send(body_e)
    wait_for(lambda: stored(clinic, [good_e]), "a message after the bad ones")
    status = relay_status(clinic)
    assert (status["received"], status["skipped"]) == (3, 2)
    log = "".join(clinic.output)
    assert log.count("skipped: its signature does not match") == 2
    assert secret_text.split()[-1] not in log and "16505551234" not in log


def test_a_clinic_that_cannot_verify_takes_and_acknowledges_nothing(
    tmp_path: Path, processes: list[Any]
) -> None:
    relay = start_relay(tmp_path / "relay")
    processes.append(relay)
    relay.send(text_message()[1])
    relay.send(text_message()[1])
    no_secret = start_server(
        tmp_path / "no-secret", env=clinic_env(relay.url, CLINICBOT_WHATSAPP_APP_SECRET="")
    )
    processes.append(no_secret)
    wrong_secret = start_server(
        tmp_path / "wrong-secret",
        env=clinic_env(relay.url, CLINICBOT_WHATSAPP_APP_SECRET="not-the-relay's"),
    )
    processes.append(wrong_secret)

    status = wait_for(
        lambda: (s := relay_status(no_secret))["state"] == "misconfigured" and s, "no secret"
    )
    assert "CLINICBOT_WHATSAPP_APP_SECRET" in status["last_error"]
    status = wait_for(
        lambda: (s := relay_status(wrong_secret))["failures"] >= 2 and s, "a wrong secret"
    )
    assert status["state"] == "retrying"
    assert "CLINICBOT_WHATSAPP_APP_SECRET must be the relay's" in status["last_error"]
    assert len(relay.pending()) == 2
    for clinic in (no_secret, wrong_secret):
        assert read_db(clinic.data_dir, "SELECT count(*) FROM inbound_messages")[0][0] == 0
        assert stored_cursor(clinic) is None


def test_the_relay_status_without_a_relay_is_off(api: httpx.Client) -> None:
    status = api.get("/api/v1/relay").json()
    assert status["state"] == "off" and status["relay_url"] is None
    assert "/api/v1/relay" in api.get("/schema/openapi.json").json()["paths"]
