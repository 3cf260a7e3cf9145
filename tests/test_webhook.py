"""The webhook listener over real HTTP: signed bodies in, rows in SQLite, the right answers.

Every body is serialised as Meta does (ASCII-escaped JSON), signed over exactly the bytes
that go on the wire, and POSTed to a real ``clinicbot serve`` on 127.0.0.1. What it stored
is read back from ``<data>/clinicbot.db`` through a read-only SQLite connection (WAL, so
reading beside the running server is fine). The bodies are the shapes of WHATSAPP.md §2.2
(tests/webhooks/*.json) and pywa's fixtures (tests/webhooks/pywa/); tests give message and
status ids a per-test suffix, so each one sees only its own rows on the shared server.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import VERIFY_TOKEN, RunningServer, start_server
from tests.factories import make_clinic_api

APP_SECRET = "test-app-secret"
PHONE_NUMBER_ID = "106540352242922"  # the clinic's number throughout WHATSAPP.md §2.2
UNKNOWN_NUMBER_ID = "109999999999999"  # batch.json's third entry: no clinic has it
MAX_BODY = 4 * 1024 * 1024

FIXTURES = Path(__file__).parent / "webhooks"
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))
PYWA_FILES = sorted((FIXTURES / "pywa").glob("*.json"))

JSON = dict[str, Any]


# --- wire format -------------------------------------------------------------------------


def wire(body: object) -> bytes:
    """The bytes Meta sends: compact JSON with every non-ASCII character escaped."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()


def wire_utf8(body: object) -> bytes:
    """The same JSON, same separators, but non-ASCII left as raw UTF-8: other bytes."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def sign(raw: bytes, secret: str = APP_SECRET) -> str:
    """The ``X-Hub-Signature-256`` value for ``raw`` (WHATSAPP.md §3)."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def load(path: Path) -> JSON:
    body: JSON = json.loads(path.read_text(encoding="utf-8"))
    return body


def fixture(name: str) -> JSON:
    return load(FIXTURES / f"{name}.json")


def _values(body: JSON) -> Iterator[JSON]:
    for entry in body["entry"]:
        for change in entry["changes"]:
            if isinstance(change.get("value"), dict):
                yield change["value"]


def unique(body: JSON, suffix: str) -> JSON:
    """A copy whose message and status ids end in ``suffix``."""
    body = copy.deepcopy(body)
    for value in _values(body):
        for item in [*value.get("messages", []), *value.get("statuses", [])]:
            item["id"] = item["id"] + suffix
    return body


def for_clinic(body: JSON) -> JSON:
    """A copy addressed to the test clinic's number (pywa's fixtures use their own)."""
    body = copy.deepcopy(body)
    for value in _values(body):
        if isinstance(value.get("metadata"), dict):
            value["metadata"]["phone_number_id"] = PHONE_NUMBER_ID
    return body


def new_suffix() -> str:
    return "." + uuid.uuid4().hex


# --- what a body must leave in the database ---------------------------------------------


@dataclass(frozen=True)
class WantMessage:
    wa_message_id: str
    phone_number_id: str
    sender: str
    wa_id: str | None
    user_id: str | None
    profile_name: str | None
    type: str
    wa_timestamp: int
    body: JSON


@dataclass(frozen=True)
class WantStatus:
    wa_message_id: str
    status: str
    wa_timestamp: int
    recipient: str | None
    body: JSON


@dataclass(frozen=True)
class WantEvent:
    field: str
    change: JSON


@dataclass
class Want:
    messages: list[WantMessage] = field(default_factory=list)
    statuses: list[WantStatus] = field(default_factory=list)
    events: list[WantEvent] = field(default_factory=list)


def expected(body: JSON) -> Want:
    """Walk entry → changes → value → messages / statuses, as the contract reads them.

    A ``messages`` change carrying messages or statuses yields rows of those; every other
    change (account, template, call updates, value-level errors, echoes) is an event.
    """
    want = Want()
    for entry in body["entry"]:
        for change in entry["changes"]:
            value = change.get("value")
            if (
                change.get("field") != "messages"
                or not isinstance(value, dict)
                or not {"messages", "statuses"} & value.keys()
            ):
                want.events.append(WantEvent(change["field"], change))
                continue
            number = value["metadata"]["phone_number_id"]
            contacts = value.get("contacts", [])
            for m in value.get("messages", []):
                sender = m.get("from") or m["from_user_id"]
                contact = next(
                    (c for c in contacts if sender in (c.get("wa_id"), c.get("user_id"))), None
                )
                want.messages.append(
                    WantMessage(
                        wa_message_id=m["id"],
                        phone_number_id=number,
                        sender=sender,
                        wa_id=m.get("from"),
                        user_id=m.get("from_user_id") or (contact or {}).get("user_id"),
                        profile_name=contact["profile"]["name"] if contact else None,
                        type=m["type"],
                        wa_timestamp=int(m["timestamp"]),
                        body=m,
                    )
                )
            for s in value.get("statuses", []):
                want.statuses.append(
                    WantStatus(s["id"], s["status"], int(s["timestamp"]), s.get("recipient_id"), s)
                )
    return want


# --- the server --------------------------------------------------------------------------


def read_db(server: RunningServer, sql: str, *params: object) -> list[sqlite3.Row]:
    """Rows from the server's database, through a read-only connection of our own."""
    uri = (server.data_dir / "clinicbot.db").as_uri() + "?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=30)) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, params).fetchall()


def count(server: RunningServer, table: str) -> int:
    assert table in {"inbound_messages", "message_statuses", "webhook_events"}
    return int(read_db(server, "SELECT count(*) FROM " + table)[0][0])  # noqa: S608


@dataclass
class Hook:
    server: RunningServer
    client: httpx.Client
    clinic_id: str

    @property
    def url(self) -> str:
        return self.server.webhook_url

    def post(self, raw: bytes, signature: str | None, **headers: str) -> httpx.Response:
        sent = {"Content-Type": "application/json", **headers}
        if signature is not None:
            sent["X-Hub-Signature-256"] = signature
        return self.client.post(self.url, content=raw, headers=sent)

    def send(self, body: object) -> httpx.Response:
        raw = wire(body)
        return self.post(raw, sign(raw))

    def messages(self, suffix: str) -> dict[str, sqlite3.Row]:
        rows = read_db(
            self.server,
            "SELECT * FROM inbound_messages WHERE wa_message_id LIKE ?",
            "%" + suffix,
        )
        return {row["wa_message_id"]: row for row in rows}

    def statuses(self, suffix: str) -> dict[tuple[str, str], sqlite3.Row]:
        rows = read_db(
            self.server,
            "SELECT * FROM message_statuses WHERE wa_message_id LIKE ?",
            "%" + suffix,
        )
        return {(row["wa_message_id"], row["status"]): row for row in rows}

    def events(self, field_: str) -> list[object]:
        rows = read_db(self.server, "SELECT body FROM webhook_events WHERE field = ?", field_)
        return [json.loads(row["body"]) for row in rows]

    def assert_stored(self, body: JSON, suffix: str) -> Want:
        """Exactly the messages and statuses of ``body`` are stored, each right; its
        events are among the stored events."""
        want = expected(body)
        assert want.messages or want.statuses or want.events
        assert len({m.wa_message_id for m in want.messages}) == len(want.messages)
        assert len({(s.wa_message_id, s.status) for s in want.statuses}) == len(want.statuses)

        got = self.messages(suffix)
        assert set(got) == {m.wa_message_id for m in want.messages}
        for m in want.messages:
            row = got[m.wa_message_id]
            clinic = self.clinic_id if m.phone_number_id == PHONE_NUMBER_ID else None
            assert {
                "clinic_id": row["clinic_id"],
                "phone_number_id": row["phone_number_id"],
                "sender": row["sender"],
                "wa_id": row["wa_id"],
                "user_id": row["user_id"],
                "profile_name": row["profile_name"],
                "type": row["type"],
                "wa_timestamp": row["wa_timestamp"],
            } == {
                "clinic_id": clinic,
                "phone_number_id": m.phone_number_id,
                "sender": m.sender,
                "wa_id": m.wa_id,
                "user_id": m.user_id,
                "profile_name": m.profile_name,
                "type": m.type,
                "wa_timestamp": m.wa_timestamp,
            }, m.wa_message_id
            assert json.loads(row["body"]) == m.body
            assert row["received_at"]
            columns = row.keys()  # (``in row`` would look among the values)
            assert "processed_at" in columns  # NULL until the bot has handled it

        got_statuses = self.statuses(suffix)
        assert set(got_statuses) == {(s.wa_message_id, s.status) for s in want.statuses}
        for s in want.statuses:
            row = got_statuses[s.wa_message_id, s.status]
            assert (row["wa_timestamp"], row["recipient"]) == (s.wa_timestamp, s.recipient)
            assert json.loads(row["body"]) == s.body
            assert row["received_at"]

        for event in want.events:
            stored = self.events(event.field)
            assert event.change in stored or event.change.get("value") in stored, event.field
        return want


def create_clinic(server: RunningServer, name: str, number_id: str | None = None) -> str:
    with server.client() as api:
        clinic = make_clinic_api(api, name=name)
        if number_id is not None:
            r = api.patch(
                f"/api/v1/clinics/{clinic.id}", json={"whatsapp_phone_number_id": number_id}
            )
            assert r.status_code == 200, r.text
            assert r.json()["whatsapp_phone_number_id"] == number_id
    return clinic.id


@pytest.fixture(scope="module")
def hook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hook]:
    """One server with the app secret, the clinic that owns the number, and a second clinic
    (so no message reaches a clinic through the single-clinic rule here)."""
    server = start_server(
        tmp_path_factory.mktemp("webhook-data"),
        env={"CLINICBOT_WHATSAPP_APP_SECRET": APP_SECRET},
    )
    try:
        clinic_id = create_clinic(server, "Webhook", PHONE_NUMBER_ID)
        create_clinic(server, "Other")
        with httpx.Client(timeout=60) as client:
            yield Hook(server, client, clinic_id)
    finally:
        server.stop()


def assert_nothing_stored(hook: Hook, suffix: str) -> None:
    assert hook.messages(suffix) == {}
    assert hook.statuses(suffix) == {}


def text_message(suffix: str, text: str = "Hi", timestamp: int | None = None) -> JSON:
    """text.json with its id made unique and, optionally, another text or time."""
    body = unique(fixture("text"), suffix)
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    message["text"]["body"] = text
    if timestamp is not None:
        message["timestamp"] = str(timestamp)
    return body


def only_id(body: JSON) -> str:
    (message,) = [m for v in _values(body) for m in v.get("messages", [])]
    wa_message_id: str = message["id"]
    return wa_message_id


# --- signing -----------------------------------------------------------------------------


def test_signing_matches_the_published_vectors() -> None:
    """WHATSAPP.md §3: the helper every test signs with computes Meta's HMAC."""
    assert sign(b"test", "secret") == (
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    )
    assert sign(b'{"object":"whatsapp_business_account","entry":[]}', "app_secret_123") == (
        "sha256=02fe0c96d28c59ddb7cf81eff0ca05809b360ba73b63c28210b5906a0a107d1f"
    )
    # The escaped and the raw form of the same text are different bytes, so sign differently.
    escaped, raw = b'{"body":"Hola Jos\\u00e9"}', '{"body":"Hola José"}'.encode()
    assert json.loads(escaped) == json.loads(raw)
    assert sign(escaped) != sign(raw)
    assert wire({"body": "Hola José"}) == escaped


def test_fixtures_are_what_the_tests_think() -> None:
    """Every shape of WHATSAPP.md §2.2 is here, and the walk counts what is in them."""
    types = {m.type for path in FIXTURE_FILES for m in expected(load(path)).messages}
    assert {"text", "interactive", "button", "image", "audio", "location", "unsupported"} <= types
    assert {"sticker", "reaction"} <= types
    statuses = {s.status for path in FIXTURE_FILES for s in expected(load(path)).statuses}
    assert {"sent", "delivered", "read", "failed"} <= statuses
    batch = expected(fixture("batch"))
    assert (len(batch.messages), len(batch.statuses), len(batch.events)) == (6, 5, 1)
    bsuid = expected(fixture("bsuid_only")).messages[0]
    assert (bsuid.wa_id, bsuid.sender) == (None, "US.13491208655302741918")
    assert len(PYWA_FILES) == 19 and (FIXTURES / "pywa" / "LICENSE").is_file()


# --- every shape is stored -----------------------------------------------------------------


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=[p.stem for p in FIXTURE_FILES])
def test_every_fixture_is_stored(hook: Hook, path: Path) -> None:
    suffix = new_suffix()
    body = unique(load(path), suffix)
    r = hook.send(body)
    assert r.status_code == 200, r.text
    hook.assert_stored(body, suffix)


PYWA_CASES = [
    pytest.param(path, case, id=f"{path.stem}-{case}") for path in PYWA_FILES for case in load(path)
]


@pytest.mark.parametrize(("path", "case"), PYWA_CASES)
def test_every_pywa_case_is_stored(hook: Hook, path: Path, case: str) -> None:
    """pywa's real payload shapes, re-addressed to the clinic and re-signed: 200, every
    message and status stored, every other update kept as an event."""
    suffix = new_suffix()
    body = unique(for_clinic(load(path)[case]), suffix)
    r = hook.send(body)
    assert r.status_code == 200, r.text
    hook.assert_stored(body, suffix)


def test_a_batch_routes_each_message_by_its_number(hook: Hook) -> None:
    """batch.json's third entry is for a number no clinic has: stored, with no clinic."""
    suffix = new_suffix()
    body = unique(fixture("batch"), suffix)
    assert hook.send(body).status_code == 200
    clinics = {row["phone_number_id"]: row["clinic_id"] for row in hook.messages(suffix).values()}
    assert clinics == {PHONE_NUMBER_ID: hook.clinic_id, UNKNOWN_NUMBER_ID: None}


def test_a_batch_of_a_thousand_messages_is_stored(hook: Hook) -> None:
    """Meta batches up to 1000 updates in one POST; every one of them is kept."""
    suffix = new_suffix()
    body = fixture("text")
    value = body["entry"][0]["changes"][0]["value"]
    template = value["messages"][0]
    value["messages"] = [
        {**template, "id": f"wamid.batch{i:04d}{suffix}", "text": {"body": f"message {i}"}}
        for i in range(1000)
    ]
    assert hook.send(body).status_code == 200
    assert len(hook.messages(suffix)) == 1000
    hook.assert_stored(body, suffix)


def test_utf8_on_the_wire_is_signed_over_its_own_bytes(hook: Hook) -> None:
    """Meta escapes non-ASCII, but the signature is over raw bytes whatever they are: a body
    in raw UTF-8, signed over those bytes, is as good."""
    suffix = new_suffix()
    body = unique(fixture("text_hindi"), suffix)
    escaped = wire(body)
    raw = wire_utf8(body)
    assert escaped.isascii() and b"\\u0928" in escaped
    assert not raw.isascii() and "नमस्ते".encode() in raw
    r = hook.post(raw, sign(raw))
    assert r.status_code == 200, r.text
    (row,) = hook.messages(suffix).values()
    assert row["profile_name"] == "प्रिया शर्मा"
    assert json.loads(row["body"])["text"]["body"].startswith("नमस्ते")


def test_a_message_without_an_id_is_kept(hook: Hook) -> None:
    marker = uuid.uuid4().hex
    body = text_message(new_suffix(), text=f"no id {marker}")
    del body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    assert hook.send(body).status_code == 200
    rows = read_db(
        hook.server,
        "SELECT wa_message_id, sender FROM inbound_messages WHERE body LIKE ?",
        f"%{marker}%",
    )
    assert len(rows) == 1
    assert rows[0]["wa_message_id"].startswith("nohash:")
    assert rows[0]["sender"] == "16505551234"


@pytest.mark.parametrize("days", [2, 8])
def test_an_old_message_is_still_stored(hook: Hook, days: int) -> None:
    """A redelivery days late is stored with its own time; acting on it is the bot's job."""
    suffix = new_suffix()
    sent_at = int(time.time()) - days * 86400
    body = text_message(suffix, timestamp=sent_at)
    assert hook.send(body).status_code == 200
    (row,) = hook.messages(suffix).values()
    assert row["wa_timestamp"] == sent_at


# --- duplicates and order ----------------------------------------------------------------


PROCESSING = ("processed_at", "patient_id", "outcome")


def received(row: sqlite3.Row) -> dict[str, object]:
    """A stored message as received: the bot may have processed it since."""
    return {k: v for k, v in dict(row).items() if k not in PROCESSING}


def test_a_redelivery_is_acknowledged_and_adds_nothing(hook: Hook) -> None:
    suffix = new_suffix()
    body = unique(fixture("batch"), suffix)
    assert hook.send(body).status_code == 200
    first_messages, first_statuses = hook.messages(suffix), hook.statuses(suffix)
    totals = [count(hook.server, t) for t in ("inbound_messages", "message_statuses")]

    r = hook.send(body)
    assert r.status_code == 200, r.text
    assert [count(hook.server, t) for t in ("inbound_messages", "message_statuses")] == totals
    again_messages, again_statuses = hook.messages(suffix), hook.statuses(suffix)
    assert {k: received(v) for k, v in again_messages.items()} == {
        k: received(v) for k, v in first_messages.items()
    }
    assert {k: dict(v) for k, v in again_statuses.items()} == {
        k: dict(v) for k, v in first_statuses.items()
    }
    hook.assert_stored(body, suffix)


def test_the_first_delivery_of_an_id_wins(hook: Hook) -> None:
    """A duplicate is the same wamid (or wamid and status), whatever else the body says:
    a later copy in another batch, with another name or time, changes nothing."""
    suffix = new_suffix()
    first = unique(fixture("text"), suffix)
    status = unique(fixture("status_delivered"), suffix)
    assert hook.send(first).status_code == 200
    assert hook.send(status).status_code == 200
    stored = {k: received(v) for k, v in hook.messages(suffix).items()}
    stored_status = {k: dict(v) for k, v in hook.statuses(suffix).items()}

    later = copy.deepcopy(first)
    value = later["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["profile"]["name"] = "Someone Else"
    value["messages"][0]["text"]["body"] = "changed"
    value["messages"][0]["timestamp"] = "1749419999"
    later_status = copy.deepcopy(status)
    later_status["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = "1750039999"
    later["entry"] += later_status["entry"]
    assert hook.send(later).status_code == 200
    assert {k: received(v) for k, v in hook.messages(suffix).items()} == stored
    assert {k: dict(v) for k, v in hook.statuses(suffix).items()} == stored_status


def test_a_status_delivered_twice_is_one_row(hook: Hook) -> None:
    suffix = new_suffix()
    body = unique(fixture("status_delivered"), suffix)
    assert hook.send(body).status_code == 200
    assert hook.send(body).status_code == 200
    assert len(hook.statuses(suffix)) == 1
    hook.assert_stored(body, suffix)


def test_statuses_out_of_order_are_all_kept(hook: Hook) -> None:
    """read arrives before delivered, and sent last: every one of them is stored."""
    suffix = new_suffix()
    for name in ("status_read", "status_delivered", "status_sent"):
        assert hook.send(unique(fixture(name), suffix)).status_code == 200
    (wamid,) = {key[0] for key in hook.statuses(suffix)}
    assert {key[1] for key in hook.statuses(suffix)} == {"read", "delivered", "sent"}
    assert wamid.endswith(suffix)


def test_duplicates_inside_one_body_are_one_row(hook: Hook) -> None:
    suffix = new_suffix()
    body = text_message(suffix)
    value = body["entry"][0]["changes"][0]["value"]
    value["messages"] = value["messages"] * 2
    status = unique(fixture("status_delivered"), suffix)["entry"][0]["changes"][0]
    body["entry"][0]["changes"] += [status, copy.deepcopy(status)]
    body["entry"].append(copy.deepcopy(body["entry"][0]))
    r = hook.send(body)
    assert r.status_code == 200, r.text
    assert len(hook.messages(suffix)) == 1
    assert len(hook.statuses(suffix)) == 1


def test_concurrent_redeliveries_store_once(hook: Hook) -> None:
    """Meta may deliver the same batch on several connections at once."""
    suffix = new_suffix()
    body = unique(fixture("batch"), suffix)
    raw = wire(body)
    senders = 16
    start = threading.Barrier(senders)
    codes: list[int] = []

    def deliver() -> None:
        with httpx.Client(timeout=60) as client:
            start.wait()
            r = client.post(hook.url, content=raw, headers={"X-Hub-Signature-256": sign(raw)})
            codes.append(r.status_code)

    threads = [threading.Thread(target=deliver) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * senders
    hook.assert_stored(body, suffix)


# --- refusals ----------------------------------------------------------------------------


def test_a_missing_signature_is_401_and_nothing_stored(hook: Hook) -> None:
    suffix = new_suffix()
    r = hook.post(wire(unique(fixture("batch"), suffix)), None)
    assert r.status_code == 401
    assert_nothing_stored(hook, suffix)


def _bad_signatures(raw: bytes, body: JSON) -> dict[str, str]:
    good = sign(raw)
    digest = good.removeprefix("sha256=")
    return {
        "other-secret": sign(raw, "another-app-secret"),
        "verify-token-as-key": sign(raw, VERIFY_TOKEN),
        "sha1-prefix": "sha1=" + digest,
        "no-prefix": digest,
        "empty": "",
        "prefix-only": "sha256=",
        "truncated": good[:-2],
        "extra-byte": sign(raw + b" "),
        "other-body": sign(wire({**body, "object": "page"})),
        "raw-utf8-form": sign(wire_utf8(body)),
        "uppercase-hex": "sha256=" + digest.upper(),
        "uppercase-prefix": "SHA256=" + digest,
        "re-serialised": sign(json.dumps(body, indent=2).encode()),
    }


@pytest.mark.parametrize("kind", list(_bad_signatures(b"", {"object": ""})))
def test_a_wrong_signature_is_403_and_nothing_stored(hook: Hook, kind: str) -> None:
    suffix = new_suffix()
    body = unique(fixture("text_hindi"), suffix)
    raw = wire(body)
    r = hook.post(raw, _bad_signatures(raw, body)[kind])
    assert r.status_code == 403, (kind, r.text)
    assert_nothing_stored(hook, suffix)


def test_a_signature_over_the_escaped_form_does_not_cover_the_raw_form(hook: Hook) -> None:
    """The same JSON re-serialised is different bytes: a signature never carries over."""
    suffix = new_suffix()
    body = unique(fixture("text_hindi"), suffix)
    raw = wire_utf8(body)
    r = hook.post(raw, sign(wire(body)))
    assert r.status_code == 403
    assert_nothing_stored(hook, suffix)


def test_the_header_name_is_case_insensitive(hook: Hook) -> None:
    suffix = new_suffix()
    raw = wire(text_message(suffix))
    r = hook.client.post(hook.url, content=raw, headers={"x-hub-signature-256": sign(raw)})
    assert r.status_code == 200
    assert len(hook.messages(suffix)) == 1


def _not_webhooks(suffix: str) -> dict[str, bytes]:
    """Correctly signable bodies that are not webhooks; most carry a real message (with the
    suffix in its id) so that 'nothing stored' means something."""
    good = text_message(suffix)
    raw = wire(good)
    entry = good["entry"][0]
    return {
        "truncated-json": raw[:-1],
        "trailing-garbage": raw + b"}",
        "not-json": b"object=whatsapp_business_account",
        "empty": b"",
        "invalid-utf8": raw[:40] + b"\xff\xfe" + raw[40:],
        "nan": wire({**good, "object": float("nan")}),
        "null": b"null",
        "a-list": wire([good]),
        "a-string": wire(raw.decode()),
        "object-only": b'{"object": "x"}',
        "no-object": wire({"entry": good["entry"]}),
        "entry-an-object": wire({"object": good["object"], "entry": {"0": entry}}),
        "entry-missing": wire({"object": good["object"], "changes": entry["changes"]}),
        "changes-an-object": wire(
            {"object": good["object"], "entry": [{**entry, "changes": entry["changes"][0]}]}
        ),
        "changes-missing": wire(
            {"object": good["object"], "entry": [{"id": entry["id"], **entry["changes"][0]}]}
        ),
    }


@pytest.mark.parametrize("kind", list(_not_webhooks("")))
def test_a_signed_body_that_is_not_a_webhook_is_400(hook: Hook, kind: str) -> None:
    suffix = new_suffix()
    raw = _not_webhooks(suffix)[kind]
    r = hook.post(raw, sign(raw))
    assert r.status_code == 400, (kind, r.text)
    assert_nothing_stored(hook, suffix)


def test_one_broken_entry_never_leaves_half_a_batch(hook: Hook) -> None:
    """A good entry beside one without ``changes[]``: the contract does not say whether that
    body is a webhook, but a 400 must store nothing and a 200 everything good."""
    suffix = new_suffix()
    body = text_message(suffix)
    body["entry"].append({"id": "102290129340398", "changes": "none"})
    r = hook.send(body)
    assert r.status_code in (200, 400), r.text
    assert len(hook.messages(suffix)) == (1 if r.status_code == 200 else 0)


def _padded(suffix: str, size: int) -> bytes:
    """A valid webhook of exactly ``size`` bytes (a long text message)."""
    body = text_message(suffix, text="")
    raw = wire(body)
    body = text_message(suffix, text="x" * (size - len(raw)))
    raw = wire(body)
    assert len(raw) == size
    return raw


def test_a_body_of_three_megabytes_is_stored(hook: Hook) -> None:
    """Meta's payloads go up to 3 MB."""
    suffix = new_suffix()
    raw = _padded(suffix, 3 * 1024 * 1024)
    r = hook.post(raw, sign(raw))
    assert r.status_code == 200, r.text
    assert len(hook.messages(suffix)) == 1


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_over_4_mib_is_413(hook: Hook, framing: str) -> None:
    suffix = new_suffix()
    raw = _padded(suffix, MAX_BODY + 1)
    headers = {"X-Hub-Signature-256": sign(raw), "Content-Type": "application/json"}

    def chunks() -> Iterator[bytes]:
        for at in range(0, len(raw), 65536):
            yield raw[at : at + 65536]

    with httpx.Client(timeout=60) as client:
        content = raw if framing == "content-length" else chunks()
        r = client.post(hook.url, content=content, headers=headers)
    assert r.status_code == 413
    assert_nothing_stored(hook, suffix)


def test_a_chunked_body_is_signed_over_its_bytes(hook: Hook) -> None:
    """No Content-Length (chunked transfer): still the raw bytes that are checked."""
    suffix = new_suffix()
    raw = wire(unique(fixture("batch"), suffix))
    parts = [raw[:100], raw[100:101], raw[101:]]
    r = hook.client.post(hook.url, content=iter(parts), headers={"X-Hub-Signature-256": sign(raw)})
    assert r.status_code == 200, r.text
    hook.assert_stored(unique(fixture("batch"), suffix), suffix)


# --- the rest of the listener --------------------------------------------------------------


def test_the_handshake_still_works(hook: Hook) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    r = hook.client.get(hook.url, params=params)
    assert (r.status_code, r.text) == (200, "1158201444")
    wrong = hook.client.get(hook.url, params={**params, "hub.verify_token": APP_SECRET})
    assert wrong.status_code == 403


def test_nothing_else_is_served(hook: Hook) -> None:
    origin = hook.url.removesuffix("/webhooks/whatsapp")
    raw = wire(text_message(new_suffix()))
    headers = {"X-Hub-Signature-256": sign(raw)}
    for path in ("/api/v1/clinics", "/schema/openapi.json", "/", "/webhooks/whatsapp/x"):
        assert hook.client.get(origin + path).status_code == 404, path
        assert hook.client.post(origin + path, content=raw, headers=headers).status_code in (
            404,
            405,
        ), path
    assert hook.client.put(hook.url, content=raw, headers=headers).status_code == 405
    assert hook.client.delete(hook.url).status_code == 405


def test_without_an_app_secret_every_post_is_403(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLINICBOT_WHATSAPP_APP_SECRET", raising=False)
    server = start_server(tmp_path / "data")
    try:
        create_clinic(server, "Unset", PHONE_NUMBER_ID)
        raw = wire(unique(fixture("batch"), new_suffix()))
        with httpx.Client(timeout=60) as client:
            for signature in (sign(raw), sign(raw, ""), None):
                headers = {} if signature is None else {"X-Hub-Signature-256": signature}
                r = client.post(server.webhook_url, content=raw, headers=headers)
                assert r.status_code == 403, signature
            handshake = client.get(
                server.webhook_url,
                params={
                    "hub.mode": "subscribe",
                    "hub.verify_token": VERIFY_TOKEN,
                    "hub.challenge": "42",
                },
            )
            assert (handshake.status_code, handshake.text) == (200, "42")
        for table in ("inbound_messages", "message_statuses", "webhook_events"):
            assert count(server, table) == 0, table
    finally:
        server.stop()


def test_a_single_clinic_takes_every_number(tmp_path: Path) -> None:
    """With no clinic nothing matches (stored, no clinic); with exactly one clinic, even
    without the number set, the message is that clinic's."""
    server = start_server(tmp_path / "data", env={"CLINICBOT_WHATSAPP_APP_SECRET": APP_SECRET})
    try:
        with httpx.Client(timeout=60) as client:
            hook = Hook(server, client, clinic_id="")
            before = new_suffix()
            assert hook.send(text_message(before)).status_code == 200
            assert [row["clinic_id"] for row in hook.messages(before).values()] == [None]

            hook.clinic_id = create_clinic(server, "Only")
            after = new_suffix()
            body = unique(fixture("batch"), after)
            assert hook.send(body).status_code == 200
            clinics = {row["clinic_id"] for row in hook.messages(after).values()}
            assert clinics == {hook.clinic_id}
    finally:
        server.stop()


# --- fuzz: no signed body, however odd, gets a 5xx -----------------------------------------

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def _rarely(
    usual: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], one_in: int
) -> st.SearchStrategy[Any]:
    """``usual``, except one time in ``one_in`` ``rare``."""
    return st.integers(1, one_in).flatmap(lambda n: rare if n == one_in else usual)


TEXTS: st.SearchStrategy[str] = _rarely(
    st.one_of(
        st.text(max_size=24),
        st.text(st.characters(categories=["Cc", "Co", "Zs", "Nd", "No"]), max_size=4),
        st.sampled_from(["", "\x00", "wamid.", "nohash:", PHONE_NUMBER_ID, "messages"]),
    ),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),  # lone surrogates
    100,
)
SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    _rarely(st.floats(allow_nan=False, allow_infinity=False), st.floats(), 100),
    TEXTS,
)
VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXTS, inner, max_size=4),
    max_leaves=12,
)
PHONES = st.sampled_from(["16505551234", "919876543210", "+919876543210", "US.1349120865"])
WAMIDS = st.uuids().map(lambda u: f"wamid.fuzz{u.hex}")
TIMESTAMPS = st.one_of(
    st.sampled_from(
        [
            *["1749416383", "0", "-1", "1e9", "1749416383.5", " 1749416383", "9" * 20],
            *["²", "①", "١٧٤٩٤١٦٣٨٣", "𝟏𝟕𝟒𝟗", "+17", "0x10", "1_000"],
        ]
    ),
    st.integers().map(str),
    st.integers(),
    st.floats(),
    VALUES,
)
TYPES = st.sampled_from(
    ["text", "image", "audio", "interactive", "button", "location", "unsupported", "system"]
)


def _or_junk(strategy: st.SearchStrategy[Any], one_in: int = 4) -> st.SearchStrategy[Any]:
    """``strategy``, except one time in ``one_in`` any JSON value at all."""
    return _rarely(strategy, VALUES, one_in)


def _shape(
    required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[Any]:
    """An object with the usual keys (each sometimes missing or junk) and maybe others."""
    return st.one_of(
        st.fixed_dictionaries(required, optional=optional),
        st.fixed_dictionaries({}, optional={**required, **optional}),
    )


MESSAGE = _shape(
    {
        "from": _or_junk(PHONES),
        "id": _or_junk(WAMIDS),
        "timestamp": TIMESTAMPS,
        "type": _or_junk(TYPES),
    },
    {
        "from_user_id": _or_junk(st.just("US.13491208655302741918")),
        "text": _or_junk(st.fixed_dictionaries({"body": TEXTS})),
        "context": VALUES,
        "interactive": VALUES,
        "errors": VALUES,
    },
)
STATUS = _shape(
    {
        "id": _or_junk(WAMIDS),
        "status": _or_junk(st.sampled_from(["sent", "delivered", "read", "failed", "played"])),
        "timestamp": TIMESTAMPS,
        "recipient_id": _or_junk(PHONES),
    },
    {"errors": VALUES, "pricing": VALUES, "recipient_user_id": VALUES},
)
CONTACT = _shape(
    {
        "profile": _or_junk(st.fixed_dictionaries({}, optional={"name": _or_junk(TEXTS)})),
        "wa_id": _or_junk(PHONES),
    },
    {"user_id": _or_junk(TEXTS)},
)
METADATA = _shape(
    {"phone_number_id": _or_junk(st.sampled_from([PHONE_NUMBER_ID, "1"]))},
    {"display_phone_number": VALUES},
)
VALUE = st.one_of(
    *(
        _shape(
            {
                "metadata": _or_junk(METADATA, 8),
                key: _or_junk(st.lists(_or_junk(item, 8), min_size=1, max_size=4), 8),
            },
            {
                "messaging_product": _or_junk(st.just("whatsapp")),
                "contacts": _or_junk(st.lists(_or_junk(CONTACT), max_size=3)),
                "errors": VALUES,
            },
        )
        for key, item in (("messages", MESSAGE), ("statuses", STATUS))
    ),
    st.dictionaries(TEXTS, VALUES, max_size=4),
)
CHANGE = _shape(
    {
        "field": _or_junk(st.sampled_from(["messages", "account_update", "calls"]), 8),
        "value": _or_junk(VALUE, 8),
    },
    {},
)
ENTRY = st.fixed_dictionaries(
    {"changes": _or_junk(st.lists(_or_junk(CHANGE, 8), min_size=1, max_size=3), 16)},
    optional={"id": VALUES, "time": VALUES},
)
ENVELOPE = st.fixed_dictionaries(
    {
        "object": _or_junk(st.just("whatsapp_business_account"), 16),
        "entry": _or_junk(st.lists(_or_junk(ENTRY, 16), min_size=1, max_size=3), 16),
    },
    optional={"extra": VALUES},
)


def _seeds() -> list[JSON]:
    seeds = [load(path) for path in FIXTURE_FILES]
    seeds += [for_clinic(body) for path in PYWA_FILES for body in load(path).values()]
    return seeds


SEEDS = _seeds()


def _paths(node: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if path:
        yield path
    if isinstance(node, dict):
        for key, child in node.items():
            yield from _paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths(child, (*path, index))


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> object:
    """A real body with one to four of its nodes replaced, deleted or emptied."""
    body: Any = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(body))[::-1]  # leaves first: draws lean to the first
        if not paths:
            break
        *parents, last = draw(st.sampled_from(paths))
        parent = body
        for key in parents:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "empty", "stringify"]))
        if action == "replace":
            parent[last] = draw(VALUES)
        elif action == "delete":
            del parent[last]
        elif action == "empty":
            parent[last] = type(parent[last])() if isinstance(parent[last], dict | list) else None
        else:
            parent[last] = json.dumps(parent[last])
    result: object = body
    return result


BIG = 3 * 1024 * 1024  # bytes of escaped text, well under the 4 MiB limit


def _log_size(draw: st.DrawFn, most: int) -> int:
    """1 to ``most``: a quarter of the time ``most`` itself, else spread evenly over the
    orders of magnitude (Hypothesis' own integers lean small)."""
    rnd = draw(st.randoms(use_true_random=False))
    if rnd.random() < 0.25:
        return most
    return min(most, round(2 ** rnd.uniform(0, most.bit_length())))


@st.composite
def huge_or_deep(draw: st.DrawFn) -> bytes:
    """Raw bodies: a huge string somewhere in a real message, or deep nesting."""
    body = text_message(new_suffix())
    message = body["entry"][0]["changes"][0]["value"]["messages"][0]
    kind = draw(st.sampled_from(["huge", "huge", "deep", "deep-top", "wide"]))
    if kind == "huge":
        char = draw(st.sampled_from(["x", "é", "😀", "\x00", "\\", '"', "\ud800", "न"]))
        cost = len(json.dumps(char)) - 2  # escaped, without the quotes
        text = char * _log_size(draw, BIG // cost)
        where = draw(st.sampled_from(["text", "id", "from", "type", "timestamp", "name", "key"]))
        if where == "text":
            message["text"]["body"] = text
        elif where == "name":
            body["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = text
        elif where == "key":
            message[text] = 1
        else:
            message[where] = text
        return wire(body)
    depth = _log_size(draw, 200_000)
    opening, closing_ = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"a":[', "]}")]))
    nested = opening * depth + "1" + closing_ * draw(st.sampled_from([depth, depth, depth - 1]))
    if kind == "deep-top":
        return nested.encode()
    if kind == "wide":
        count_ = draw(st.integers(1, 5000))
        message["text"] = [[{"a": i}] for i in range(count_)]
        return wire(body)
    where = draw(st.sampled_from(["text", "value", "entry", "changes", "contacts"]))
    placeholder = '"@@DEEP@@"'
    if where == "text":
        message["text"] = "@@DEEP@@"
    elif where == "value":
        body["entry"][0]["changes"][0]["value"] = "@@DEEP@@"
    elif where == "entry":
        body["entry"] = "@@DEEP@@"
    elif where == "changes":
        body["entry"][0]["changes"] = "@@DEEP@@"
    else:
        body["entry"][0]["changes"][0]["value"]["contacts"] = "@@DEEP@@"
    return wire(body).replace(placeholder.encode(), nested.encode())


def _as_raw(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    return wire(value)


def _fuzz(hook: Hook, strategy: st.SearchStrategy[Any], examples: int) -> None:
    """POST ``examples`` signed bodies drawn from ``strategy``; each gets 200 or 400, and the
    server still stores a good webhook afterwards."""
    sent: list[int] = []

    @settings(FUZZ, max_examples=examples)
    @given(value=strategy)
    def post_one(value: object) -> None:
        raw = _as_raw(value)
        assert len(raw) <= MAX_BODY
        r = hook.post(raw, sign(raw))
        sent.append(r.status_code)
        assert r.status_code in (200, 400), (r.status_code, r.text[:300], raw[:300])

    post_one()
    assert len(sent) >= examples
    assert hook.server.process.poll() is None
    suffix = new_suffix()
    assert hook.send(text_message(suffix)).status_code == 200
    assert len(hook.messages(suffix)) == 1


def test_fuzz_arbitrary_json_and_bytes(hook: Hook) -> None:
    _fuzz(hook, st.one_of(VALUES, st.binary(max_size=256)), 2000)


def test_fuzz_webhook_shaped_bodies(hook: Hook) -> None:
    _fuzz(hook, ENVELOPE, 3500)


def test_fuzz_mutated_real_bodies(hook: Hook) -> None:
    _fuzz(hook, mutated_fixtures(), 3500)


def test_fuzz_huge_and_deep_bodies(hook: Hook) -> None:
    _fuzz(hook, huge_or_deep(), 1000)
