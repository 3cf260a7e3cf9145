"""Conversations: one per patient who wrote on WhatsApp, with what the bot must remember
about them beyond a session (language, staff takeover, reminders wanted)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import msgspec

from clinicbot.store.rows import assignments, record, stamp


class Conversation(msgspec.Struct, frozen=True):
    patient_id: str
    clinic_id: str
    wa_id: str
    user_id: str | None
    language: str
    bot_paused: bool
    paused_at: str | None
    reminders_off: bool
    last_inbound_ts: int | None
    last_message_at: str
    unread: int
    simulated: bool
    created_at: str


def find(
    conn: sqlite3.Connection, clinic_id: str, wa_id: str | None, user_id: str | None
) -> Conversation | None:
    """The conversation of a sender, by phone-based id first, then by business-scoped id."""
    for column, value in (("wa_id", wa_id), ("user_id", user_id), ("wa_id", user_id)):
        if value:
            row = conn.execute(
                f"SELECT * FROM conversations WHERE clinic_id = ? AND {column} = ?",  # noqa: S608
                [clinic_id, value],
            ).fetchone()
            if row is not None:
                return record(row, Conversation)
    return None


def get(conn: sqlite3.Connection, patient_id: str) -> Conversation | None:
    row = conn.execute("SELECT * FROM conversations WHERE patient_id = ?", [patient_id]).fetchone()
    return None if row is None else record(row, Conversation)


def open_for(
    conn: sqlite3.Connection,
    *,
    patient_id: str,
    clinic_id: str,
    wa_id: str,
    user_id: str | None,
    now: datetime,
    simulated: bool = False,
) -> Conversation:
    """The patient's conversation, made on their first message."""
    at = stamp(now)
    conn.execute(
        "INSERT OR IGNORE INTO conversations (patient_id, clinic_id, wa_id, user_id,"
        " last_message_at, simulated, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [patient_id, clinic_id, wa_id, user_id, at, int(simulated), at],
    )
    if user_id:
        conn.execute(
            "UPDATE conversations SET user_id = ? WHERE patient_id = ? AND user_id IS NULL",
            [user_id, patient_id],
        )
    found = get(conn, patient_id)
    assert found is not None
    return found


def update(conn: sqlite3.Connection, patient_id: str, values: dict[str, object]) -> None:
    sql, args = assignments(values)
    conn.execute(f"UPDATE conversations SET {sql} WHERE patient_id = ?", [*args, patient_id])  # noqa: S608


def note_inbound(conn: sqlite3.Connection, patient_id: str, wa_ts: int, now: datetime) -> None:
    """A patient message arrived: it opens WhatsApp's 24-hour window and counts as unread."""
    conn.execute(
        "UPDATE conversations SET last_inbound_ts = max(coalesce(last_inbound_ts, 0), ?),"
        " last_message_at = ?, unread = unread + 1 WHERE patient_id = ?",
        [wa_ts, stamp(now), patient_id],
    )


def note_outbound(conn: sqlite3.Connection, patient_id: str, now: datetime) -> None:
    conn.execute(
        "UPDATE conversations SET last_message_at = ? WHERE patient_id = ?",
        [stamp(now), patient_id],
    )


class ConversationSummary(msgspec.Struct, frozen=True):
    """One line of the staff inbox."""

    patient_id: str
    clinic_id: str
    patient_name: str
    phone: str
    language: str
    bot_paused: bool
    reminders_off: bool
    unread: int
    last_message_at: str
    last_inbound_ts: int | None
    simulated: bool


_SUMMARY = (
    "SELECT c.patient_id, c.clinic_id, p.name AS patient_name, p.phone, c.language,"
    " c.bot_paused, c.reminders_off, c.unread, c.last_message_at, c.last_inbound_ts,"
    " c.simulated FROM conversations c JOIN patients p ON p.id = c.patient_id"
)


def list_recent(
    conn: sqlite3.Connection,
    clinic_id: str | None,
    *,
    paused_only: bool,
    limit: int,
    offset: int,
) -> list[ConversationSummary]:
    """Newest first."""
    rows = conn.execute(
        _SUMMARY + " WHERE (? IS NULL OR c.clinic_id = ?) AND (? = 0 OR c.bot_paused = 1)"
        " ORDER BY c.last_message_at DESC, c.patient_id LIMIT ? OFFSET ?",
        [clinic_id, clinic_id, int(paused_only), limit, offset],
    )
    return [record(r, ConversationSummary) for r in rows]


def summary(conn: sqlite3.Connection, patient_id: str) -> ConversationSummary | None:
    row = conn.execute(_SUMMARY + " WHERE c.patient_id = ?", [patient_id]).fetchone()
    return None if row is None else record(row, ConversationSummary)


def thread_rows(
    conn: sqlite3.Connection, patient_id: str, limit: int
) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
    """The latest inbound and outbound rows of one conversation (each up to ``limit``)."""
    inbound = conn.execute(
        "SELECT wa_message_id, type, body, wa_timestamp, received_at, outcome"
        " FROM inbound_messages WHERE patient_id = ? ORDER BY wa_timestamp DESC, rowid DESC"
        " LIMIT ?",
        [patient_id, limit],
    ).fetchall()
    outbound = conn.execute(
        "SELECT id, kind, preview, author, status, error_code, error_reason, created_at,"
        " sent_at, wa_message_id FROM outbox WHERE patient_id = ? AND kind != 'read'"
        " ORDER BY id DESC LIMIT ?",
        [patient_id, limit],
    ).fetchall()
    return inbound, outbound
