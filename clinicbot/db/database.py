"""Connections: one writer thread that runs whole transactions, and a pool of readers.

A transaction is a plain function ``fn(conn, *args)`` run on the writer's own thread
between ``BEGIN IMMEDIATE`` and ``COMMIT``. The event loop awaits it as one step, so the
write lock is never held while the loop serves other requests, and a cancelled request
cannot leave a transaction half done. Readers run on their own connections (WAL lets them
read while the writer writes).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000


def connect(path: Path | str, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection with the clinic's pragmas: WAL, synchronous=FULL, foreign keys on."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextmanager
def transaction(
    conn: sqlite3.Connection, *, immediate: bool = True
) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE (or deferred, for a consistent read) … COMMIT, or ROLLBACK on error."""
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Database:
    """The app's handle on ``clinicbot.db``: ``await db.write(fn, ...)`` and ``db.read``."""

    def __init__(self, path: Path, *, readers: int = 3) -> None:
        self.path = path
        self._writer_conn = connect(path)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-writer")
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="db-reader")
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def _reader_conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, read_only=True)
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    def _run_write(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        with transaction(self._writer_conn) as conn:
            return fn(conn, *args, **kw)

    def _run_read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        with transaction(self._reader_conn(), immediate=False) as conn:
            return fn(conn, *args, **kw)

    async def write(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """Run ``fn(conn, *args)`` as one write transaction on the writer thread."""
        loop = asyncio.get_running_loop()
        call = functools.partial(self._run_write, fn, *args, **kw)
        return await loop.run_in_executor(self._writer, call)

    async def read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """Run ``fn(conn, *args)`` on a reader connection, in one consistent snapshot."""
        loop = asyncio.get_running_loop()
        call = functools.partial(self._run_read, fn, *args, **kw)
        return await loop.run_in_executor(self._readers, call)

    def close(self) -> None:
        """Finish queued work, then close every connection."""
        if self._closed:
            return
        self._closed = True
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._writer_conn.close()
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
