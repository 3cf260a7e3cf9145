"""The webhook listener's app: ``/webhooks/whatsapp`` and nothing else.

This is the only thing a tunnel ever points at, so it serves no API, no UI, no schema.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from litestar import Litestar, MediaType, Response, get
from litestar.params import Parameter

from clinicbot.config import Settings


def create_webhook_app(settings: Settings) -> Litestar:
    """The public-facing listener; message handling is added by the WhatsApp channel."""

    @get("/webhooks/whatsapp", media_type=MediaType.TEXT, sync_to_thread=False)
    def verify(
        mode: Annotated[str | None, Parameter(query="hub.mode", max_length=64)] = None,
        token: Annotated[str | None, Parameter(query="hub.verify_token", max_length=512)] = None,
        challenge: Annotated[str | None, Parameter(query="hub.challenge", max_length=512)] = None,
    ) -> Response[str]:
        """Meta's subscription handshake: echo the challenge when the verify token matches."""
        expected = settings.whatsapp_verify_token
        if (
            mode == "subscribe"
            and expected is not None
            and token is not None
            and challenge is not None
            and hmac.compare_digest(token.encode(), expected.encode())
        ):
            return Response(challenge, status_code=200, media_type=MediaType.TEXT)
        return Response("Forbidden", status_code=403, media_type=MediaType.TEXT)

    return Litestar(route_handlers=[verify], openapi_config=None, debug=False)
