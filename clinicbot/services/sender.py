"""The outbox sender: drains the outbox to the Graph API, each message exactly once and in
order per patient, through outages, rate limits and crashes.

Order. Each recipient's rows go out in id order, one at a time: a patient reads replies in
the order they were written. A recipient waiting (backoff) holds only their own later
rows; other recipients go on, up to ``concurrency`` at once. The sender wakes on
``wake()`` (after an enqueue), when a backoff falls due, and every ``poll_interval``.

Attempts. Before each POST, a durable write marks the row ``sending`` and counts the
attempt; the body carries ``biz_opaque_callback_data = "ob:<id>:<attempt>"``. On success
the wamid is recorded and the row is ``sent`` (never moved back: its status webhook may
have come first). Then:

- transient errors (no connection, HTTP 5xx, 130429, …): ``queued`` again with
  ``not_before`` = now + backoff, 2 s doubling to ``max_backoff`` (5 min), with jitter;
  kept in the row, so a restart keeps it;
- 131056 (too many to one patient): that recipient waits 4^X s (X = 0, 1, 2, … in a row);
- permanent errors: ``failed`` with the code and a reason staff can read; a mark-as-read
  call is dropped instead (``cancelled``);
- auth errors (190: the token expired): that row fails and the whole queue is held, not
  failed; one row is tried every ``auth_retry`` seconds (or at once after a staff retry),
  and the first success releases the rest.

Never twice. A ``sending`` row after a crash is ambiguous: Meta may have accepted it. So
``begin_attempt`` sets ``not_before`` to the attempt's start + ``ambiguous_wait`` (60 s),
and a ``sending`` row is not sent again before ``ambiguous_wait`` has also passed since
this process started: the clinic may have been down for hours, and Meta's retried status
webhooks need a chance to reach it once it is back. Until then, a status webhook naming
the row (by wamid, or by the callback data Meta echoes) marks it sent; after that it is
sent again. The same holds when an answer is lost (a read timeout). Residual risk: Meta
accepted it but its status webhook did not reach us in that time (Meta's retry gaps grow
to hours over a long outage): the patient gets it twice.

Rates: at most ``rate_per_second`` (70) sends in any one second for the number (a sliding
window, a margin under Meta's 80 for the time a request takes to arrive), and per
recipient a bucket of 45 refilled at one per 6 s (Meta's pair rate), kept in memory.
A reminder whose appointment was cancelled (or whose visit has begun) by the time it
would go out is dropped (``cancelled``, with the reason). Simulated rows never reach the
network: they are marked read at once. Without an access
token or a phone number id, other rows wait and the state says so.

Credentials are read from the live connection settings at each pass: ones saved from the
settings screen apply without a restart (``resume()`` on a change tries a held queue again).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
import msgspec
from aiolimiter import AsyncLimiter

from clinicbot.config import LiveConnection, Settings
from clinicbot.db import Database
from clinicbot.phones import mask_phone
from clinicbot.store import outbox
from clinicbot.store.outbox import OutboxRow
from clinicbot.store.rows import stamp
from clinicbot.whatsapp.graph import (
    AuthError,
    GraphClient,
    GraphError,
    PairRateLimited,
    TransientError,
    message_body,
)

log = logging.getLogger(__name__)

BASE_BACKOFF = 2.0
PAIR_BURST = 45
PAIR_INTERVAL = 6.0  # Meta's pair rate: one message per 6 s sustained
TIMEOUT = httpx.Timeout(20.0, connect=10.0)
NOT_CONFIGURED = (
    "No WhatsApp access token or phone number id: messages wait until they are set in Settings."
)


class SenderError(msgspec.Struct, frozen=True):
    code: int | None
    reason: str
    at: str


class SenderStatus(msgspec.Struct, frozen=True):
    """How the sender is doing, for the staff screen."""

    state: str  # ok, retrying, auth_failed, not_configured, stopped
    detail: str
    backlog: int  # messages waiting to go out (simulated ones and read receipts aside)
    failed: int
    in_flight: int
    last_success_at: str | None
    last_error: SenderError | None
    next_probe_at: str | None  # auth_failed: when one message is tried again


@dataclass
class _Hold:
    """The queue is held for an auth error; one row probes the token now and then."""

    code: int | None
    reason: str
    next_probe: float


def mask_recipient(recipient: str) -> str:
    """For logs: a phone keeps its country code and last two digits; an id its prefix."""
    digits = recipient.removeprefix("+")
    if digits.isascii() and digits.isdigit():
        return mask_phone("+" + digits)
    return recipient[:3] + "…"


def scrub(text: str) -> str:
    """Meta's words for a log line, with anything like a phone number masked."""
    return re.sub(r"\+?\d[\d ()-]{5,}\d", "<number>", text)


def backoff(attempts: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """``base`` doubling per attempt up to ``cap``, jittered within its upper half."""
    delay = min(cap, base * 2.0 ** min(max(attempts - 1, 0), 30))
    return delay / 2 + rand() * delay / 2


class SlidingWindow:
    """At most ``limit`` requests in any ``period`` seconds, as Meta counts a number's rate,
    whenever within a request Meta counts it: a request counts from the moment it starts
    until ``period`` after it ends, so one that took long to arrive is not forgotten. A burst
    up to the limit goes at once. (aiolimiter's leaky bucket lets a bucketful plus a
    period's flow through in one period; pyrate-limiter keeps a thread polling.)"""

    def __init__(self, limit: int, period: float) -> None:
        self._limit, self._period = limit, period
        self._ended: collections.deque[float] = collections.deque()
        self._running = 0
        self._changed = asyncio.Condition()
        self._queue = asyncio.Lock()  # first come, first served: only the head waits

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        async with self._queue, self._changed:
            while True:
                now = loop.time()
                while self._ended and self._ended[0] <= now - self._period:
                    self._ended.popleft()
                if self._running + len(self._ended) < self._limit:
                    self._running += 1
                    break
                wait = self._ended[0] + self._period - now if self._ended else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)
        try:
            yield
        finally:
            async with self._changed:
                self._running -= 1
                self._ended.append(loop.time())
                self._changed.notify_all()


class OutboxSender:
    """``wake()`` after anything enqueues; ``run(stop)`` until stopped."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Callable[[], datetime],
        client: httpx.AsyncClient | None = None,
        ambiguous_wait: float | None = None,
        max_backoff: float | None = None,
        auth_retry: float | None = None,
        concurrency: int = 16,
        poll_interval: float = 0.5,
        rate_per_second: float = 70.0,
        connection: LiveConnection | None = None,
    ) -> None:
        self._db, self._clock, self._client = db, clock, client
        self._connection = connection or LiveConnection(settings)
        self.ambiguous_wait = (
            settings.sender_ambiguous_wait if ambiguous_wait is None else ambiguous_wait
        )
        self.max_backoff = settings.sender_max_backoff if max_backoff is None else max_backoff
        self.auth_retry = settings.sender_auth_retry if auth_retry is None else auth_retry
        self._concurrency, self._poll = concurrency, poll_interval
        # At most this many in any one second (a sliding window, as Meta counts: 130429),
        # and a burst goes out at once, not trickled.
        self._rate = SlidingWindow(max(1, int(rate_per_second)), 1.0)
        self._pairs: dict[str, AsyncLimiter] = {}
        self._strikes: dict[str, int] = {}  # 131056 in a row, per recipient
        self._held: dict[str, float] = {}  # recipient -> unix time their pair bucket refills
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._hold: _Hold | None = None
        self._graph: GraphClient | None = None
        self._graph_key: tuple[str | None, ...] | None = None  # the credentials it was made with
        self._http: httpx.AsyncClient | None = None
        self._running = False
        self._grace_until = 0.0  # a previous process's "sending" rows wait until then
        self._last_success: datetime | None = None
        self._last_error: SenderError | None = None
        self._failing = False  # the last outcome was a transient error

    @property
    def configured(self) -> bool:
        return self._connection.current().can_send

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    def resume(self) -> None:
        """Staff retried a message: if the queue is held for the token, try it now."""
        if self._hold is not None:
            self._hold.next_probe = 0.0
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop`` is set; then let the sends in flight finish."""
        client = self._client or httpx.AsyncClient(timeout=TIMEOUT)
        self._http = client
        self._running = True
        self._grace_until = self._clock().timestamp() + self.ambiguous_wait
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                self._wake.clear()
                delay = await self._pass()
                waking = asyncio.create_task(self._wake.wait())
                await asyncio.wait({waking, stopping}, timeout=delay, return_when="FIRST_COMPLETED")
                waking.cancel()
        finally:
            stopping.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            self._running = False
            if self._client is None:
                await client.aclose()

    def _current_graph(self) -> GraphClient | None:
        """A Graph client for the credentials in effect now, made again when they change."""
        c = self._connection.current()
        key = (c.whatsapp_api_base, c.whatsapp_access_token, c.whatsapp_phone_number_id)
        if key == self._graph_key or self._http is None:
            return self._graph
        changed, self._graph_key, self._graph = self._graph_key is not None, key, None
        if c.whatsapp_access_token and c.whatsapp_phone_number_id:
            self._graph = GraphClient(
                self._http,
                base_url=c.whatsapp_api_base,
                access_token=c.whatsapp_access_token,
                phone_number_id=c.whatsapp_phone_number_id,
            )
            if changed:
                log.info("sender: WhatsApp credentials changed; sending with them from now on")
        else:
            log.info("sender: no WhatsApp credentials; only simulated messages are handled")
        return self._graph

    # --- one pass over the queue ---------------------------------------------------------

    async def _pass(self) -> float:
        """Start what is due; return how long to sleep before looking again."""
        now = self._clock().timestamp()
        limit = self._concurrency + len(self._tasks) + len(self._held)
        try:
            found = await self._db.read(outbox.pending, now, limit)
            if found.simulated:
                await self._db.write(outbox.settle_simulated, self._clock())
        except sqlite3.Error as exc:
            log.warning("sender: cannot read the outbox (%s); trying again", exc)
            return self._poll
        graph = self._current_graph()
        if graph is not None:
            self._launch(graph, found.heads, now)
        waits = [self._poll, *(t - now for t in self._held.values())]
        if found.next_at is not None:
            waits.append(found.next_at - now)
        if now < self._grace_until and any(r.status == "sending" for r in found.heads):
            waits.append(self._grace_until - now)
        if self._hold is not None:
            waits.append(self._hold.next_probe - now)
        return max(0.02, min(waits))

    def _launch(self, graph: GraphClient, heads: list[OutboxRow], now: float) -> None:
        self._held = {r: t for r, t in self._held.items() if t > now}
        for row in heads:
            if len(self._tasks) >= self._concurrency:
                return
            if self._hold is not None and (self._tasks or now < self._hold.next_probe):
                return  # held for the token: one probe at a time, now and then
            if row.recipient in self._tasks or row.recipient in self._held:
                continue
            if row.status == "sending" and now < self._grace_until:
                continue  # maybe accepted before a crash: give its status time to come
            if row.kind != "read" and not self._pair(row.recipient).has_capacity():
                self._held[row.recipient] = now + PAIR_INTERVAL
                continue
            self._tasks[row.recipient] = asyncio.create_task(self._run_one(graph, row))
            if self._hold is not None:
                self._hold.next_probe = now + self.auth_retry
                return

    def _pair(self, recipient: str) -> AsyncLimiter:
        limiter = self._pairs.get(recipient)
        if limiter is None:
            if len(self._pairs) > 10_000:  # forget patients whose bucket is full again
                self._pairs = {
                    r: p for r, p in self._pairs.items() if not p.has_capacity(PAIR_BURST)
                }
            limiter = self._pairs[recipient] = AsyncLimiter(PAIR_BURST, PAIR_BURST * PAIR_INTERVAL)
        return limiter

    # --- one message -----------------------------------------------------------------------

    async def _run_one(self, graph: GraphClient, row: OutboxRow) -> None:
        try:
            await self._attempt(graph, row)
        except sqlite3.Error as exc:
            log.warning("sender: outbox %d: database error (%s); will try again", row.id, exc)
        finally:
            self._tasks.pop(row.recipient, None)
            self._wake.set()

    async def _attempt(self, graph: GraphClient, row: OutboxRow) -> None:
        async with self._rate.slot():
            await self._send(graph, row)

    async def _send(self, graph: GraphClient, row: OutboxRow) -> None:
        now = self._clock()
        started = await self._db.write(
            outbox.begin_attempt, row.id, now, now.timestamp() + self.ambiguous_wait
        )
        if started is None:
            return  # a status webhook moved it on meanwhile
        try:
            wamid = await self._post(graph, started)
        except GraphError as exc:
            await self._failed(started, exc)
            if exc.maybe_sent:
                await self._spend_pair(row)
            return
        if wamid is None:
            await self._db.write(outbox.advance, row.id, "sent", self._clock())
        else:
            await self._db.write(outbox.record_sent, row.id, wamid, self._clock())
        self._succeeded(started)
        await self._spend_pair(row)

    async def _spend_pair(self, row: OutboxRow) -> None:
        """Count a message against the patient's pair rate once it may have reached Meta
        (``_launch`` saw room before the send). A refused connection, a 5xx or a refusal is
        no message: retries through an outage must not leave the patient throttled after."""
        if row.kind != "read":
            await self._pair(row.recipient).acquire()

    async def _post(self, graph: GraphClient, row: OutboxRow) -> str | None:
        """Send the row; its wamid, or None for a mark-as-read call."""
        payload = row.payload_dict()
        if row.kind == "read":
            await graph.mark_read(str(payload.get("message_id", "")))
            return None
        callback = outbox.callback_data(row.id, row.attempts)
        return await graph.send(message_body(row.recipient, payload, callback))

    def _succeeded(self, row: OutboxRow) -> None:
        self._last_success, self._failing = self._clock(), False
        self._strikes.pop(row.recipient, None)
        if self._hold is not None:
            log.info("sender: WhatsApp accepts the token again; the queue resumes")
            self._hold = None
        log.debug("sender: outbox %d to %s sent", row.id, mask_recipient(row.recipient))

    async def _failed(self, row: OutboxRow, exc: GraphError) -> None:
        now = self._clock()
        self._last_error = SenderError(exc.code, exc.reason, stamp(now))
        log.warning(
            "sender: outbox %d to %s, attempt %d: %s (code %s, HTTP %s)",
            row.id,
            mask_recipient(row.recipient),
            row.attempts,
            scrub(exc.details or exc.reason),
            exc.code,
            exc.http_status,
        )
        if isinstance(exc, AuthError):
            await self._auth_failed(row, exc, now)
        elif isinstance(exc, TransientError):
            await self._retry(row, exc, now)
        else:
            self._failing = False
            if self._hold is not None:
                self._hold = None  # Meta judged the message itself: the token works
            await self._db.write(
                outbox.fail, row.id, now, code=exc.code, reason=exc.reason, drop=row.kind == "read"
            )

    async def _retry(self, row: OutboxRow, exc: TransientError, now: datetime) -> None:
        if isinstance(exc, PairRateLimited):
            strikes = self._strikes.get(row.recipient, 0)
            self._strikes[row.recipient] = strikes + 1
            delay = min(4.0**strikes, max(self.max_backoff, 1.0))
        else:
            self._failing = True
            delay = backoff(row.attempts, BASE_BACKOFF, self.max_backoff, random.random)
        await self._db.write(
            outbox.retry_later,
            row.id,
            now,
            not_before=now.timestamp() + delay,
            maybe_sent=exc.maybe_sent,
            code=exc.code,
            reason=exc.reason,
        )

    async def _auth_failed(self, row: OutboxRow, exc: GraphError, now: datetime) -> None:
        """The first row to meet a bad token fails; the queue is held, not failed."""
        probe_at = now.timestamp() + self.auth_retry
        if self._hold is None:
            log.error("sender: WhatsApp refused the access token; the queue is held")
            self._hold = _Hold(exc.code, exc.reason, probe_at)
            await self._db.write(
                outbox.fail, row.id, now, code=exc.code, reason=exc.reason, drop=row.kind == "read"
            )
            return
        self._hold = _Hold(exc.code, exc.reason, probe_at)
        await self._db.write(
            outbox.retry_later,
            row.id,
            now,
            not_before=0.0,
            maybe_sent=False,
            code=exc.code,
            reason=exc.reason,
        )

    # --- status --------------------------------------------------------------------------

    def _state(self, backlog: int) -> tuple[str, str]:
        if not self.configured:
            return "not_configured", NOT_CONFIGURED
        if self._hold is not None:
            return "auth_failed", self._hold.reason
        if not self._running:
            return "stopped", "The sender is not running."
        if self._failing and backlog and self._last_error is not None:
            return "retrying", self._last_error.reason
        return "ok", "Messages go out as they are written."

    def status(self, backlog: int, failed: int) -> SenderStatus:
        """The sender's state, with the outbox counts the caller read."""
        state, detail = self._state(backlog)
        probe = self._hold.next_probe if self._hold is not None else None
        return SenderStatus(
            state=state,
            detail=detail,
            backlog=backlog,
            failed=failed,
            in_flight=len(self._tasks),
            last_success_at=stamp(self._last_success) if self._last_success else None,
            last_error=self._last_error,
            next_probe_at=(
                stamp(datetime.fromtimestamp(probe, self._clock().tzinfo)) if probe else None
            ),
        )
