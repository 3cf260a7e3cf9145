"""A webhook receiver for testing the fake itself: it checks each signature over the raw
bytes, keeps what arrived, and can be told to answer 500 for a while."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from tests.fakes import payloads

JSON = dict[str, Any]


class Collector:
    """``with Collector(secret) as hooks:`` then point ``fake.webhook_url`` at ``hooks.url``."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.raws: list[bytes] = []  # every body that arrived with a valid signature
        self.bad_signatures = 0
        self.fail_next = 0  # answer 500 to this many more POSTs
        self.answers: list[int] = []
        self._lock = threading.Lock()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/webhooks/whatsapp"
        config = uvicorn.Config(self._asgi, log_level="warning", lifespan="off", interface="asgi3")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def __enter__(self) -> Collector:
        self._thread.start()
        while not self._server.started:
            time.sleep(0.005)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    @property
    def bodies(self) -> list[JSON]:
        with self._lock:
            return [json.loads(raw) for raw in self.raws]

    def statuses(self) -> list[JSON]:
        """Every ``statuses[]`` item received, in arrival order."""
        return [
            item
            for body in self.bodies
            for entry in body["entry"]
            for change in entry["changes"]
            for item in change["value"].get("statuses", [])
        ]

    def _answer(self, raw: bytes, signature: str) -> int:
        with self._lock:
            if signature != payloads.sign(self.secret, raw):
                self.bad_signatures += 1
                status = 403
            elif self.fail_next > 0:
                self.fail_next -= 1
                status = 500
            else:
                self.raws.append(raw)
                status = 200
            self.answers.append(status)
            return status

    async def _asgi(
        self, scope: JSON, receive: Callable[[], Any], send: Callable[[JSON], Any]
    ) -> None:
        if scope["type"] != "http":
            return
        raw, more = b"", True
        while more:
            event = await receive()
            raw += event.get("body", b"")
            more = event.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status = self._answer(raw, headers.get("x-hub-signature-256", ""))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})
