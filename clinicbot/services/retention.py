"""Retention of message texts: the clinic keeps what patients wrote, and what it wrote to
them, no longer than it chooses.

The setting (``None``: keep forever; else a number of days) lives in the database
(``app_state``), so it travels with every backup and restore. Once a day, and at once when
the setting changes, the TEXT of every message older than that is removed: an inbound
message's body becomes a short note in the same shape ("Message text removed after 90
days", which the inbox shows in its place), an outbound message's preview and payload the
same, and the raw bodies of delivery statuses and other webhook events become ``{}``. The
rows stay, with their time, direction, type, status and patient, so counts and the inbox's
structure remain. A message not yet answered, or not yet sent (queued, sending, or failed
and waiting for staff to resend it), is never touched. Each row is marked
(``text_removed_at``) so the daily pass reads only the rows it has not done.

Removal runs in batches, each one short write; the writer has ``PRAGMA secure_delete`` on
(``clinicbot.db.connect``), so the old text is zeroed in the file rather than left in free space.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import msgspec

from clinicbot.db import Database
from clinicbot.errors import InvalidInput
from clinicbot.services.backoff import pause
from clinicbot.store.app_state import get_value, set_value
from clinicbot.store.rows import stamp

log = logging.getLogger(__name__)

SETTING = "message_retention_days"
LAST_RUN = "message_retention_last_run"
MIN_DAYS, MAX_DAYS = 1, 3650
BATCH = 2000
CAPTIONED = ("image", "video", "document", "audio", "sticker", "unsupported")


class RemovedCounts(msgspec.Struct, frozen=True):
    inbound: int = 0
    outbound: int = 0
    raw_bodies: int = 0  # delivery statuses and other webhook events

    def __add__(self, other: RemovedCounts) -> RemovedCounts:
        return RemovedCounts(
            self.inbound + other.inbound,
            self.outbound + other.outbound,
            self.raw_bodies + other.raw_bodies,
        )

    @property
    def total(self) -> int:
        return self.inbound + self.outbound + self.raw_bodies


def note(days: int) -> str:
    return f"Message text removed after {days} days"


def get_days(conn: sqlite3.Connection) -> int | None:
    """The setting: None keeps message texts forever."""
    raw = get_value(conn, SETTING)
    return int(raw) if raw and raw.isdigit() and int(raw) > 0 else None


def set_days(conn: sqlite3.Connection, days: int | None, now: datetime) -> None:
    if days is not None and not MIN_DAYS <= days <= MAX_DAYS:
        raise InvalidInput(
            f"Keep message texts {MIN_DAYS} to {MAX_DAYS} days, or forever (null).", field="days"
        )
    set_value(conn, SETTING, "0" if days is None else str(days), now)


def last_run(conn: sqlite3.Connection) -> str | None:
    return get_value(conn, LAST_RUN)


def placeholder_body(message_type: str, text: str) -> str:
    """An inbound message body in WhatsApp's shape whose only text is ``text``: the inbox
    and the simulator read it as they read any message of that type."""
    body: dict[str, Any] = {"type": message_type}
    if message_type == "text":
        body["text"] = {"body": text}
    elif message_type == "interactive":
        body["interactive"] = {"type": "removed", "removed": {"id": "removed", "title": text}}
    elif message_type == "button":
        body["button"] = {"text": text}
    elif message_type in CAPTIONED:
        body[message_type] = {"caption": text}
    return msgspec.json.encode(body).decode()


def _inbound(conn: sqlite3.Connection, cutoff: datetime, text: str, at: str) -> int:
    rows = conn.execute(
        "SELECT rowid, type FROM inbound_messages INDEXED BY inbound_messages_text_kept"
        " WHERE text_removed_at IS NULL AND wa_timestamp < ? AND processed_at IS NOT NULL"
        " LIMIT ?",
        [int(cutoff.timestamp()), BATCH],
    ).fetchall()
    conn.executemany(
        "UPDATE inbound_messages SET body = ?, text_removed_at = ? WHERE rowid = ?",
        [(placeholder_body(r[1], text), at, r[0]) for r in rows],
    )
    return len(rows)


def _outbound(conn: sqlite3.Connection, cutoff: datetime, text: str, at: str) -> int:
    payload = msgspec.json.encode({"type": "text", "text": {"body": text}}).decode()
    return conn.execute(
        "UPDATE outbox SET preview = ?, payload = ?, text_removed_at = ? WHERE id IN"
        " (SELECT id FROM outbox INDEXED BY outbox_text_kept WHERE text_removed_at IS NULL"
        "  AND created_at < ? AND status NOT IN ('queued', 'sending', 'failed') LIMIT ?)",
        [text, payload, at, stamp(cutoff), BATCH],
    ).rowcount


def _raw_bodies(conn: sqlite3.Connection, cutoff: datetime, at: str) -> int:
    done = conn.execute(
        "UPDATE webhook_events SET body = '{}', text_removed_at = ? WHERE id IN"
        " (SELECT id FROM webhook_events INDEXED BY webhook_events_text_kept"
        "  WHERE text_removed_at IS NULL AND received_at < ? LIMIT ?)",
        [at, stamp(cutoff), BATCH],
    ).rowcount
    keys = conn.execute(
        "SELECT wa_message_id, status FROM message_statuses INDEXED BY message_statuses_text_kept"
        " WHERE text_removed_at IS NULL AND received_at < ? LIMIT ?",
        [stamp(cutoff), BATCH],
    ).fetchall()
    conn.executemany(
        "UPDATE message_statuses SET body = '{}', text_removed_at = ?"
        " WHERE wa_message_id = ? AND status = ?",
        [(at, k[0], k[1]) for k in keys],
    )
    return int(done) + len(keys)


def remove_batch(conn: sqlite3.Connection, days: int, now: datetime) -> RemovedCounts:
    """One write's worth: up to ``BATCH`` rows of each kind older than ``days``."""
    cutoff, text, at = now - timedelta(days=days), note(days), stamp(now)
    return RemovedCounts(
        _inbound(conn, cutoff, text, at),
        _outbound(conn, cutoff, text, at),
        _raw_bodies(conn, cutoff, at),
    )


def _finish(conn: sqlite3.Connection, now: datetime) -> None:
    set_value(conn, LAST_RUN, stamp(now), now)


async def apply_retention(db: Database, now: datetime) -> RemovedCounts:
    """Remove every text older than the setting, batch by batch; note the run."""
    days = await db.read(get_days)
    total = RemovedCounts()
    while days is not None:
        done = await db.write(remove_batch, days, now)
        total = total + done
        if done.total == 0:
            break
    await db.write(_finish, now)
    return total


class RetentionTask:
    """In the server: once a day (the first look a little after start-up)."""

    CHECK_EVERY = 3600.0

    def __init__(self, db: Database, *, clock: Callable[[], datetime], delay: float = 60.0) -> None:
        self.db, self.clock, self.delay = db, clock, delay

    async def due(self) -> bool:
        last = await self.db.read(last_run)
        if last is None:
            return True
        return self.clock() - datetime.fromisoformat(last) >= timedelta(hours=23)

    async def run(self, stop: asyncio.Event) -> None:
        wait = self.delay
        while not await pause(stop, wait):
            wait = self.CHECK_EVERY
            try:
                if await self.due():
                    removed = await apply_retention(self.db, self.clock())
                    if removed.total:
                        log.info("message retention: %d texts removed", removed.total)
            except sqlite3.Error as exc:  # a locked or full database: the next hour's look
                log.warning("message retention did not run: %s", exc)
