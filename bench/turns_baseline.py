"""The bare baseline of the turns bench, a process of its own:
``python -m bench.turns_baseline --db PATH [--rate N] [--host H] [--port P]``, configured by
clinicbot's own variables (``CLINICBOT_WHATSAPP_APP_SECRET``, ``…_API_BASE``,
``…_ACCESS_TOKEN``, ``…_PHONE_NUMBER_ID``). Once listening it prints
``baseline turns: <url>``.

Per webhook it does what ``bench.webhook_baseline``'s ``commit`` mode does (the HMAC check of
the raw body, one durable autocommitted SQLite insert of it, then 200) and, for each message
a new body carries, one POST of a fixed text reply to the Graph API (it has to parse the JSON
to know whom to answer). Status webhooks are only stored. No retries, no queue, no state.

With ``--rate N`` the replies are held to N a second by the limiter clinicbot's sender uses
(``SlidingWindow``: at most N in any one second), which is how the bench shows what the rate cap
(70 a second, under Meta's 80 per number) costs on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx

from bench.webhook_baseline import CREATE, INSERT, SECRET_ENV, Store, serve_asgi
from bench.webhook_baseline import webhook_app as signed_store_app
from clinicbot.db import connect
from clinicbot.services.sender import SlidingWindow

MODE = "turns"
REPLY = "Thank you, we have your message."
TIMEOUT = httpx.Timeout(20.0, connect=10.0)  # as clinicbot's sender
ENV = {
    "base": "CLINICBOT_WHATSAPP_API_BASE",
    "token": "CLINICBOT_WHATSAPP_ACCESS_TOKEN",
    "number": "CLINICBOT_WHATSAPP_PHONE_NUMBER_ID",
}


def senders(raw: bytes) -> Iterator[str]:
    """The ``from`` of every message in a webhook body (none for a status webhook)."""
    body = json.loads(raw)
    for entry in body.get("entry", []):
        for change in entry.get("changes", []):
            for message in change.get("value", {}).get("messages", []):
                if message.get("from"):
                    yield str(message["from"])


class Replier:
    """Sends the fixed reply, one POST a message, over one shared ``httpx.AsyncClient``."""

    def __init__(self, base: str, token: str, number_id: str, rate: float | None) -> None:
        self.url = f"{base.rstrip('/')}/{number_id}/messages"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.limiter = SlidingWindow(max(1, int(rate)), 1.0) if rate else None
        self.client: httpx.AsyncClient | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def answer(self, raw: bytes) -> None:
        for wa_id in senders(raw):
            task = asyncio.create_task(self.send(wa_id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def send(self, wa_id: str) -> None:
        if self.limiter is None:
            await self.post(wa_id)
        else:
            async with self.limiter.slot():
                await self.post(wa_id)

    async def post(self, wa_id: str) -> None:
        if self.client is None:
            self.client = httpx.AsyncClient(timeout=TIMEOUT)
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "+" + wa_id,
            "type": "text",
            "text": {"preview_url": False, "body": REPLY},
        }
        try:
            answer = await self.client.post(self.url, json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            print(f"baseline turns: reply failed: {type(exc).__name__}", file=sys.stderr)
            return
        if answer.status_code != 200:
            print(f"baseline turns: reply refused: {answer.status_code}", file=sys.stderr)


def replying_store(conn: sqlite3.Connection, replier: Replier) -> Store:
    """Store the body durably (one autocommitted insert, on the loop), then start its
    replies; a redelivered body adds nothing and is not answered again."""

    async def store(key: str, body: bytes) -> None:
        if conn.execute(INSERT, (key, body)).rowcount:
            replier.answer(body)

    return store


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.turns_baseline", description=__doc__)
    parser.add_argument("--db", type=Path, required=True, help="the SQLite file to store into")
    parser.add_argument("--rate", type=float, default=None, help="replies a second at most")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    secret = os.environ.get(SECRET_ENV, "")
    found = {name: os.environ.get(variable, "") for name, variable in ENV.items()}
    if not secret or not all(found.values()):
        parser.error(f"set {SECRET_ENV} and {', '.join(ENV.values())}")
    conn = connect(args.db)  # clinicbot's pragmas: WAL, synchronous=FULL, autocommit
    conn.execute(CREATE)
    replier = Replier(found["base"], found["token"], found["number"], args.rate)
    app = signed_store_app(secret.encode(), replying_store(conn, replier))
    asyncio.run(serve_asgi(app, MODE, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
