"""The relay's routes: Meta's two webhook routes, and the clinic's two event routes.

``/webhooks/whatsapp`` behaves as the clinic's own listener does: the handshake with the
verify token, then a POST checked against the app secret over the raw bytes (401 without a
signature, 403 with a wrong one or with no secret set, 413 above 4 MiB, 400 for a signed
body that is not a webhook), stored durably before its 200.

``/relay/events`` and ``/relay/ack`` need ``Authorization: Bearer <relay token>``; with no
relay token set they are closed (403). Nothing else is served: no schema, no UI.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import logging
from typing import Annotated, Any

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter
from msgspec import Meta, Struct

from clinicbot.config import Settings
from clinicbot.relay.store import InvalidCursor, Page, RelayStore
from clinicbot.web.params import Clock
from clinicbot.web.webhook import MAX_BODY, PATH, handshake_ok, signed_body, text
from clinicbot.whatsapp.webhook import NotAWebhook, parse_webhook

log = logging.getLogger(__name__)

MAX_WAIT = 30.0  # seconds a long poll may be held


class RelayEvent(Struct, frozen=True):
    cursor: str  # opaque: hand it back as ``after`` or to ``/relay/ack``
    body: str  # the raw body, base64
    signature: str  # X-Hub-Signature-256 as Meta sent it
    received_at: str


class EventPage(Struct, frozen=True):
    events: list[RelayEvent]
    next: str | None  # the cursor of the last event, else the ``after`` given
    more: bool  # more events wait: ask again at once


class Ack(Struct, frozen=True):
    cursor: Annotated[str, Meta(max_length=128)]


class Acked(Struct, frozen=True):
    acked: int  # events newly marked delivered


class Arrivals:
    """Wakes the long polls when an event is stored, and all of them when the relay stops."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.closed = False

    def current(self) -> asyncio.Event:
        return self._event

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    def close(self) -> None:
        self.closed = True
        self.notify()


def _event_page(store: RelayStore, page: Page, after: str | None) -> EventPage:
    events = [
        RelayEvent(
            cursor=store.cursor(e.id),
            body=base64.b64encode(e.body).decode("ascii"),
            signature=e.signature,
            received_at=e.received_at,
        )
        for e in page.events
    ]
    return EventPage(events, events[-1].cursor if events else after, page.more)


def _token_guard(relay_token: str | None) -> Any:
    expected = None if relay_token is None else f"Bearer {relay_token}".encode()

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if expected is None:
            raise PermissionDeniedException(
                "This relay has no CLINICBOT_RELAY_TOKEN set: its event routes are closed."
            )
        given = connection.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            raise NotAuthorizedException(
                "A valid relay token is required.",
                headers={"WWW-Authenticate": 'Bearer realm="clinicbot relay"'},
            )

    return guard


def _bad_cursor(exc: InvalidCursor) -> HTTPException:
    return HTTPException(status_code=400, detail=str(exc))


def create_relay_app(
    settings: Settings, store: RelayStore, *, clock: Clock, arrivals: Arrivals | None = None
) -> Litestar:
    """The relay's app; ``arrivals`` wakes its long polls (``close()`` it on shutdown)."""
    arrivals = arrivals or Arrivals()
    guard = _token_guard(settings.relay_token)

    @get(PATH, media_type=MediaType.TEXT, sync_to_thread=False)
    def verify(
        mode: Annotated[str | None, Parameter(query="hub.mode", max_length=64)] = None,
        token: Annotated[str | None, Parameter(query="hub.verify_token", max_length=512)] = None,
        challenge: Annotated[str | None, Parameter(query="hub.challenge", max_length=512)] = None,
    ) -> Response[str]:
        """Meta's subscription handshake: echo the challenge when the verify token matches."""
        if challenge is not None and handshake_ok(settings.whatsapp_verify_token, mode, token):
            return text(200, challenge)
        return text(403, "Forbidden")

    @post(PATH, media_type=MediaType.TEXT, request_max_body_size=MAX_BODY)
    async def receive(request: Request[Any, Any, Any]) -> Response[str]:
        """Keep what Meta sends, durably, then acknowledge it."""
        signed = await signed_body(settings.whatsapp_app_secret, request)
        if isinstance(signed, Response):
            return signed
        raw, header = signed
        try:
            parse_webhook(raw)
        except NotAWebhook as exc:
            return text(400, str(exc))
        event_id = await store.append(raw, header, clock())
        arrivals.notify()
        log.debug("relay event %d stored", event_id)
        return text(200, "OK")

    @get("/relay/events", guards=[guard])
    async def events(
        after: Annotated[str | None, Parameter(max_length=128)] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        wait: Annotated[float, Parameter(ge=0, le=MAX_WAIT)] = 0,
    ) -> EventPage:
        """The stored events after the cursor, oldest first; with ``wait``, held up to that
        many seconds until one arrives."""
        arrived = arrivals.current()
        try:
            page = await store.page(after, limit)
            if not page.events and wait > 0 and not arrivals.closed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), wait)
                page = await store.page(after, limit)
        except InvalidCursor as exc:
            raise _bad_cursor(exc) from None
        return _event_page(store, page, after)

    @post("/relay/ack", guards=[guard], status_code=200)
    async def ack(data: Ack) -> Acked:
        """Mark every event up to ``cursor`` as delivered to the clinic."""
        try:
            return Acked(await store.ack(data.cursor, clock()))
        except InvalidCursor as exc:
            raise _bad_cursor(exc) from None

    return Litestar(
        route_handlers=[verify, receive, events, ack],
        openapi_config=None,
        debug=False,
        logging_config=None,  # the CLI configures logging once, for everything
        request_max_body_size=MAX_BODY,
    )
