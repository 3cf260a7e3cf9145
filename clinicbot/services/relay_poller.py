"""The relay poller: the clinic's side of ``clinicbot relay``, for a PC Meta cannot reach.

It long-polls ``GET {relay}/relay/events?after=<cursor>``, trusts the relay with nothing
(each body's signature is checked again with the clinic's own app secret, and a body that
fails is skipped, logged without its content, and acknowledged so that it cannot block the
queue), stores every good batch with ``store_webhook`` in one durable write together with
the new cursor in ``app_state``, wakes the bot, and only then acknowledges the cursor to the
relay. A crash anywhere loses nothing: before the commit the relay still serves the
events; after it, the cursor is stored and the acknowledgement is sent again on start-up.
Redeliveries are harmless, as ``store_webhook`` ignores known ids.

Until one event has verified, a page in which none does is held rather than skipped: that
is a clinic whose app secret is not the relay's, and dropping every message would be the
worst answer to it.

Network errors, 5xx and refusals back off with jitter, from 1 s doubling to 60 s.

The relay URL, its token and the app secret are the live connection settings: saved from
the settings screen, they apply at once (``reconfigure()``), a poll under way included. With
no relay set, the poller waits, ``off``, until one is.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Literal, TypeVar

import httpx
import msgspec

from clinicbot.config import LiveConnection, Settings
from clinicbot.db import Database
from clinicbot.services.backoff import Backoff
from clinicbot.services.inbox import store_webhook
from clinicbot.store.app_state import get_value, set_value
from clinicbot.whatsapp.webhook import NotAWebhook, WebhookBatch, parse_webhook, valid_signature

log = logging.getLogger(__name__)

T = TypeVar("T")
CURSOR_KEY = "relay_cursor"
LONG_POLL = 25.0  # seconds the relay may hold a poll open while nothing arrives
PAGE = 100
IDLE = 1.0  # pause after an empty answer that came back at once

State = Literal["off", "starting", "polling", "retrying", "misconfigured"]


class RelayStatus(msgspec.Struct, frozen=True):
    """What the settings screen shows of the relay."""

    state: State
    relay_url: str | None
    last_success: str | None  # when the relay last answered
    last_error: str | None  # the last failure, in words (never message content)
    last_error_at: str | None
    failures: int  # failures in a row; 0 when healthy
    retry_in: float | None  # seconds until the next attempt, while retrying
    backlog_acked: bool  # everything stored here is acknowledged at the relay
    received: int  # events stored since start
    skipped: int  # events refused since start (wrong signature, not a webhook)


class _Event(msgspec.Struct, frozen=True):
    cursor: str
    body: str
    signature: str
    received_at: str


class _Page(msgspec.Struct, frozen=True):
    events: list[_Event]
    next: str | None = None
    more: bool = False


class RelayUnavailable(Exception):
    """The relay could not be reached, or did not answer as a relay does."""


class _Stopped(Exception):
    """``stop`` was set (or the settings changed) while waiting for the relay."""


UNVERIFIABLE = (
    "The WhatsApp app secret is not set (Settings › WhatsApp, or "
    "CLINICBOT_WHATSAPP_APP_SECRET): relayed webhooks cannot be verified, so none are taken."
)


def store_relayed(
    conn: sqlite3.Connection, batches: list[WebhookBatch], cursor: str, now: datetime
) -> int:
    """Store the batches and the cursor that follows them, in one transaction; return how
    many messages were new."""
    new = sum(store_webhook(conn, batch, now) for batch in batches)
    set_value(conn, CURSOR_KEY, cursor, now)
    return new


def _nothing() -> None:
    return None


async def _unless_stopped(stops: Sequence[asyncio.Event], work: Awaitable[T]) -> T:
    """``await work``, or raise _Stopped as soon as one of ``stops`` is set."""
    task = asyncio.ensure_future(work)
    stoppers = [asyncio.ensure_future(stop.wait()) for stop in stops]
    try:
        await asyncio.wait({task, *stoppers}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for stopper in stoppers:
            stopper.cancel()
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise _Stopped
    return task.result()


def _refusal(response: httpx.Response) -> RelayUnavailable:
    try:
        detail = str(msgspec.json.decode(response.content).get("detail", ""))[:200]
    except (msgspec.DecodeError, AttributeError):
        detail = ""
    return RelayUnavailable(f"the relay answered {response.status_code} {detail}".rstrip())


class RelayPoller:
    """Takes the webhooks a relay kept for this clinic: ``run(stop)`` until stopped."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        clock: Callable[[], datetime],
        on_stored: Callable[[], None] = _nothing,
        client: httpx.AsyncClient | None = None,
        long_poll: float = LONG_POLL,
        connection: LiveConnection | None = None,
    ) -> None:
        self._connection = connection or LiveConnection(settings)
        self._active: tuple[str, str, str | None] | None = None  # url, token, secret in use
        self._changed = asyncio.Event()
        self._url = ""
        self._auth: dict[str, str] = {}
        self._secret: str | None = None
        self._db, self._clock, self._on_stored = db, clock, on_stored
        self._client, self._long_poll = client, long_poll
        self._backoff = Backoff()
        self._loaded = False  # the stored cursor has been read
        self._proven = False  # an event has verified with our secret: it is the relay's
        self._cursor: str | None = None  # the last cursor stored with its events
        self._acked: str | None = None  # the last cursor the relay confirmed
        self._state: State = "off"
        self._last_success: datetime | None = None
        self._last_error: tuple[str, datetime] | None = None
        self._retry_at: float | None = None
        self._received = self._skipped = 0

    def status(self) -> RelayStatus:
        error, error_at = self._last_error or (None, None)
        retry = None if self._retry_at is None else max(0.0, self._retry_at - time.monotonic())
        return RelayStatus(
            state=self._state,
            relay_url=self._url or None,
            last_success=None if self._last_success is None else self._last_success.isoformat(),
            last_error=error,
            last_error_at=None if error_at is None else error_at.isoformat(),
            failures=self._backoff.failures,
            retry_in=None if retry is None else round(retry, 1),
            backlog_acked=self._cursor == self._acked or self._cursor is None,
            received=self._received,
            skipped=self._skipped,
        )

    def reconfigure(self) -> None:
        """The connection settings changed: take them now, even in the middle of a poll."""
        self._changed.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set (while a relay is configured)."""
        client = self._client or httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, read=self._long_poll + 15.0)
        )
        halt = (stop, self._changed)
        try:
            while not stop.is_set():
                self._changed.clear()
                try:
                    if not self._configure():
                        await _unless_stopped(halt, stop.wait())
                        continue
                    pause = await self._cycle(client, halt)
                    if pause > 0:
                        await _unless_stopped(halt, asyncio.sleep(pause))
                except _Stopped:
                    continue
        finally:
            self._retry_at = None
            if self._client is None:
                await client.aclose()

    def _configure(self) -> bool:
        """Take the relay settings in effect; False while there is nothing to poll."""
        c = self._connection.current()
        wanted = None
        if c.relay_url is not None and c.relay_token is not None:
            wanted = (c.relay_url, c.relay_token, c.whatsapp_app_secret)
        if wanted == self._active:
            return self._state not in ("off", "misconfigured")
        self._active, self._proven, self._acked, self._retry_at = wanted, False, None, None
        self._backoff.reset()
        self._last_error = None
        if wanted is None:
            self._state, self._url = "off", ""
            return False
        url, token, self._secret = wanted
        self._url, self._auth = url.rstrip("/"), {"Authorization": f"Bearer {token}"}
        if self._secret is None:
            self._state, self._last_error = "misconfigured", (UNVERIFIABLE, self._clock())
            log.warning("relay configured without an app secret: not polling")
            return False
        self._state = "starting"
        return True

    async def _cycle(self, client: httpx.AsyncClient, halt: Sequence[asyncio.Event]) -> float:
        """One poll; return how long to pause before the next."""
        started = time.monotonic()
        # Long-poll only while healthy: at start and after a failure, a quick answer shows
        # at once that the relay is there.
        wait = self._long_poll if self._state == "polling" else 0.0
        try:
            if not self._loaded:
                self._cursor, self._loaded = await self._db.read(get_value, CURSOR_KEY), True
            await self._ack(client, halt)
            page = await self._fetch(client, halt, wait)
            if page.events:
                await self._take(page)
                await self._ack(client, halt)
        except (httpx.HTTPError, httpx.InvalidURL, RelayUnavailable, sqlite3.Error) as exc:
            return self._failed(exc)
        self._succeeded()
        if page.events or page.more:
            return 0.0
        # A long poll that came back empty at once (a relay that does not hold polls, or
        # one shutting down): pause, rather than ask again in a tight loop.
        return IDLE if wait and time.monotonic() - started < IDLE else 0.0

    async def _fetch(
        self, client: httpx.AsyncClient, halt: Sequence[asyncio.Event], wait: float
    ) -> _Page:
        params: dict[str, str | int | float] = {"limit": PAGE, "wait": wait}
        if self._cursor is not None:
            params["after"] = self._cursor
        request = client.get(f"{self._url}/relay/events", params=params, headers=self._auth)
        response = await _unless_stopped(halt, request)
        if response.status_code != 200:
            raise _refusal(response)
        try:
            return msgspec.json.decode(response.content, type=_Page)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise RelayUnavailable(f"the relay's answer is not a page of events: {exc}") from None

    async def _ack(self, client: httpx.AsyncClient, halt: Sequence[asyncio.Event]) -> None:
        """Tell the relay about the stored cursor, unless it already knows."""
        cursor = self._cursor
        if cursor is None or cursor == self._acked:
            return
        request = client.post(f"{self._url}/relay/ack", json={"cursor": cursor}, headers=self._auth)
        response = await _unless_stopped(halt, request)
        if response.status_code == 400:
            log.error("the relay refused cursor %s as unknown; not acknowledging it", cursor)
        elif response.status_code != 200:
            raise _refusal(response)
        self._acked = cursor

    async def _take(self, page: _Page) -> None:
        """Verify and store a page of events with its last cursor, then wake the bot."""
        signed = [self._signed(event) for event in page.events]
        if not self._proven and all(raw is None for raw in signed):
            # Not one event verifies: more likely this clinic's secret is not the relay's
            # than a relay full of forgeries. Hold them (unacknowledged) rather than drop
            # every message; one good event proves the secret and lets the bad ones go.
            raise RelayUnavailable(
                f"none of {len(signed)} relayed webhooks verifies with this clinic's app "
                "secret: CLINICBOT_WHATSAPP_APP_SECRET must be the relay's; holding them"
            )
        self._proven = True
        batches = self._batches(page.events, signed)
        cursor = page.events[-1].cursor
        new = await self._db.write(store_relayed, batches, cursor, self._clock())
        self._cursor = cursor
        self._received += len(batches)
        self._skipped += len(page.events) - len(batches)
        if new:
            self._on_stored()

    def _signed(self, event: _Event) -> bytes | None:
        """The event's raw body if Meta signed it with this clinic's secret, else None."""
        assert self._secret is not None
        try:
            raw = base64.b64decode(event.body, validate=True)
        except (binascii.Error, ValueError):
            return None
        return raw if valid_signature(self._secret, raw, event.signature) else None

    def _batches(self, events: list[_Event], signed: list[bytes | None]) -> list[WebhookBatch]:
        """The batches of the good events; the others are logged (never their content)."""
        batches = []
        for event, raw in zip(events, signed, strict=True):
            if raw is None:
                log.warning("relay event %s skipped: its signature does not match", event.cursor)
                continue
            try:
                batches.append(parse_webhook(raw))
            except NotAWebhook:
                log.warning("relay event %s skipped: signed, but not a webhook", event.cursor)
        return batches

    def _failed(self, exc: Exception) -> float:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.HTTPError | httpx.InvalidURL):
            reason = f"cannot reach the relay: {type(exc).__name__} {exc}".strip()
        elif isinstance(exc, sqlite3.Error):
            reason = f"cannot store relayed webhooks: {exc}"
        if self._backoff.failures == 0:
            log.warning("relay poll failed (%s); retrying with backoff", reason)
        self._state, self._last_error = "retrying", (reason, self._clock())
        pause = self._backoff.next()
        self._retry_at = time.monotonic() + pause
        return pause

    def _succeeded(self) -> None:
        if self._backoff.failures:
            log.info("relay reachable again after %d failed polls", self._backoff.failures)
        self._backoff.reset()
        self._state, self._last_success, self._retry_at = "polling", self._clock(), None
