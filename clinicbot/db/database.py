"""Connections: one writer thread that runs whole transactions, and a pool of readers.

A write is a plain function ``fn(conn, *args)`` that the writer thread runs inside a
transaction. The event loop awaits it as one step, so the write lock is never held while
the loop serves other requests, and a cancelled request cannot leave a write half done.

Group commit: writes that queue up while one commit is being made to disk are run together
in one ``BEGIN IMMEDIATE … COMMIT``, each inside its own savepoint, so a failing write rolls
back alone and every caller learns its outcome only after the shared commit is durable
(``synchronous=FULL``). One fsync then serves many concurrent requests.

Readers run on their own connections (WAL lets them read while the writer writes).

Checkpoints (copying the WAL back into the database file, with an fsync) run on a thread of
their own every second, never in the writer: SQLite's automatic checkpoint would run inside
a commit and hold every write behind it for as long as the copy takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
MAX_BATCH = 64
CHECKPOINT_EVERY = 1.0  # seconds
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # the WAL file is cut back to this after a checkpoint


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


@dataclass(eq=False)
class _Job:
    fn: Callable[[sqlite3.Connection], Any]
    future: Future[Any] = field(default_factory=Future)
    result: Any = None
    error: BaseException | None = None


class _Writer(threading.Thread):
    """The only thread that writes: runs queued jobs in group-committed batches."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(name="db-writer", daemon=True)
        self.conn = conn
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.on_commit: list[Callable[[], None]] = []  # called on this thread after each commit

    def run(self) -> None:
        while (job := self.jobs.get()) is not None:
            batch = [job]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    more = self.jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._commit(batch)
            if stop:
                break
        self.conn.execute("PRAGMA optimize")  # keeps the query planner's statistics fresh
        self.conn.close()

    def _commit(self, batch: list[_Job]) -> None:
        while batch:
            try:
                done = self._attempt(batch)
            except sqlite3.Error as exc:
                # SQLite refused even the savepoint bookkeeping: fail the batch, keep serving.
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                for job in batch:
                    job.error = exc
                done = batch
            for job in done:
                _settle(job)
            batch = [job for job in batch if job not in done]

    def _attempt(self, batch: list[_Job]) -> list[_Job]:
        """Run the batch in one transaction; return the jobs whose outcome is final.

        If a job's failure destroyed the whole transaction (SQLite rolls back on some
        errors, e.g. a full disk), that job is final with its error and the others are run
        again in a fresh transaction: their work was rolled back with it.
        """
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            for job in batch:
                job.error = exc
            return batch
        for job in batch:
            conn.execute("SAVEPOINT job")
            try:
                job.result, job.error = job.fn(conn), None
            except BaseException as exc:  # handed to the caller, never swallowed
                job.error = exc
                if not conn.in_transaction:
                    return [job]
                conn.execute("ROLLBACK TO job")
            conn.execute("RELEASE job")
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for job in batch:
                job.error = exc
            return batch
        for listener in self.on_commit:
            with contextlib.suppress(Exception):  # a listener must never stop the writer
                listener()
        return batch


def _settle(job: _Job) -> None:
    if job.error is not None:
        job.future.set_exception(job.error)
    else:
        job.future.set_result(job.result)


class _Checkpointer(threading.Thread):
    """Copies the WAL back into the database now and then, beside the writer (PASSIVE: it
    never waits for, nor holds up, a reader or the writer)."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="db-checkpoint", daemon=True)
        self.path = path
        self.stop = threading.Event()

    def run(self) -> None:
        conn = connect(self.path)
        try:
            while not self.stop.wait(CHECKPOINT_EVERY):
                with contextlib.suppress(sqlite3.Error):  # busy, a full disk: next round
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()


class Database:
    """The app's handle on ``clinicbot.db``: ``await db.write(fn, ...)`` and ``db.read``."""

    def __init__(self, path: Path, *, readers: int = 3) -> None:
        self.path = path
        writer = connect(path)
        writer.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer's job
        writer.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        self._writer = _Writer(writer)
        self._writer.start()
        self._checkpointer = _Checkpointer(path)
        self._checkpointer.start()
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

    def _run_read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        with transaction(self._reader_conn(), immediate=False) as conn:
            return fn(conn, *args, **kw)

    def submit(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> Future[T]:
        """Queue ``fn(conn, *args)`` for the writer; the future settles after the commit."""
        if self._closed:
            raise RuntimeError("the database is closed")

        def call(conn: sqlite3.Connection) -> T:
            return fn(conn, *args, **kw)

        job = _Job(call)
        self._writer.jobs.put(job)
        return job.future

    def add_commit_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (on the writer thread, so quickly) after every commit."""
        self._writer.on_commit.append(listener)

    async def write(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """Run ``fn(conn, *args)`` as one durable write; its errors roll back only its work."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kw))

    async def read(
        self, fn: Callable[Concatenate[sqlite3.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        """Run ``fn(conn, *args)`` on a reader connection, in one consistent snapshot."""
        loop = asyncio.get_running_loop()
        call = functools.partial(self._run_read, fn, *args, **kw)
        return await loop.run_in_executor(self._readers, call)

    def close(self) -> None:
        """Finish queued writes and reads, then close every connection."""
        if self._closed:
            return
        self._closed = True
        self._writer.jobs.put(None)
        self._writer.join()
        self._checkpointer.stop.set()
        self._checkpointer.join()
        self._readers.shutdown(wait=True)
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
