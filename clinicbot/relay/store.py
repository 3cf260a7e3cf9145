"""``relay.db``: the webhooks the relay took, kept until the clinic has them.

Each event is the raw body with its signature header, under an increasing id, written by
the same group-commit writer as the clinic's database (WAL, ``synchronous=FULL``), so Meta
gets its 200 only once the body is on disk.

The clinic reads with a cursor: this file's instance id and an event id. A cursor of
another instance (the file was replaced) reads from the oldest event not yet acknowledged,
so nothing is skipped. Acknowledged events stay a week, so a clinic restored from a backup
can read them again from its older cursor; then they are deleted.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from clinicbot.db import Database, connect
from clinicbot.store.rows import stamp

FILE_NAME = "relay.db"
KEEP_ACKED = timedelta(days=7)
PAGE_BYTES = 8 * 1024 * 1024  # of bodies per page: Meta sends up to 3 MB each
_MAX_ID_DIGITS = 18  # below 2**63: SQLite's integers

SCHEMA = """
CREATE TABLE IF NOT EXISTS relay_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS relay_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, even after a delete
    body BLOB NOT NULL,                    -- the raw bytes Meta signed
    signature TEXT NOT NULL,               -- X-Hub-Signature-256 as received
    received_at TEXT NOT NULL,
    acked_at TEXT                          -- NULL until the clinic has it
);
CREATE INDEX IF NOT EXISTS relay_events_unacked ON relay_events(id) WHERE acked_at IS NULL;
CREATE INDEX IF NOT EXISTS relay_events_acked
    ON relay_events(acked_at) WHERE acked_at IS NOT NULL;
"""


class InvalidCursor(ValueError):
    """A cursor this relay never gave out."""


@dataclass(frozen=True)
class StoredEvent:
    id: int
    body: bytes
    signature: str
    received_at: str


@dataclass(frozen=True)
class Page:
    events: list[StoredEvent]
    more: bool  # further events wait beyond this page


def _instance(conn: sqlite3.Connection) -> str:
    """This file's id, made once: cursors name it."""
    conn.execute(
        "INSERT OR IGNORE INTO relay_meta (key, value) VALUES ('instance', ?)",
        [secrets.token_hex(4)],
    )
    return str(conn.execute("SELECT value FROM relay_meta WHERE key = 'instance'").fetchone()[0])


def _append(conn: sqlite3.Connection, body: bytes, signature: str, at: str) -> int:
    cur = conn.execute(
        "INSERT INTO relay_events (body, signature, received_at) VALUES (?, ?, ?)",
        [body, signature, at],
    )
    return int(cur.lastrowid or 0)


def _page(conn: sqlite3.Connection, after: int | None, limit: int) -> Page:
    """Up to ``limit`` events, and no more than PAGE_BYTES of bodies (but at least one)."""
    where = "acked_at IS NULL" if after is None else "id > ?"
    sizes = conn.execute(
        f"SELECT id, length(body) FROM relay_events WHERE {where} ORDER BY id LIMIT ?",  # noqa: S608
        [limit + 1] if after is None else [after, limit + 1],
    ).fetchall()
    chosen: list[int] = []
    total = 0
    for event_id, size in sizes[:limit]:
        if chosen and total + size > PAGE_BYTES:
            break
        chosen.append(event_id)
        total += size
    rows = conn.execute(
        "SELECT id, body, signature, received_at FROM relay_events"
        " WHERE id BETWEEN ? AND ? ORDER BY id",
        [chosen[0], chosen[-1]] if chosen else [1, 0],
    ).fetchall()
    wanted = set(chosen)
    events = [StoredEvent(r[0], bytes(r[1]), r[2], r[3]) for r in rows if r[0] in wanted]
    return Page(events, more=len(sizes) > len(chosen))


def _ack(conn: sqlite3.Connection, upto: int, at: str, forget_before: str) -> int:
    acked = conn.execute(
        "UPDATE relay_events SET acked_at = ? WHERE id <= ? AND acked_at IS NULL", [at, upto]
    ).rowcount
    conn.execute(
        "DELETE FROM relay_events WHERE acked_at IS NOT NULL AND acked_at < ?", [forget_before]
    )
    return acked


def _pending(conn: sqlite3.Connection) -> int:
    return int(
        conn.execute("SELECT count(*) FROM relay_events WHERE acked_at IS NULL").fetchone()[0]
    )


class RelayStore:
    """The relay's events on disk: ``append``, ``page``, ``ack``."""

    def __init__(self, data_dir: Path) -> None:
        path = data_dir / FILE_NAME
        conn = connect(path)
        try:
            conn.executescript(SCHEMA)
            self.instance = _instance(conn)
        finally:
            conn.close()
        self.db = Database(path, readers=2)

    def cursor(self, event_id: int) -> str:
        return f"{self.instance}-{event_id}"

    def position(self, cursor: str | None) -> int | None:
        """The event id a cursor stands for; None to read from the oldest unacknowledged."""
        if cursor is None or cursor == "":
            return None
        instance, _, number = cursor.rpartition("-")
        if not (instance and number.isascii() and number.isdigit()):
            raise InvalidCursor("This is not a cursor of this relay.")
        if len(number) > _MAX_ID_DIGITS:
            raise InvalidCursor("This is not a cursor of this relay.")
        return int(number) if instance == self.instance else None

    async def append(self, body: bytes, signature: str, now: datetime) -> int:
        """Keep one webhook durably; return its id."""
        return await self.db.write(_append, body, signature, stamp(now))

    async def page(self, after: str | None, limit: int) -> Page:
        """The events after ``after``, oldest first."""
        return await self.db.read(_page, self.position(after), limit)

    async def ack(self, cursor: str, now: datetime) -> int:
        """Mark everything up to ``cursor`` delivered (and forget what was delivered long ago);
        return how many events that newly marked."""
        upto = self.position(cursor)
        if upto is None:  # a cursor of a replaced file: it names nothing here
            return 0
        return await self.db.write(_ack, upto, stamp(now), stamp(now - KEEP_ACKED))

    async def pending(self) -> int:
        """How many events the clinic has not acknowledged yet."""
        return await self.db.read(_pending)

    def close(self) -> None:
        self.db.close()
