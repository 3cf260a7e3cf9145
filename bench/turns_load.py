"""The turns bench's load: patients who talk to a server over signed webhooks, and hear its
replies at the local fake of the Graph API (``tests.fakes.whatsapp``), on one clock.

The load generator plays Meta's webhook side itself: each patient has a keep-alive HTTP
connection (raw asyncio streams, as ``bench.webhook_load``) and posts its next message, signed
``X-Hub-Signature-256``, once its previous turn has ended. The fake plays only the Graph API
(and sends the status webhooks of what it accepts, as Meta does); ``GraphSide`` tells the
load generator of each send and read receipt the moment it accepts one.

A turn's latency runs from ``time.time()`` taken just before the webhook's first byte is
written to the fake's own ``time.time()`` when it accepted the turn's last reply. Where a
turn ends: for clinicbot, at the read receipt of the patient's message, which its sender
posts after the replies of that message (same recipient, in outbox order, one at a time),
so every reply before it belongs to the turn; for the baseline, at its one reply.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.webhook_load import (
    ANSWER_TIMEOUT,
    Connection,
    ConnectionLost,
    Target,
    signed_request,
)
from clinicbot.conversation.texts import EN
from tests.fakes import payloads
from tests.fakes.records import Outcome, Sent
from tests.fakes.whatsapp import FakeWhatsApp

JSON = dict[str, Any]
BOOKED = EN["booked"].split("{", 1)[0]  # how the bot's confirmation starts: "✅ Booked! "
KEEP_ALIVE = 4.0  # seconds; uvicorn closes a connection idle for 5
CONNECTION_RETRIES = 3


def phone(index: int) -> str:
    """Patient ``index``'s WhatsApp id: a valid Indian mobile number, +91 70000 xxxxx."""
    return f"917000{index:06d}"


@dataclass(frozen=True)
class Heard:
    """What the Graph side accepted: a message for ``patient``, or a read receipt."""

    patient: str  # wa_id digits ("" for a read receipt: it names a wamid, not a patient)
    at: float  # the fake's time.time() when it accepted the request
    sent: Sent | None = None
    read: str | None = None  # the wamid a read receipt marks


class GraphSide(FakeWhatsApp):
    """The fake, reporting each accepted send and read receipt to ``listener`` (called on
    the fake's own thread)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.listener: Callable[[Heard], object] | None = None
        self.read_times: list[float] = []  # when each read receipt was accepted

    def __enter__(self) -> GraphSide:
        self.start()
        return self

    def _accept(self, path: str, body: JSON) -> Outcome:
        outcome = super()._accept(path, body)
        if outcome.sent is not None and self.listener is not None:
            self.listener(Heard(outcome.sent.patient, outcome.sent.at, sent=outcome.sent))
        return outcome

    def _mark_read(self, path: str, body: JSON) -> Outcome:
        outcome = super()._mark_read(path, body)
        if outcome.status == 200:
            at = self.clock()
            self.read_times.append(at)
            if self.listener is not None:
                self.listener(Heard("", at, read=str(body["message_id"])))
        return outcome


@dataclass(frozen=True)
class Said:
    """One patient message, as Meta delivers it: its type and that type's content."""

    type: str
    content: JSON


HELLO = Said("text", {"body": "Hi"})


def first_option(sent: Sent) -> Said | None:
    """A tap on the first button or list row ``sent`` offers; None if it offers none."""
    interactive = sent.body.get("interactive") or {}
    action = interactive.get("action") or {}
    if interactive.get("type") == "button" and action.get("buttons"):
        kind, choice = "button_reply", action["buttons"][0]["reply"]
    elif interactive.get("type") == "list" and action.get("sections"):
        kind, choice = "list_reply", action["sections"][0]["rows"][0]
    else:
        return None
    return Said("interactive", {"type": kind, kind: {"id": choice["id"], "title": choice["title"]}})


@dataclass(frozen=True)
class Pace:
    """How patients pace themselves: each sends a first message within ``spread`` seconds of
    the start, then waits a pause drawn from ``think`` (uniform, seconds) after each turn."""

    name: str
    think: tuple[float, float]
    spread: float


@dataclass
class Turn:
    patient: int
    index: int
    sent_at: float  # time.time() just before the webhook's first byte
    acked_at: float  # when its answer was read
    status: int  # the webhook's HTTP status (0: no answer)
    replies: list[float] = field(default_factory=list)  # the fake's receipt times
    ended: bool = False  # the turn's end was seen before the timeout

    @property
    def answered(self) -> bool:
        return self.ended and bool(self.replies)

    @property
    def latency(self) -> float:
        """Seconds from the webhook to the turn's last reply at the Graph API."""
        return max(self.replies) - self.sent_at

    @property
    def ack(self) -> float:
        return self.acked_at - self.sent_at


@dataclass
class Chat:
    """One patient's conversation: what they said, each turn, and how it ended."""

    patient: int
    said: list[Said] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    booked: bool = False


@dataclass(frozen=True)
class Script:
    """What patients say: the booking walk (``replay`` None), or each patient's messages of
    an earlier run, replayed (for a baseline, which answers every message alike)."""

    replay: dict[int, list[Said]] | None = None

    def first(self, patient: int) -> Said | None:
        if self.replay is None:
            return HELLO
        said = self.replay.get(patient, [])
        return said[0] if said else None

    def next(self, chat: Chat, last: Sent | None) -> Said | None:
        if self.replay is not None:
            said = self.replay.get(chat.patient, [])
            return said[len(chat.turns)] if len(chat.turns) < len(said) else None
        if last is None:
            return None
        if last.text.startswith(BOOKED):
            chat.booked = True
            return None
        return first_option(last)


class Router:
    """Hands each thing the Graph side heard to the patient it is for (on the load's loop)."""

    def __init__(self) -> None:
        self.inboxes: dict[str, asyncio.Queue[Heard]] = {}
        self.owners: dict[str, str] = {}  # our wamid -> the patient who sent it

    def inbox(self, wa_id: str) -> asyncio.Queue[Heard]:
        return self.inboxes.setdefault(wa_id, asyncio.Queue())

    def route(self, heard: Heard) -> None:
        wa_id = heard.patient if heard.sent is not None else self.owners.get(heard.read or "")
        if wa_id is not None and wa_id in self.inboxes:
            self.inboxes[wa_id].put_nowait(heard)


@dataclass(frozen=True)
class Setup:
    """Everything every patient of one load shares."""

    target: Target
    secret: bytes
    fake: GraphSide
    script: Script
    pace: Pace
    ends_at_read: bool  # clinicbot: a turn ends at its read receipt; else at its one reply
    max_turns: int
    turn_timeout: float
    seed: int


def webhook(fake: FakeWhatsApp, wa_id: str, index: int, wamid: str, said: Said) -> bytes:
    """The webhook body Meta would send for ``said``: one contact, one message, compact
    ASCII-escaped JSON."""
    item = payloads.message(
        wa_id=wa_id,
        user_id=None,
        wamid=wamid,
        timestamp=int(time.time()),
        type=said.type,
        content=said.content,
    )
    contact = payloads.contact(wa_id, None, f"Bench Patient {index}")
    metadata = {
        "display_phone_number": fake.display_phone_number,
        "phone_number_id": fake.phone_number_id,
    }
    return payloads.wire(
        payloads.envelope(fake.waba_id, metadata, {"contacts": [contact], "messages": [item]})
    )


class Line:
    """A patient's keep-alive connection, opened again when it has been idle too long or
    the server closed it."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.conn: Connection | None = None
        self.used = 0.0

    async def post(self, raw: bytes) -> tuple[float, float, int]:
        """(sent_at, acked_at, status): the clock starts once a connection is ready."""
        sent_at = time.time()
        for _ in range(CONNECTION_RETRIES):
            if self.conn is None or time.monotonic() - self.used > KEEP_ALIVE:
                await self.close()
                self.conn = await Connection.open(self.target)
            sent_at = time.time()
            try:
                status = await asyncio.wait_for(self.conn.send(raw), ANSWER_TIMEOUT)
            except (ConnectionLost, ConnectionError):
                self.conn = None  # closed under us: Meta would open another
                continue
            except TimeoutError:
                await self.close()
                break
            self.used = time.monotonic()
            return sent_at, time.time(), status
        return sent_at, time.time(), 0

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()
            self.conn = None


async def _turn_end(
    setup: Setup, inbox: asyncio.Queue[Heard], wamid: str, turn: Turn
) -> Sent | None:
    """Collect the turn's replies until its end; the last reply (None if there was none)."""
    last: Sent | None = None
    deadline = time.monotonic() + setup.turn_timeout
    while True:
        try:
            heard = await asyncio.wait_for(inbox.get(), deadline - time.monotonic())
        except TimeoutError:
            return last
        if heard.sent is not None:
            turn.replies.append(heard.at)
            last = heard.sent
            if not setup.ends_at_read:
                turn.ended = True
                return last
        elif heard.read == wamid:
            turn.ended = True
            return last


async def converse(setup: Setup, router: Router, index: int, chat: Chat) -> None:
    """One patient, from the first message until booked (or the script ends, or a turn
    goes unanswered)."""
    rng = random.Random(setup.seed * 100_003 + index)
    wa_id = phone(index)
    inbox, line = router.inbox(wa_id), Line(setup.target)
    await asyncio.sleep(rng.uniform(0, setup.pace.spread))
    said = setup.script.first(index)
    try:
        while said is not None and len(chat.turns) < setup.max_turns:
            wamid = payloads.new_wamid()
            router.owners[wamid] = wa_id
            raw = signed_request(
                setup.target, setup.secret, wamid, webhook(setup.fake, wa_id, index, wamid, said)
            ).raw
            chat.said.append(said)
            sent_at, acked_at, status = await line.post(raw)
            turn = Turn(index, len(chat.turns), sent_at, acked_at, status)
            chat.turns.append(turn)
            last = await _turn_end(setup, inbox, wamid, turn) if status == 200 else None
            if not turn.answered:
                return
            said = setup.script.next(chat, last)
            if said is not None:
                await asyncio.sleep(rng.uniform(*setup.pace.think))
    finally:
        await line.close()


@dataclass(frozen=True)
class Load:
    chats: list[Chat]
    started: float  # time.time() at the start
    seconds: float  # wall time, first message to the last turn's end
    cpu_seconds: float  # this process's CPU time meanwhile (the generator and the fake)


async def _talk(setup: Setup, patients: int) -> Load:
    loop, router = asyncio.get_running_loop(), Router()
    setup.fake.listener = lambda heard: loop.call_soon_threadsafe(router.route, heard)
    chats = [Chat(i) for i in range(patients)]
    cpu, started, clock = time.process_time(), time.time(), time.perf_counter()
    try:
        await asyncio.gather(*(converse(setup, router, c.patient, c) for c in chats))
    finally:
        setup.fake.listener = None
    return Load(chats, started, time.perf_counter() - clock, time.process_time() - cpu)


def talk(setup: Setup, patients: int) -> Load:
    """Run every patient's conversation at once; return what each one saw."""
    for index in range(patients):
        setup.fake.open_window(phone(index))  # as if each had written first
    return asyncio.run(_talk(setup, patients))


def scripts(chats: Sequence[Chat]) -> dict[int, list[Said]]:
    """What each patient said, to replay against a baseline."""
    return {chat.patient: list(chat.said) for chat in chats}
