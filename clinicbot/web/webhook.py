"""The webhook listener's app: ``/webhooks/whatsapp`` and nothing else.

This is the only thing a tunnel ever points at, so it serves no API, no UI, no schema.
A POST is verified (HMAC of the raw bytes), parsed, and stored in one durable write; only
then does Meta get its 200. Until an app secret is configured, every POST is refused.
The verify token and the app secret are read at each request, so the ones saved from the
settings screen apply at once.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Annotated, Any

from litestar import Litestar, MediaType, Request, Response, get, post
from litestar.params import Parameter

from clinicbot.config import LiveConnection, Settings
from clinicbot.db import Database
from clinicbot.services.inbox import store_webhook
from clinicbot.web.params import Clock
from clinicbot.whatsapp.webhook import NotAWebhook, parse_webhook, valid_signature

log = logging.getLogger(__name__)

PATH = "/webhooks/whatsapp"
MAX_BODY = 4 * 1024 * 1024  # Meta sends at most 3 MB


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
    )
