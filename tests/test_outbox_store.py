"""The outbox's moves on a real SQLite file made by the migrations: statuses that come
before the sender knows the wamid, the forward-only rule, and the staff retry."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from clinicbot.errors import Conflict, NotFound
from clinicbot.services.inbox import store_webhook
from clinicbot.store import outbox
from clinicbot.whatsapp.webhook import parse_webhook
from tests.factories import make_clinic_db
from tests.fakes import payloads as meta

NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def queued(conn: sqlite3.Connection) -> int:
    clinic = make_clinic_db(conn, NOW)
    row_id = outbox.enqueue(
        conn,
        key="reply:1",
        clinic_id=clinic.id,
        patient_id=None,
        recipient="919876543210",
        kind="text",
        payload={"type": "text", "text": {"body": "hi"}},
        preview="hi",
        author="bot",
        now=NOW,
    )
    assert row_id is not None
    return row_id


def state_of(conn: sqlite3.Connection, row_id: int) -> str:
    row = outbox.get(conn, row_id)
    assert row is not None
    return row.status


def status(
    conn: sqlite3.Connection,
    wamid: str,
    state: str,
    *,
    callback: str | None = None,
    code: int | None = None,
) -> None:
    """A status webhook, through the real parser and ``store_webhook``."""
    item = meta.status_item(
        wamid=wamid,
        status=state,
        timestamp=1,
        recipient_id="919876543210",
        user_id=None,
        callback=callback,
        error_code=code,
    )
    body = meta.envelope("1", {"phone_number_id": "1"}, {"statuses": [item]})
    store_webhook(conn, parse_webhook(meta.wire(body)), NOW)


def test_statuses_stored_before_the_wamid_apply_when_it_is_recorded(
    conn: sqlite3.Connection,
) -> None:
    row_id = queued(conn)
    started = outbox.begin_attempt(conn, row_id, NOW, NOW.timestamp() + 60)
    assert started is not None and (started.status, started.attempts) == ("sending", 1)
    status(conn, "wamid.EARLY", "delivered")  # no callback data: cannot name the row yet
    assert state_of(conn, row_id) == "sending"
    outbox.record_sent(conn, row_id, "wamid.EARLY", NOW)
    row = outbox.get(conn, row_id)
    assert row is not None
    assert (row.status, row.wa_message_id, row.not_before) == ("delivered", "wamid.EARLY", 0)


def test_a_failed_status_carries_its_reason_and_a_staff_retry_starts_over(
    conn: sqlite3.Connection,
) -> None:
    row_id = queued(conn)
    outbox.begin_attempt(conn, row_id, NOW, NOW.timestamp() + 60)
    outbox.record_sent(conn, row_id, "wamid.W1", NOW)
    status(conn, "wamid.W1", "failed", code=131047)
    status(conn, "wamid.W1", "failed", code=131047)  # Meta's redelivery changes nothing
    failed = outbox.get(conn, row_id)
    assert failed is not None and (failed.status, failed.error_code) == ("failed", 131047)
    assert failed.error_reason and failed.error_reason.startswith("More than 24 hours")
    assert [r.id for r in outbox.list_failed(conn, failed.clinic_id, 10, 0)] == [row_id]
    again = outbox.retry_failed(conn, row_id, NOW)
    assert (again.status, again.attempts, again.wa_message_id, again.error_code) == (
        "queued",
        2,
        None,
        None,
    )
    status(conn, "wamid.W1", "sent", callback=outbox.callback_data(row_id, 1))  # the old try
    assert state_of(conn, row_id) == "queued"
    with pytest.raises(Conflict):
        outbox.retry_failed(conn, row_id, NOW)
    with pytest.raises(NotFound):
        outbox.retry_failed(conn, 10_000, NOW)


def test_only_forward(conn: sqlite3.Connection) -> None:
    row_id = queued(conn)
    order = ["sent", "failed", "delivered", "read"]
    for n, state in enumerate(order):
        for earlier in order[:n]:
            assert not outbox.advance(conn, row_id, earlier, NOW)
        assert outbox.advance(
            conn, row_id, state, NOW, (131026, "x") if state == "failed" else None
        )
    for anything in ("queued", "sending", "played", "deleted"):
        assert not outbox.advance(conn, row_id, anything, NOW)
    assert state_of(conn, row_id) == "read"


def _appointment(conn: sqlite3.Connection, clinic_id: str, doctor: str, service: str) -> str:
    start = int(NOW.timestamp()) + 86_400
    conn.execute(
        "INSERT INTO appointments (id, clinic_id, doctor_id, service_id, patient_name,"
        " patient_phone, starts_at, ends_at, start_ts, end_ts, date, created_at, updated_at)"
        " VALUES ('a1', ?, ?, ?, 'Asha', '+919876543210', 'x', 'y', ?, ?, '2026-09-02', 'n', 'n')",
        [clinic_id, doctor, service, start, start + 900],
    )
    return "a1"


@pytest.mark.parametrize("simulated", [False, True])
def test_a_reminder_for_a_cancelled_visit_is_dropped(
    conn: sqlite3.Connection, simulated: bool
) -> None:
    clinic = make_clinic_db(conn, NOW)
    appointment = _appointment(conn, clinic.id, clinic.doctor, clinic.service)
    ids = [
        outbox.enqueue(
            conn,
            key=f"reminder:{appointment}:{minutes}",
            clinic_id=clinic.id,
            patient_id=None,
            recipient="SIM.asha" if simulated else "919876543210",
            kind="text",
            payload={"type": "text", "text": {"body": "See you tomorrow"}},
            preview="See you tomorrow",
            author="reminder",
            now=NOW,
            appointment_id=appointment,
            simulated=simulated,
        )
        for minutes in (1440, 120)
    ]
    assert None not in ids
    first, second = (i for i in ids if i is not None)
    if not simulated:
        assert outbox.begin_attempt(conn, first, NOW, NOW.timestamp() + 60) is not None
    conn.execute("UPDATE appointments SET status = 'cancelled' WHERE id = ?", [appointment])
    if simulated:
        outbox.settle_simulated(conn, NOW)
    else:
        assert outbox.begin_attempt(conn, second, NOW, NOW.timestamp() + 60) is None
    dropped = outbox.get(conn, second)
    assert dropped is not None and dropped.status == "cancelled"
    assert dropped.error_reason and "cancelled" in dropped.error_reason
    assert dropped.attempts == 0
    assert outbox.list_failed(conn, clinic.id, 10, 0) == []


def test_a_read_receipt_with_a_later_one_behind_it_is_not_sent(
    conn: sqlite3.Connection,
) -> None:
    """Marking the latest message read marks the earlier ones: one call, not three."""
    clinic = make_clinic_db(conn, NOW)

    def read(n: int, to: str = "919876543210") -> int:
        row_id = outbox.enqueue(
            conn,
            key=f"read:wamid.{to}.{n}",
            clinic_id=clinic.id,
            patient_id=None,
            recipient=to,
            kind="read",
            payload={"message_id": f"wamid.{to}.{n}"},
            preview="",
            author="system",
            now=NOW,
        )
        assert row_id is not None
        return row_id

    first, second, other, third = read(1), read(2), read(1, to="919812345678"), read(3)
    assert outbox.begin_attempt(conn, first, NOW, 0) is None
    assert outbox.begin_attempt(conn, second, NOW, 0) is None
    assert state_of(conn, first) == state_of(conn, second) == "cancelled"
    started = outbox.begin_attempt(conn, third, NOW, 0)
    assert started is not None and started.status == "sending"
    started = outbox.begin_attempt(conn, other, NOW, 0)  # another patient's: their own
    assert started is not None and started.status == "sending"
