"""What staff do with WhatsApp conversations: read a thread, reply, take over, hand back.

A staff reply takes the conversation over (the bot falls quiet for that patient), so the
patient never gets answers from both at once; handing back lets the bot answer again.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Annotated

import msgspec

from clinicbot.errors import Conflict, NotFound
from clinicbot.store import conversations as store
from clinicbot.store.outbox import enqueue
from clinicbot.store.rows import new_id, stamp
from clinicbot.whatsapp.inbound import to_inbound

WINDOW_SECONDS = 24 * 3600


class ThreadMessage(msgspec.Struct, frozen=True):
    """One message of a thread, either way."""

    direction: str  # "in" | "out"
    at: str  # ISO 8601, UTC
    text: str
    type: str  # in: the WhatsApp type; out: text, interactive, template
    id: str  # in: the WhatsApp id; out: the outbox id
    author: str | None = None  # out: bot, staff, reminder
    status: str | None = None  # out: queued … read, failed
    error: str | None = None  # out: why it failed
    outcome: str | None = None  # in: answered, paused, stale, …


class Thread(msgspec.Struct, frozen=True):
    conversation: store.ConversationSummary
    messages: list[ThreadMessage]  # oldest first
    window_open: bool  # can a free-form reply still reach the patient?


class StaffReply(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4096, pattern=r"\S")]


def _conversation(conn: sqlite3.Connection, patient_id: str) -> store.ConversationSummary:
    found = store.summary(conn, patient_id)
    if found is None:
        raise NotFound("This patient has no WhatsApp conversation.", field="patient_id")
    return found


def _inbound_text(row: sqlite3.Row) -> str:
    inbound = to_inbound(row["type"], row["body"])
    if inbound.kind == "media":
        return f"[{row['type']}] {inbound.text}".strip()
    return inbound.text or f"[{row['type']}]"


def window_open(conversation: store.ConversationSummary, now: datetime) -> bool:
    last = conversation.last_inbound_ts
    return last is not None and now.timestamp() - last < WINDOW_SECONDS


def read_thread(conn: sqlite3.Connection, patient_id: str, limit: int, now: datetime) -> Thread:
    conversation = _conversation(conn, patient_id)
    inbound, outbound = store.thread_rows(conn, patient_id, limit)
    messages = [
        ThreadMessage(
            "in",
            datetime.fromtimestamp(r["wa_timestamp"], UTC).isoformat(timespec="seconds"),
            _inbound_text(r),
            r["type"],
            r["wa_message_id"],
            outcome=r["outcome"],
        )
        for r in reversed(inbound)  # newest first from the store: same-second ties keep order
    ]
    messages += [
        ThreadMessage(
            "out",
            r["created_at"],
            r["preview"],
            r["kind"],
            str(r["id"]),
            author=r["author"],
            status=r["status"],
            error=r["error_reason"],
        )
        for r in reversed(outbound)
    ]
    messages.sort(key=lambda m: (m.at, m.direction == "out"))
    return Thread(conversation, messages[-limit:], window_open(conversation, now))


def mark_read(conn: sqlite3.Connection, patient_id: str) -> store.ConversationSummary:
    _conversation(conn, patient_id)
    store.update(conn, patient_id, {"unread": 0})
    return _conversation(conn, patient_id)


def set_paused(
    conn: sqlite3.Connection, patient_id: str, paused: bool, now: datetime
) -> store.ConversationSummary:
    _conversation(conn, patient_id)
    store.update(
        conn, patient_id, {"bot_paused": int(paused), "paused_at": stamp(now) if paused else None}
    )
    return _conversation(conn, patient_id)


def staff_reply(
    conn: sqlite3.Connection, patient_id: str, text: str, now: datetime
) -> ThreadMessage:
    """Queue a staff message (and take the conversation over). 409 outside the 24-hour
    window, where WhatsApp delivers only approved templates."""
    conversation = _conversation(conn, patient_id)
    if not window_open(conversation, now):
        raise Conflict(
            "More than 24 hours since the patient last wrote: WhatsApp only delivers approved"
            " templates now. Call the patient, or wait for them to write.",
            field="text",
        )
    row = store.get(conn, patient_id)
    assert row is not None
    outbox_id = enqueue(
        conn,
        key=f"staff:{new_id()}",
        clinic_id=conversation.clinic_id,
        patient_id=patient_id,
        recipient=row.wa_id,
        kind="text",
        payload={"type": "text", "text": {"preview_url": False, "body": text}},
        preview=text,
        author="staff",
        now=now,
        simulated=conversation.simulated,
    )
    store.update(conn, patient_id, {"bot_paused": 1, "paused_at": stamp(now), "unread": 0})
    store.note_outbound(conn, patient_id, now)
    return ThreadMessage(
        "out", stamp(now), text, "text", str(outbox_id), author="staff", status="queued"
    )
