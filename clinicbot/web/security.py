"""The staff listener's gate: a Host allow-list for everything, a bearer token for the API.

It wraps the whole ASGI app, so it answers before routing: a foreign Host gets 403 and a
request to /api/ without the token gets 401 whatever path or body it carries.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable

from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

API_PREFIX = "/api/"


def host_name(raw: str) -> str:
    """``'localhost:8750'`` -> ``'localhost'``; ``'[::1]:8750'`` -> ``'[::1]'``."""
    raw = raw.strip().lower()
    if raw.startswith("["):
        return raw[: raw.find("]") + 1] if "]" in raw else raw
    return raw.rsplit(":", 1)[0] if raw.count(":") == 1 else raw


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _refuse(
    send: Send, status: int, detail: str, extra: dict[str, str] | None = None
) -> None:
    body = json.dumps({"status_code": status, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": headers,
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)


class StaffGate:
    """ASGI middleware: refuse foreign Hosts (DNS rebinding), require the staff token on /api/."""

    def __init__(self, app: ASGIApp, *, token: str, allowed_hosts: Iterable[str]) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()
        self._hosts = frozenset(h.lower() for h in allowed_hosts)

    def authorized(self, scope: Scope) -> bool:
        given = _header(scope, b"authorization")
        return given is not None and hmac.compare_digest(given.encode(), self._expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if host_name(_header(scope, b"host") or "") not in self._hosts:
            await _refuse(send, 403, "This address is not allowed to reach clinicbot.")
            return
        if scope["path"].startswith(API_PREFIX) and not self.authorized(scope):
            await _refuse(
                send,
                401,
                "A valid staff token is required.",
                {"www-authenticate": 'Bearer realm="clinicbot"'},
            )
            return
        await self.app(scope, receive, send)
