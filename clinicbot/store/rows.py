"""Turning rows into domain records, and the small conventions every table shares."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

# SQLite's integers are 64-bit; anything a client sends for paging is clamped below this.
MAX_OFFSET = 2**31 - 1


def new_id() -> str:
    return str(uuid.uuid4())


def stamp(now: datetime) -> str:
    """A stored timestamp: UTC, ISO 8601, second precision."""
    return now.astimezone(UTC).isoformat(timespec="seconds")


def record(row: sqlite3.Row | Mapping[str, Any], cls: type[T]) -> T:
    return msgspec.convert(dict(row), cls, strict=False)


def records(rows: Iterable[sqlite3.Row], cls: type[T]) -> list[T]:
    return [record(row, cls) for row in rows]


def assignments(values: Mapping[str, object]) -> tuple[str, list[object]]:
    """``{"a": 1, "b": 2}`` -> ``("a = ?, b = ?", [1, 2])``; the keys are ours, never input."""
    return ", ".join(f"{key} = ?" for key in values), list(values.values())


def set_fields(struct: msgspec.Struct) -> dict[str, object]:
    """The fields of a PATCH body that the client actually sent."""
    return {
        name: value
        for name in struct.__struct_fields__
        if (value := getattr(struct, name)) is not msgspec.UNSET
    }
