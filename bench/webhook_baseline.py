"""The servers the webhook bench holds clinicbot's listener against, each a process of its own:
``python -m bench.webhook_baseline MODE --db PATH [--host H] [--port P]``, with the app secret
in ``CLINICBOT_WHATSAPP_APP_SECRET``. Once listening it prints ``baseline MODE: <url>``.

Modes, from the least work to the most:

- ``canned``: no HTTP framework at all: an asyncio protocol that finds each request's end and
  writes a fixed 200. What it sustains is the load generator's ceiling, not a server's.
- ``asgi``: uvicorn and a bare ASGI function that reads the body and answers 200 (no check,
  no storage): the HTTP floor every uvicorn app stands on.
- ``commit``: **the bare baseline**: the same ASGI function, plus the HMAC check of the raw
  body and one durable SQLite insert of it (WAL, ``synchronous=FULL``, one commit per request,
  on the event loop), then 200.
- ``group``: as ``commit``, but the inserts go to one writer thread that commits whatever has
  queued up meanwhile in one transaction (group commit); each answer waits for its commit.

Every mode listens on a socket made by clinicbot's own ``bind`` (an ``IPPROTO_TCP`` socket,
so asyncio sets ``TCP_NODELAY`` on the accepted ones) and runs uvicorn as clinicbot does.
The body is stored under its HMAC (unique per body), so a redelivery adds nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import queue
import signal
import sqlite3
import sys
import threading
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import uvicorn

from clinicbot.db import connect
from clinicbot.server import bind, url_host

MODES = ("canned", "asgi", "commit", "group")
SECRET_ENV = "CLINICBOT_WHATSAPP_APP_SECRET"
PATH = "/webhooks/whatsapp"
PREFIX = "baseline"  # the line it prints: "baseline MODE: http://…"
MAX_GROUP = 256  # inserts one group commit takes at most

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Store = Callable[[str, bytes], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

CREATE = "CREATE TABLE IF NOT EXISTS received (key TEXT PRIMARY KEY, body BLOB NOT NULL)"
INSERT = "INSERT OR IGNORE INTO received (key, body) VALUES (?, ?)"


def _headers(status: int) -> Message:
    return {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
    }


async def _answer(send: Send, status: int) -> None:
    await send(_headers(status))
    await send({"type": "http.response.body", "body": b"OK" if status == 200 else b"no"})


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def webhook_app(secret: bytes, store: Store | None) -> App:
    """The bare ASGI handler: read the body; with ``store``, check its HMAC and store it."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = await _body(receive)
        if store is None:
            await _answer(send, 200)
            return
        header = _header(scope, b"x-hub-signature-256") or b""
        digest = hmac.new(secret, raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(b"sha256=" + digest.encode(), header.strip()):
            await _answer(send, 403)
            return
        await store(digest, raw)
        await _answer(send, 200)

    return app


def per_request_commit(conn: sqlite3.Connection) -> Store:
    """One autocommitted INSERT (a durable commit of its own) per request, on the loop."""

    async def store(key: str, body: bytes) -> None:
        conn.execute(INSERT, (key, body))

    return store


class GroupWriter(threading.Thread):
    """One writer thread: each commit takes every insert that queued up meanwhile."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(name="baseline-writer", daemon=True)
        self.conn = conn
        self.jobs: queue.SimpleQueue[tuple[str, bytes, Future[None]]] = queue.SimpleQueue()

    def run(self) -> None:
        while True:
            group = [self.jobs.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self.jobs.get_nowait())
                except queue.Empty:
                    break
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                self.conn.executemany(INSERT, [(key, body) for key, body, _ in group])
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                for _, _, future in group:
                    future.set_exception(exc)
                continue
            for _, _, future in group:
                future.set_result(None)

    def store(self) -> Store:
        async def store(key: str, body: bytes) -> None:
            future: Future[None] = Future()
            self.jobs.put((key, body, future))
            await asyncio.wrap_future(future)

        return store


class CannedAnswer(asyncio.Protocol):
    """Reads requests (headers, then ``Content-Length`` bytes) and answers each 200 at once."""

    ANSWER = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nOK"

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            total = end + 4 + _content_length(bytes(self.buffer[:end]))
            if len(self.buffer) < total:
                return
            del self.buffer[:total]
            assert self.transport is not None
            self.transport.write(self.ANSWER)


def _content_length(head: bytes) -> int:
    for line in head.lower().split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name == b"content-length":
            return int(value)
    return 0


def _database(path: Path) -> sqlite3.Connection:
    conn = connect(path)  # clinicbot's pragmas: WAL, synchronous=FULL, autocommit
    conn.execute(CREATE)
    return conn


def _app(mode: str, db: Path, secret: bytes) -> App:
    if mode == "asgi":
        return webhook_app(secret, None)
    if mode == "commit":
        return webhook_app(secret, per_request_commit(_database(db)))
    writer = GroupWriter(_database(db))
    writer.start()
    return webhook_app(secret, writer.store())


def _announce(mode: str, host: str, port: int) -> None:
    print(f"{PREFIX} {mode}: http://{url_host(host)}:{port}{PATH}", flush=True)


async def _serve_canned(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    sock = bind(host, port)
    server = await loop.create_server(CannedAnswer, sock=sock)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    _announce("canned", host, sock.getsockname()[1])
    await stop.wait()
    server.close()


async def _serve_asgi(mode: str, db: Path, secret: bytes, host: str, port: int) -> None:
    await serve_asgi(_app(mode, db, secret), mode, host, port)


async def serve_asgi(app: App, mode: str, host: str, port: int) -> None:
    """Serve ``app`` with uvicorn until stopped; print ``baseline MODE: <url>`` once up."""
    sock = bind(host, port)
    config = uvicorn.Config(  # as clinicbot.server configures its listeners
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            break
        await asyncio.sleep(0.01)
    if server.started:
        _announce(mode, host, sock.getsockname()[1])
    await task


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_baseline", description=__doc__)
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--db", type=Path, required=True, help="the SQLite file to store into")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        parser.error(f"set {SECRET_ENV}")
    if args.mode == "canned":
        asyncio.run(_serve_canned(args.host, args.port))
    else:
        asyncio.run(_serve_asgi(args.mode, args.db, secret.encode(), args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
