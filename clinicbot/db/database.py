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

When the database cannot take a write (another program holds it, the disk is full, the file
is read-only), ``trouble`` says why in words for staff; the writes queued behind a lock fail
with it, so none waits more than one busy timeout; start-up checks it can write at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
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
    """A connection with the clinic's pragmas: WAL, synchronous=FULL, foreign keys on, and
    (for writing) secure_delete."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if read_only:
        conn.execute("PRAGMA query_only = ON")
    else:
        conn.execute("PRAGMA journal_mode = WAL")
        # Deleted rows are zeroed, not left in free pages: an erased patient is gone.
        conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@dataclass(frozen=True)
class Trouble:
    """Why the database cannot be written just now, in words for the clinic's staff."""

    kind: str  # "locked", "disk full", "read-only", "cannot open", "disk error"
    advice: str


_TROUBLES = (  # (SQLite's error names and words in its messages, what to say)
    (
        ("SQLITE_BUSY", "SQLITE_LOCKED", "database is locked", "database table is locked"),
        Trouble(
            "locked",
            "The database is locked by another program (a database viewer such as DB Browser"
            " for SQLite, or a backup tool, has clinicbot.db open): close it, then try again.",
        ),
    ),
    (
        ("SQLITE_FULL", "disk is full", "no space left"),
        Trouble("disk full", "The disk is full: free space on the PC, then try again."),
    ),
    (
        ("SQLITE_READONLY", "readonly database", "read-only file system"),
        Trouble(
            "read-only",
            "The database file cannot be written (it is read-only, or this user may not"
            " change it): make clinicbot.db and its folder writable, then try again.",
        ),
    ),
    (
        ("SQLITE_CANTOPEN", "unable to open database"),
        Trouble(
            "cannot open",
            "The database file cannot be opened (its folder is missing, read-only or not"
            " allowed to this user).",
        ),
    ),
    (
        ("SQLITE_IOERR", "disk i/o error"),
        Trouble(
            "disk error",
            "The disk failed while writing the database (it may be full, removed or failing):"
            " check the disk, then try again.",
        ),
    ),
)
_OS_TROUBLES = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk full", errno.EROFS: "read-only"}


def trouble(exc: BaseException) -> Trouble | None:
    """What stops the database (or the disk under it) from taking a write, if ``exc`` is
    such a condition rather than a bug: another program's lock, a full disk, a read-only or
    unreadable file, a disk error."""
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error):
        kind = _OS_TROUBLES.get(exc.errno or 0)
        return next((t for _, t in _TROUBLES if t.kind == kind), None)
    if not isinstance(exc, sqlite3.Error):
        return None
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    for signs, found in _TROUBLES:
        if any(name.startswith(s) or s in text for s in signs):
            return found
    return None


def check_writable(conn: sqlite3.Connection) -> None:
    """Take the write lock and change the header inside a transaction that is rolled back:
    raises (after the busy timeout) when another program holds the database or the file
    cannot be written, so that start-up says so instead of every later write."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"PRAGMA user_version = {int(version)}")
    finally:
        conn.execute("ROLLBACK")


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
    alone: bool = False  # run outside any transaction, between two batches


class _Writer(threading.Thread):
    """The only thread that writes: runs queued jobs in group-committed batches."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(name="db-writer", daemon=True)
        self.conn = conn
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.on_commit: list[Callable[[], None]] = []  # called on this thread after each commit
        self.locked_out: sqlite3.Error | None = None  # the last batch met another's lock

    def run(self) -> None:
        held: _Job | None = None  # a job to run alone, met while gathering a batch
        while (job := held or self.jobs.get()) is not None:
            held = None
            if job.alone:
                self._run_alone(job)
                continue
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
                if more.alone:
                    held = more  # after this batch's commit, before anything queued after it
                    break
                batch.append(more)
            self._commit(batch)
            if self.locked_out is not None:
                stop = self._refuse_waiting(self.locked_out) or stop
            if stop:
                break
        with contextlib.suppress(sqlite3.Error):  # a locked or full database: not worth it
            self.conn.execute("PRAGMA optimize")  # keeps the query planner's statistics fresh
        self.conn.close()

    def _refuse_waiting(self, exc: sqlite3.Error) -> bool:
        """The writes that queued while a batch waited out another program's lock fail with
        it, so that each write waits one busy timeout at most, not one per batch ahead of it.
        Returns whether the stop sentinel was among them."""
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                return False
            if job is None:
                return True
            job.error = exc
            _settle(job)

    def _run_alone(self, job: _Job) -> None:
        """Run a job on this connection with no transaction open (a restore's backup step).
        Its own transaction, if it leaves one open on failure, is rolled back."""
        try:
            job.result, job.error = job.fn(self.conn), None
        except BaseException as exc:  # handed to the caller, never swallowed
            job.error = exc
            _roll_back(self.conn)
        for listener in self.on_commit:
            with contextlib.suppress(Exception):
                listener()
        _settle(job)

    def _commit(self, batch: list[_Job]) -> None:
        self.locked_out = None
        while batch:
            try:
                done = self._attempt(batch)
            except sqlite3.Error as exc:
                # SQLite refused even the savepoint bookkeeping: fail the batch, keep serving.
                _roll_back(self.conn)
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
            found = trouble(exc)
            self.locked_out = exc if found is not None and found.kind == "locked" else None
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
        except sqlite3.Error as exc:  # a full disk, a disk error: nothing of it was kept
            _roll_back(conn)
            for job in batch:
                job.error = exc
            return batch
        for listener in self.on_commit:
            with contextlib.suppress(Exception):  # a listener must never stop the writer
                listener()
        return batch


def _roll_back(conn: sqlite3.Connection) -> None:
    """End a failed transaction. If even the ROLLBACK fails (a disk error), SQLite rolls
    back by itself when the connection is next used (the hot WAL frames have no commit
    record); the writer must live on to serve the next batch."""
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


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
        try:
            check_writable(writer)  # another program's lock or a read-only file: say so now
        except sqlite3.Error:
            writer.close()
            raise
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

    async def exclusive(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on the writer's own connection with no transaction open, alone
        between two batches: what was queued before it is committed first, what is queued
        after it runs after it, on what ``fn`` left. For what no transaction can hold, such
        as restoring a backup into the live file through the backup API (readers then simply
        see the new content). Commit listeners run afterwards, as after any write."""
        if self._closed:
            raise RuntimeError("the database is closed")
        job = _Job(fn, alone=True)
        self._writer.jobs.put(job)
        result: T = await asyncio.wrap_future(job.future)
        return result
