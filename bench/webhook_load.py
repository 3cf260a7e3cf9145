"""The webhook bench's load: Meta-shaped signed webhook requests, and the senders that POST
them over keep-alive connections on raw asyncio streams.

Each request is one inbound text message with a wamid of its own, its body compact JSON with
non-ASCII escaped (``ensure_ascii``) as Meta sends it, signed ``X-Hub-Signature-256:
sha256=<HMAC-SHA256 of the raw body, hex>``. Requests are made (and signed) before the clock
starts; a sender then only writes bytes and reads one answer at a time, so the generator
costs a few tens of microseconds a request (``httpx`` costs far more: one shared
``AsyncClient`` caps near 200 requests a second on this machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PHONE_NUMBER_ID = "106540352242922"  # WHATSAPP.md's example number
DISPLAY_NUMBER = "15550783881"
WABA_ID = "102290129340398"
TEXTS = (  # English, Hindi in Devanagari (escaped as \\uXXXX on the wire), Hinglish
    "Hi, I'd like to book an appointment",
    "कल शाम 5 बजे डॉक्टर से मिलना है",
    "kal shaam 5 baje dr sharma free hai?",
    "cancel my appointment tomorrow",
)
PATIENTS = 500  # distinct senders the messages come from
CONNECT_TIMEOUT = 10.0
ANSWER_TIMEOUT = 60.0


def wamid(run: str, index: int) -> str:
    """A wamid shaped like Meta's, unique per (run, index)."""
    return f"wamid.HBgM{run}{index:010d}FQIAEhgUM0E0QTY1OTlBRUUwMzgxMDE0NEYA"


def webhook_body(message_id: str, index: int, now: int) -> bytes:
    patient = f"9198{index % PATIENTS:08d}"
    doc = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA_ID,
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": DISPLAY_NUMBER,
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [
                                {
                                    "profile": {"name": f"Patient {index % PATIENTS}"},
                                    "wa_id": patient,
                                    "user_id": f"IN.{index % PATIENTS:020d}",
                                }
                            ],
                            "messages": [
                                {
                                    "from": patient,
                                    "id": message_id,
                                    "timestamp": str(now),
                                    "type": "text",
                                    "text": {"body": TEXTS[index % len(TEXTS)]},
                                }
                            ],
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class Target:
    """Where one server listens for webhooks."""

    name: str
    url: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


@dataclass(frozen=True)
class Request:
    wamid: str
    raw: bytes  # the whole HTTP request


def signed_request(target: Target, secret: bytes, message_id: str, body: bytes) -> Request:
    digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
    head = (
        f"POST {target.path} HTTP/1.1\r\n"
        f"Host: {target.host}:{target.port}\r\n"
        "User-Agent: facebookexternalua\r\n"
        "Accept: */*\r\n"
        "Content-Type: application/json\r\n"
        f"X-Hub-Signature-256: sha256={digest}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return Request(message_id, head.encode() + body)


class Payloads:
    """Unique signed requests for one target: ``take(n)`` makes the next ``n``."""

    def __init__(self, target: Target, secret: bytes, run: str) -> None:
        self.target, self.secret, self.run = target, secret, run
        self.made = 0

    def take(self, count: int) -> list[Request]:
        now = int(time.time())
        requests = []
        for index in range(self.made, self.made + count):
            message_id = wamid(self.run, index)
            body = webhook_body(message_id, index, now)
            requests.append(signed_request(self.target, self.secret, message_id, body))
        self.made += count
        return requests


class ConnectionLost(RuntimeError):
    pass


class Connection:
    """One keep-alive HTTP/1.1 connection; one request in flight at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, target: Target) -> Connection:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port), CONNECT_TIMEOUT
        )
        return cls(reader, writer)

    async def send(self, raw: bytes) -> int:
        """Write one request and read its whole answer; the answer's status."""
        self.writer.write(raw)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise ConnectionLost(str(exc)) from exc
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise ConnectionLost(f"an answer without Content-Length: {head!r}")
        await self.reader.readexactly(length)
        return int(head[9:12])

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@dataclass(frozen=True)
class Outcome:
    wamid: str
    status: int  # 0: the connection was lost before an answer
    ns: int


async def _sender(
    target: Target, conn: Connection, requests: Iterator[Request], out: list[Outcome]
) -> None:
    clock = time.perf_counter_ns
    for request in requests:  # shared iterator: each request is sent once
        started = clock()
        try:
            status = await asyncio.wait_for(conn.send(request.raw), ANSWER_TIMEOUT)
        except (ConnectionLost, ConnectionError, TimeoutError):
            status = 0
            await conn.close()
            conn = await Connection.open(target)
        out.append(Outcome(request.wamid, status, clock() - started))
    await conn.close()


async def _load(
    target: Target,
    warmup: list[Request],
    requests: list[Request],
    senders: int,
    cpu: Callable[[], float],
) -> Sent:
    connections = [await Connection.open(target) for _ in range(senders)]
    warm: list[Outcome] = []
    timed: list[Outcome] = []
    shared = iter(warmup)
    await asyncio.gather(*(_sender_keep(target, c, shared, warm) for c in connections))
    shared = iter(requests)
    cpu_before, started = cpu(), time.perf_counter()
    await asyncio.gather(*(_sender(target, c, shared, timed) for c in connections))
    seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_before
    return Sent(warm, timed, seconds, cpu_seconds)


async def _sender_keep(
    target: Target, conn: Connection, requests: Iterator[Request], out: list[Outcome]
) -> None:
    """As ``_sender`` without closing: the warm-up that leaves each connection open."""
    for request in requests:
        started = time.perf_counter_ns()
        status = await asyncio.wait_for(conn.send(request.raw), ANSWER_TIMEOUT)
        out.append(Outcome(request.wamid, status, time.perf_counter_ns() - started))


@dataclass(frozen=True)
class Sent:
    warmup: list[Outcome]
    timed: list[Outcome]
    seconds: float  # wall time of the timed requests
    cpu_seconds: float  # the server's CPU time meanwhile (0 when unknown)


def send_all(
    target: Target,
    warmup: list[Request],
    requests: list[Request],
    senders: int,
    cpu: Callable[[], float] = lambda: 0.0,
) -> Sent:
    """Open ``senders`` keep-alive connections, send ``warmup`` untimed, then ``requests``
    timed from every connection at once. ``cpu()`` is read when the timing starts and ends."""
    return asyncio.run(_load(target, warmup, requests, senders, cpu))


def process_cpu_seconds(pid: int) -> Callable[[], float]:
    """The CPU time (user + system) process ``pid`` has used so far, from /proc (Linux);
    a function returning 0 elsewhere."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return lambda: 0.0
    tick = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    return read
