"""Retry delays with jitter, shared by the relay poller and the tunnel's restarts; and the
pause of the periodic tasks (reminders, backups, retention) that a stop cuts short."""

from __future__ import annotations

import asyncio
import contextlib
import random

FIRST_DELAY, MAX_DELAY = 1.0, 60.0


class Backoff:
    """Delays that double from ``first`` to ``cap``, each drawn at random from its upper
    half, so that many clinics behind one outage do not retry in step."""

    def __init__(self, first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> None:
        self.first, self.cap, self.failures = first, cap, 0

    def next(self) -> float:
        """The pause before the next attempt; counts one more failure."""
        delay = min(self.cap, self.first * 2.0 ** min(self.failures, 16))
        self.failures += 1
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.failures = 0


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile; return whether it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    return stop.is_set()
