"""Retention of message texts: texts older than the setting are removed (inbound, outbound,
raw webhook bodies), the rows and their metadata stay, and nothing not yet answered or not
yet sent is touched. Messages are stored through the real inbox and outbox code, with real
timestamps in the past."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from clinicbot.db import Database
from clinicbot.db.database import transaction
from clinicbot.services import retention
from clinicbot.services.bot_turns import mark_processed
from clinicbot.services.conversations import read_thread
from clinicbot.services.inbox import store_webhook
from clinicbot.services.patients import get_or_create_patient
from clinicbot.store import conversations, outbox
from clinicbot.whatsapp.webhook import parse_webhook
from tests.factories import make_clinic_db

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
WA_ID = "919812300001"


def _webhook(wamid: str, at: datetime, text: str) -> bytes:
    ts = str(int(at.timestamp()))
    message = {"from": WA_ID, "id": wamid, "timestamp": ts, "type": "text"}
    status = {"id": f"out.{wamid}", "status": "delivered", "recipient_id": WA_ID, "timestamp": ts}
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "1"},
        "contacts": [{"wa_id": WA_ID, "profile": {"name": "Kavya"}}],
        "messages": [{**message, "text": {"body": text}}],
        "statuses": [status],
    }
    call = {"field": "calls", "value": {"calls": [{"id": f"call.{wamid}", "from": WA_ID}]}}
    changes = [{"field": "messages", "value": value}, call]
    body = {"object": "whatsapp_business_account", "entry": [{"id": "w", "changes": changes}]}
    return msgspec.json.encode(body)


@pytest.fixture
def db(tmp_path: Path, conn: sqlite3.Connection) -> Iterator[Database]:
    database = Database(tmp_path / "clinicbot.db")
    yield database
    database.close()


def _fill(conn: sqlite3.Connection) -> tuple[str, dict[str, int]]:
    """A patient with old and new messages each way; returns their id and the outbox ids."""
    clinic = make_clinic_db(conn, NOW - timedelta(days=400))
    ids: dict[str, int] = {}
    with transaction(conn):
        patient = get_or_create_patient(conn, clinic.id, "+" + WA_ID, NOW, name="Kavya")
        conversations.open_for(
            conn, patient_id=patient.id, clinic_id=clinic.id, wa_id=WA_ID, user_id=None, now=NOW
        )
        for wamid, age, processed in (("old", 100, True), ("stuck", 100, False), ("new", 5, True)):
            at = NOW - timedelta(days=age)
            store_webhook(conn, parse_webhook(_webhook(wamid, at, f"my {wamid} knee")), at)
            if processed:
                mark_processed(conn, wamid, "answered", at, patient.id)
        for key, age, status in (
            ("sent-old", 100, "read"),
            ("queued-old", 100, "queued"),
            ("failed-old", 100, "failed"),
            ("sent-new", 5, "delivered"),
        ):
            row = outbox.enqueue(
                conn,
                key=key,
                clinic_id=clinic.id,
                patient_id=patient.id,
                recipient=WA_ID,
                kind="text",
                payload={"type": "text", "text": {"body": f"reply {key}"}},
                preview=f"reply {key}",
                author="bot",
                now=NOW - timedelta(days=age),
            )
            assert row is not None
            conn.execute("UPDATE outbox SET status = ? WHERE id = ?", [status, row])
            ids[key] = row
    return patient.id, ids


def _texts(conn: sqlite3.Connection) -> dict[str, str]:
    inbound = conn.execute("SELECT wa_message_id, body FROM inbound_messages").fetchall()
    sent = conn.execute("SELECT key, preview FROM outbox").fetchall()
    return {str(k): str(v) for k, v in [*inbound, *sent]}


def test_old_texts_go_their_messages_stay(conn: sqlite3.Connection, db: Database) -> None:
    patient_id, _ = _fill(conn)
    counts_before = conn.execute(
        "SELECT (SELECT count(*) FROM inbound_messages), (SELECT count(*) FROM outbox),"
        " (SELECT count(*) FROM message_statuses), (SELECT count(*) FROM webhook_events)"
    ).fetchone()
    with transaction(conn):
        retention.set_days(conn, 90, NOW)
    removed = asyncio.run(retention.apply_retention(db, NOW))
    assert removed == retention.RemovedCounts(inbound=1, outbound=1, raw_bodies=4)

    texts = _texts(conn)
    assert "my old knee" not in texts["old"] and "removed after 90 days" in texts["old"]
    assert texts["sent-old"] == "Message text removed after 90 days"
    # Not yet answered, not yet sent, failed (staff may resend it), recent: untouched.
    assert "my stuck knee" in texts["stuck"] and "my new knee" in texts["new"]
    assert texts["queued-old"] == "reply queued-old"
    assert texts["failed-old"] == "reply failed-old"
    assert texts["sent-new"] == "reply sent-new"
    old_raw = conn.execute(
        "SELECT body FROM message_statuses WHERE wa_message_id IN ('out.old', 'out.stuck')"
        " UNION ALL SELECT body FROM webhook_events WHERE received_at < ?",
        [(NOW - timedelta(days=90)).isoformat()],
    ).fetchall()
    assert [r[0] for r in old_raw] == ["{}"] * 4
    new_raw = conn.execute("SELECT body FROM message_statuses WHERE wa_message_id = 'out.new'")
    assert WA_ID in new_raw.fetchone()[0]

    # Every row stays, with its metadata; the inbox says what happened.
    counts_after = conn.execute(
        "SELECT (SELECT count(*) FROM inbound_messages), (SELECT count(*) FROM outbox),"
        " (SELECT count(*) FROM message_statuses), (SELECT count(*) FROM webhook_events)"
    ).fetchone()
    assert tuple(counts_after) == tuple(counts_before)
    kept = conn.execute(
        "SELECT type, wa_timestamp, outcome, patient_id FROM inbound_messages"
        " WHERE wa_message_id = 'old'"
    ).fetchone()
    assert tuple(kept) == (
        "text",
        int((NOW - timedelta(days=100)).timestamp()),
        "answered",
        patient_id,
    )
    assert conn.execute("SELECT status FROM outbox WHERE key = 'sent-old'").fetchone()[0] == "read"
    thread = read_thread(conn, patient_id, 50, NOW)
    shown = [m.text for m in thread.messages]
    assert shown.count("Message text removed after 90 days") == 2
    assert "my new knee" in shown

    # A second pass finds nothing left to do; a shorter setting then takes the next ones.
    assert asyncio.run(retention.apply_retention(db, NOW)).total == 0
    with transaction(conn):
        retention.set_days(conn, 1, NOW)
    again = asyncio.run(retention.apply_retention(db, NOW))
    assert again == retention.RemovedCounts(inbound=1, outbound=1, raw_bodies=2)  # the 5-day-old


def test_the_old_text_is_gone_from_the_file(
    conn: sqlite3.Connection, db: Database, tmp_path: Path
) -> None:
    _fill(conn)
    with transaction(conn):
        retention.set_days(conn, 30, NOW)
    asyncio.run(retention.apply_retention(db, NOW))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = (tmp_path / "clinicbot.db").read_bytes()
    assert b"my old knee" not in data and b"reply sent-old" not in data
    assert b"my stuck knee" in data  # the search finds what is still kept


def test_off_keeps_everything(conn: sqlite3.Connection, db: Database) -> None:
    _fill(conn)
    before = _texts(conn)
    with transaction(conn):
        retention.set_days(conn, None, NOW)
    assert asyncio.run(retention.apply_retention(db, NOW)).total == 0
    assert _texts(conn) == before


def test_the_daily_task_runs_once_a_day(conn: sqlite3.Connection, db: Database) -> None:
    _fill(conn)
    with transaction(conn):
        retention.set_days(conn, 90, NOW)
    clock = [NOW]
    task = retention.RetentionTask(db, clock=lambda: clock[0])
    assert asyncio.run(task.due())
    asyncio.run(retention.apply_retention(db, NOW))
    assert not asyncio.run(task.due())
    clock[0] = NOW + timedelta(days=1)
    assert asyncio.run(task.due())


def test_the_setting_over_http(api: httpx.Client) -> None:
    assert api.put("/api/v1/data/retention", json={"days": 0}).status_code == 400
    assert api.put("/api/v1/data/retention", json={"days": 99999}).status_code == 400
    assert api.put("/api/v1/data/retention", json={"weeks": 3}).status_code == 400
    r = api.put("/api/v1/data/retention", json={"days": 180})
    assert r.status_code == 200, r.text
    assert r.json()["days"] == 180 and r.json()["removed"] is not None
    assert api.get("/api/v1/data/retention").json()["days"] == 180
    r = api.put("/api/v1/data/retention", json={"days": None})
    assert r.status_code == 200 and r.json()["days"] is None
