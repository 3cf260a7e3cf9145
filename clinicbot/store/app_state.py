"""``app_state``: small named values the app keeps for itself (the relay cursor, ...)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from clinicbot.store.rows import stamp


def get_value(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM app_state WHERE key = ?", [key]).fetchone()
    return None if row is None else str(row[0])


def set_value(conn: sqlite3.Connection, key: str, value: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO app_state (key, value, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        [key, value, stamp(now)],
    )
