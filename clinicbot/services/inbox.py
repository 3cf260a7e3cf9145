"""The inbox: what a webhook (or the relay) delivers, stored in one transaction before the
200 goes back, so nothing acknowledged can be lost. Redeliveries are ignored by key.
Delivery statuses move our outbox rows forward in the same transaction."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from clinicbot.store import outbox
from clinicbot.store.rows import stamp
from clinicbot.whatsapp.webhook import WebhookBatch


def _clinic_for(
    conn: sqlite3.Connection, number_id: str, cache: dict[str, str | None]
) -> str | None:
    """The clinic that owns a WhatsApp number; with a single clinic, that clinic."""
    if number_id not in cache:
        row = conn.execute(
            "SELECT id FROM clinics WHERE whatsapp_phone_number_id = ?", [number_id]
        ).fetchone()
        if row is None:
            rows = conn.execute("SELECT id FROM clinics LIMIT 2").fetchall()
            row = rows[0] if len(rows) == 1 else None
        cache[number_id] = None if row is None else str(row[0])
    return cache[number_id]


def store_webhook(conn: sqlite3.Connection, batch: WebhookBatch, now: datetime) -> int:
    """Store every message, status and event of a batch; return how many messages were new.

    A new status also moves the outbox row it is about (``outbox.apply_status``)."""
    at, now_ts = stamp(now), int(now.timestamp())
    clinics: dict[str, str | None] = {}
    new = 0
    for m in batch.messages:
        new += conn.execute(
            "INSERT OR IGNORE INTO inbound_messages (wa_message_id, clinic_id, phone_number_id,"
            " sender, wa_id, user_id, profile_name, type, wa_timestamp, body, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                m.wa_message_id,
                _clinic_for(conn, m.phone_number_id, clinics),
                m.phone_number_id,
                m.sender,
                m.wa_id,
                m.user_id,
                m.profile_name,
                m.type,
                m.wa_timestamp if m.wa_timestamp is not None else now_ts,
                m.body,
                at,
            ],
        ).rowcount
    for s in batch.statuses:
        fresh = conn.execute(
            "INSERT OR IGNORE INTO message_statuses"
            " (wa_message_id, status, wa_timestamp, recipient, body, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [
                s.wa_message_id,
                s.status,
                s.wa_timestamp if s.wa_timestamp is not None else now_ts,
                s.recipient,
                s.body,
                at,
            ],
        ).rowcount
        if fresh:  # a redelivered status moved its message when it first came
            outbox.apply_status(conn, s, now)
    conn.executemany(
        "INSERT OR IGNORE INTO webhook_events (digest, field, body, received_at)"
        " VALUES (?, ?, ?, ?)",
        [(e.digest, e.field, e.body, at) for e in batch.events],
    )
    return new
