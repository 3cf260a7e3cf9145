"""The webhook listener's app: ``/webhooks/whatsapp`` and nothing else.

This is the only thing a tunnel ever points at, so it serves no API, no UI, no schema.
A POST is verified (HMAC of the raw bytes), parsed, and stored in one durable write; only
then does Meta get its 200. Until an app secret is configured, every POST is refused.
The verify token and the app secret are read at each request, so the ones saved from the
settings screen apply at once.

``BodyLimits`` guards the bodies of both listeners (the size, and how long one may take).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import sqlite3
from collections.abc import Callable
from typing import Annotated, Any, cast

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.params import Parameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from clinicbot.config import LiveConnection, Settings
from clinicbot.db import Database
from clinicbot.services.inbox import store_webhook
from clinicbot.web.errors import internal_error, unavailable_status
from clinicbot.web.params import Clock
from clinicbot.web.security import _header, _refuse
from clinicbot.whatsapp.webhook import NotAWebhook, parse_webhook, valid_signature

log = logging.getLogger(__name__)

PATH = "/webhooks/whatsapp"
MAX_BODY = 4 * 1024 * 1024  # Meta sends at most 3 MB
STAFF_MAX_BODY = 10_000_000  # the staff listener's (Litestar's default: a CSV import fits)
BODY_DEADLINE = 10.0  # seconds from a request's start for its whole body to arrive


class BodyLimits:
    """ASGI middleware for both listeners' bodies: one declared larger than ``max_body`` is
    refused (413) before a byte of it is read; one still arriving ``deadline`` seconds after
    its request began is cut off (408), so slow-drip clients cannot hold the server; and an
    answer given before the whole body came closes the connection, so its rest is never
    read (uvicorn stops reading a body nobody reads: memory stays bounded)."""

    def __init__(self, app: ASGIApp, *, max_body: int, deadline: float = BODY_DEADLINE) -> None:
        self.app, self.max_body, self.deadline = app, max_body, deadline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:  # "lifespan" is off; nothing else has a body
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_body:
            await _refuse(send, 413, "The request body is too large.", {"connection": "close"})
            return
        chunked = "chunked" in (_header(scope, b"transfer-encoding") or "").lower()
        ends_at = asyncio.get_running_loop().time() + self.deadline
        body = _Body(receive, ends_at, complete=not chunked and length in (None, "0"))
        await self.app(scope, body.receive, body.closing(send))


class _Body:
    """One request's body as the app reads it, against the deadline."""

    def __init__(self, receive: Receive, ends_at: float, *, complete: bool) -> None:
        self._receive, self._ends_at, self.complete = receive, ends_at, complete

    async def receive(self) -> Any:
        if self.complete:  # the body is in: what follows (a disconnect) may take its time
            return await self._receive()
        try:
            async with asyncio.timeout_at(self._ends_at):
                message = await self._receive()
        except TimeoutError:
            raise HTTPException(
                status_code=408, detail="The request body came too slowly; it was cut off."
            ) from None
        self.complete = message["type"] != "http.request" or not message.get("more_body")
        return message

    def closing(self, send: Send) -> Send:
        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and not self.complete:
                headers = [*message.get("headers", ()), (b"connection", b"close")]
                message = cast(Message, {**message, "headers": headers})
            await send(message)

        return send_closing


def text(status: int, body: str) -> Response[str]:
    return Response(body, status_code=status, media_type=MediaType.TEXT)


def handshake_ok(expected: str | None, mode: str | None, token: str | None) -> bool:
    """Meta's subscription handshake: the verify token matches (constant time)."""
    return (
        mode == "subscribe"
        and expected is not None
        and token is not None
        and hmac.compare_digest(token.encode(), expected.encode())
    )


async def signed_body(
    secret: str | None, request: Request[Any, Any, Any]
) -> tuple[bytes, str] | Response[str]:
    """The raw body and its ``X-Hub-Signature-256`` when the signature is right; else the
    refusal to send (403 with no secret set, 401 without a signature, 403 with a wrong one)."""
    if secret is None:
        return text(403, "The WhatsApp app secret is not configured.")
    header = request.headers.get("x-hub-signature-256")
    if header is None:
        return text(401, "Missing X-Hub-Signature-256.")
    raw = await request.body()
    if not valid_signature(secret, raw, header):
        log.warning("webhook with a wrong signature refused")
        return text(403, "Wrong signature.")
    return raw, header


def create_webhook_app(
    settings: Settings,
    db: Database,
    *,
    clock: Clock,
    on_stored: Callable[[], None] = lambda: None,
    connection: LiveConnection | None = None,
) -> Litestar:
    """The public-facing listener; ``on_stored`` hears of each stored batch (the bot).
    ``connection`` holds the verify token and app secret in effect (else the settings')."""
    live = connection or LiveConnection(settings)

    @get(PATH, media_type=MediaType.TEXT, sync_to_thread=False)
    def verify(
        mode: Annotated[str | None, Parameter(query="hub.mode", max_length=64)] = None,
        token: Annotated[str | None, Parameter(query="hub.verify_token", max_length=512)] = None,
        challenge: Annotated[str | None, Parameter(query="hub.challenge", max_length=512)] = None,
    ) -> Response[str]:
        """Meta's subscription handshake: echo the challenge when the verify token matches."""
        expected = live.current().whatsapp_verify_token
        if challenge is not None and handshake_ok(expected, mode, token):
            return text(200, challenge)
        return text(403, "Forbidden")

    @post(PATH, media_type=MediaType.TEXT, request_max_body_size=MAX_BODY)
    async def receive(request: Request[Any, Any, Any]) -> Response[str]:
        """Store what Meta sends, then acknowledge it."""
        signed = await signed_body(live.current().whatsapp_app_secret, request)
        if isinstance(signed, Response):
            return signed
        try:
            batch = parse_webhook(signed[0])
        except NotAWebhook as exc:
            return text(400, str(exc))
        if await db.write(store_webhook, batch, clock()):
            on_stored()
        return text(200, "OK")

    return Litestar(
        route_handlers=[verify, receive],
        openapi_config=None,
        debug=False,
        logging_config=None,  # the CLI configures logging once, for everything
        request_max_body_size=MAX_BODY,
        exception_handlers={
            500: internal_error,
            sqlite3.OperationalError: not_stored,
            OSError: not_stored,
        },
    )


def not_stored(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
    """The inbox could not take the webhook (a full disk, another program's lock): a 5xx,
    so Meta delivers it again later; nothing was acknowledged that was not stored."""
    found = unavailable_status(exc)
    if found is None:
        return internal_error(request, exc)  # type: ignore[return-value]
    status, words = found
    log.warning("webhook not stored, Meta will deliver it again: %s", exc)
    return text(status, words)
