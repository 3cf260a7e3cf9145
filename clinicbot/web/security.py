"""The staff listener's gate: a Host allow-list for everything, a bearer token for the API.

It wraps the whole ASGI app, so it answers before routing: a foreign Host gets 403 and a
request to /api/ without the token gets 401 whatever path or body it carries.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Iterable

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


class StaffToken:
    """The staff token the gate accepts, and its rotation from the settings screen.

    After ``replace``, the old token still opens the API until the first request made with
    the new one (at most ``grace`` seconds): the window that asked for the new token learns
    it only from the answer, and a request it sends meanwhile must not sign it out. The
    window uses the new token at once, so the old one ends within moments."""

    def __init__(
        self, token: str, *, grace: float = 15.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._expected = self._header(token)
        self._previous: bytes | None = None
        self._previous_until = 0.0
        self._grace, self._clock = grace, clock

    @staticmethod
    def _header(token: str) -> bytes:
        return f"Bearer {token}".encode()

    def replace(self, token: str) -> None:
        self._previous, self._previous_until = self._expected, self._clock() + self._grace
        self._expected = self._header(token)

    def accepts(self, authorization: str | None) -> bool:
        if authorization is None:
            return False
        given = authorization.encode()
        if hmac.compare_digest(given, self._expected):
            self._previous = None  # the new token is in use: the old one is over
            return True
        previous = self._previous
        return (
            previous is not None
            and self._clock() < self._previous_until
            and hmac.compare_digest(given, previous)
        )


class StaffGate:
    """ASGI middleware: refuse foreign Hosts (DNS rebinding), require the staff token on /api/."""

    def __init__(
        self, app: ASGIApp, *, token: str | StaffToken, allowed_hosts: Iterable[str]
    ) -> None:
        self.app = app
        self.token = token if isinstance(token, StaffToken) else StaffToken(token)
        self._hosts = frozenset(h.lower() for h in allowed_hosts)

    def authorized(self, scope: Scope) -> bool:
        return self.token.accepts(_header(scope, b"authorization"))

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
