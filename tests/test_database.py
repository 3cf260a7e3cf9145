"""The writer's group commit: each write rolls back alone, and callers hear only after COMMIT."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from clinicbot.db import Database, connect, migrate


@pytest.fixture
def db(tmp_path: Path) -> Database:
    conn = connect(tmp_path / "clinicbot.db")
    migrate(conn)
    conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    # A trigger whose RAISE(ROLLBACK) destroys the whole transaction, not just one statement.
    conn.execute(
        "CREATE TRIGGER t_poison BEFORE INSERT ON t WHEN NEW.v = 'poison'"
        " BEGIN SELECT RAISE(ROLLBACK, 'poisoned'); END"
    )
    conn.close()
    return Database(tmp_path / "clinicbot.db")


def _insert(conn: sqlite3.Connection, x: int, v: str = "ok") -> int:
    conn.execute("INSERT INTO t (x, v) VALUES (?, ?)", [x, v])
    if v == "fail":
        raise ValueError(x)
    return x


def _rows(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    return [tuple(r) for r in conn.execute("SELECT x, v FROM t ORDER BY x")]


async def _run(db: Database, kinds: list[str]) -> list[object]:
    writes = [db.write(_insert, i, kind) for i, kind in enumerate(kinds)]
    return await asyncio.gather(*writes, return_exceptions=True)


def test_failing_writes_roll_back_alone(db: Database) -> None:
    kinds = ["fail" if i % 5 == 0 else "ok" for i in range(500)]
    results = asyncio.run(_run(db, kinds))
    rows = asyncio.run(db.read(_rows))
    db.close()
    failed = [i for i, r in enumerate(results) if isinstance(r, ValueError) and r.args == (i,)]
    assert failed == list(range(0, 500, 5))
    assert rows == [(i, "ok") for i in range(500) if i % 5]
    assert [results[i] for i in range(500) if i % 5] == [i for i in range(500) if i % 5]


def test_a_write_that_destroys_the_transaction_does_not_take_others_with_it(db: Database) -> None:
    kinds = ["poison" if i in (3, 40, 41) else "ok" for i in range(100)]
    results = asyncio.run(_run(db, kinds))
    rows = asyncio.run(db.read(_rows))
    db.close()
    for i in (3, 40, 41):
        assert isinstance(results[i], sqlite3.IntegrityError)
    assert rows == [(i, "ok") for i in range(100) if i not in (3, 40, 41)]


def test_unique_violation_is_the_callers_error(db: Database) -> None:
    async def go() -> list[object]:
        await db.write(_insert, 1)
        return list(
            await asyncio.gather(db.write(_insert, 1), db.write(_insert, 2), return_exceptions=True)
        )

    first, second = asyncio.run(go())
    db.close()
    assert isinstance(first, sqlite3.IntegrityError)
    assert second == 2


def test_close_finishes_queued_writes(tmp_path: Path, db: Database) -> None:
    futures = [db.submit(_insert, i) for i in range(200)]
    db.close()
    assert [f.result(timeout=10) for f in futures] == list(range(200))
    conn = connect(tmp_path / "clinicbot.db")
    assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 200
    with pytest.raises(RuntimeError):
        db.submit(_insert, 999)


def test_pragmas(tmp_path: Path, db: Database) -> None:
    def pragmas(conn: sqlite3.Connection) -> tuple[str, int, int]:
        return (
            conn.execute("PRAGMA journal_mode").fetchone()[0],
            conn.execute("PRAGMA synchronous").fetchone()[0],
            conn.execute("PRAGMA foreign_keys").fetchone()[0],
        )

    got = asyncio.run(db.read(pragmas))
    db.close()
    assert got == ("wal", 2, 1)  # synchronous=FULL is 2


def test_writing_connections_zero_what_they_delete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An erased patient must not linger in free pages. Debian's SQLite zeroes deleted
    bytes by default (built with SQLITE_SECURE_DELETE), the SQLite inside Python on Windows
    and macOS does not: so start from a connection where it is off, as it is there."""
    plain_connect = sqlite3.connect

    def default_off(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = plain_connect(*args, **kwargs)
        conn.execute("PRAGMA secure_delete = OFF")
        return conn

    monkeypatch.setattr(sqlite3, "connect", default_off)
    writer = connect(tmp_path / "x.db")
    reader = connect(tmp_path / "x.db", read_only=True)
    try:
        assert writer.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert reader.execute("PRAGMA secure_delete").fetchone()[0] == 0  # never deletes
    finally:
        writer.close()
        reader.close()
