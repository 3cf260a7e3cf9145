"""The demo clinic (placeholder until the generator lands)."""

from __future__ import annotations

import sqlite3
from datetime import datetime


def load_demo(conn: sqlite3.Connection, now: datetime, *, phone_number_id: str | None) -> str:
    raise NotImplementedError
