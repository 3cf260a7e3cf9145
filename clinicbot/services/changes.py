"""The change feed: the staff window waits here for the next database commit, so a
WhatsApp booking, a cancellation or a new message shows up without a reload."""

from __future__ import annotations

import asyncio
import contextlib
import secrets

from clinicbot.db import Database

SETTLE = 0.15  # after a commit, wait this long so a burst of commits is one refresh


class ChangeFeed:
    """Counts commits (on the writer thread) and wakes the waiting requests (on the loop).

    A version is ``<boot>-<count>``: a client that saw another version (an older one, or
    one from before a restart) gets the current one at once.
    """

    def __init__(self, db: Database) -> None:
        self._boot = secrets.token_hex(4)
        self._count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self._closed = False
        db.add_commit_listener(self._committed)

    @property
    def version(self) -> str:
        return f"{self._boot}-{self._count}"

    def _committed(self) -> None:  # the writer thread
        self._count += 1
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
                loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, after: str | None, seconds: float) -> str:
        """The version once it differs from ``after``, or after ``seconds``."""
        self._loop = asyncio.get_running_loop()
        if self._closed or after != self.version or seconds <= 0:
            return self.version
        waiter = self._loop.create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, seconds)
        except TimeoutError:
            return self.version
        finally:
            self._waiters.discard(waiter)
        if not self._closed:
            await asyncio.sleep(SETTLE)
        return self.version

    def close(self) -> None:
        """The server is stopping: answer every waiting request now."""
        self._closed = True
        self._wake()
