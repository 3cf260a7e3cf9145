"""The bot worker: answers the inbox, in WhatsApp-time order per patient and concurrently
across patients.

For each message: plan on a reader snapshot (context, session, ``step``), write the session,
then apply the turn in one durable write (``bot_turns.apply_turn``). A write refused by the
booking rules (a slot taken meanwhile, an appointment changed by staff) is planned again on
a fresh snapshot, where the engine sees what changed and says so. After a crash, start-up
finds the unprocessed messages and does the same; sessions (see ``clinicbot.sessions``)
make the re-run start from the right place.

Turns that hold, book or move a time (``SLOT_EFFECTS``) are planned a second time, on a
fresh snapshot, and applied under a per-clinic lock: the snapshot then holds every earlier
such turn's holds, so patients choosing at once are offered different first times and never
refuse each other's picks. Every other turn (greetings, questions, the menu) stays
concurrent across patients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from clinicbot.conversation.engine import State, Turn, step
from clinicbot.conversation.model import Book, Hold, Inbound, Language, Release, Reschedule
from clinicbot.db import Database
from clinicbot.errors import ClinicError
from clinicbot.services.bot_context import build_context
from clinicbot.services.bot_turns import Applied, Message, apply_turn, mark_processed
from clinicbot.services.simulator import is_simulated
from clinicbot.sessions import Session, Sessions
from clinicbot.store import conversations
from clinicbot.store.clinics import get_clinic
from clinicbot.store.patients import find_by_phone, get_patient
from clinicbot.whatsapp.inbound import to_inbound

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
BATCH = 20
SLOT_EFFECTS = (Hold, Book, Reschedule)  # what must not be planned on a stale view of holds
_MESSAGE_COLUMNS = (
    "wa_message_id, clinic_id, sender, wa_id, user_id, profile_name, type, wa_timestamp, body"
)


@dataclass(frozen=True)
class Plan:
    turn: Turn | None  # None: nothing to say (the conversation is with staff)
    session_key: str
    patient_id: str | None
    before: bytes  # the state the turn started from


def _pending_senders(conn: sqlite3.Connection, limit: int) -> list[str]:
    rows = conn.execute(
        "SELECT sender FROM inbound_messages WHERE processed_at IS NULL"
        " GROUP BY sender ORDER BY min(wa_timestamp) LIMIT ?",
        [limit],
    )
    return [r[0] for r in rows]


def _pending_for(conn: sqlite3.Connection, sender: str) -> list[Message]:
    rows = conn.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM inbound_messages"  # noqa: S608
        " WHERE sender = ? AND processed_at IS NULL ORDER BY wa_timestamp, rowid LIMIT ?",
        [sender, BATCH],
    )
    return [Message(*row) for row in rows]


def _touches_slots(plan: Plan) -> bool:
    effects = plan.turn.effects if plan.turn is not None else ()
    return any(isinstance(e, SLOT_EFFECTS) for e in effects)


def _decode_state(raw: bytes | None) -> State:
    if raw:
        with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
            return msgspec.json.decode(raw, type=State)
    return State()


class BotWorker:
    """``wake()`` after the inbox grows; ``run(stop)`` until stopped."""

    def __init__(
        self,
        db: Database,
        sessions: Sessions,
        *,
        clock: Callable[[], datetime],
        on_reply: Callable[[], None] = lambda: None,
        concurrency: int = 32,
    ) -> None:
        self._db, self._sessions, self._clock = db, sessions, clock
        self._on_reply = on_reply
        self._concurrency = concurrency
        self._wake = asyncio.Event()
        self._active: dict[str, asyncio.Task[None]] = {}
        self._failures: dict[str, int] = {}
        self._slot_locks: dict[str, asyncio.Lock] = {}  # clinic id -> lock
        # clinic id -> slot turns committed: a plan begun after the last of them, with none
        # since, saw every hold and need not be made again under the lock
        self._slot_turns: dict[str, int] = {}
        self.processed = 0

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                self._wake.clear()
                await self._dispatch()
                waking = asyncio.create_task(self._wake.wait())
                await asyncio.wait({waking, stopping}, timeout=2.0, return_when="FIRST_COMPLETED")
                waking.cancel()
        finally:
            stopping.cancel()
            if self._active:
                await asyncio.gather(*self._active.values(), return_exceptions=True)

    async def _dispatch(self) -> None:
        free = self._concurrency - len(self._active)
        if free <= 0:
            return
        senders = await self._db.read(_pending_senders, free + len(self._active))
        for sender in senders:
            if sender not in self._active and len(self._active) < self._concurrency:
                task = asyncio.create_task(self._drain(sender))
                self._active[sender] = task

    async def _drain(self, sender: str) -> None:
        current: Message | None = None
        try:
            while messages := await self._db.read(_pending_for, sender):
                for current in messages:
                    await self.process(current)
        except sqlite3.OperationalError as exc:  # the disk is full, or another program locks
            log.warning("the bot worker waits for the database: %s", exc)
            await asyncio.sleep(1.0)
        except Exception:
            if current is None:
                log.exception("the bot worker could not read a sender's messages")
                await asyncio.sleep(1.0)
            else:
                await self._note_failure(current)
        finally:
            del self._active[sender]
            self._wake.set()

    async def _note_failure(self, message: Message) -> None:
        """A bug on one message must not silence the patient for good: after a few tries the
        message is set aside (outcome ``error``) and the patient's next ones are answered."""
        count = self._failures.get(message.wa_message_id, 0) + 1
        self._failures[message.wa_message_id] = count
        log.exception("the bot failed on a message (try %d of %d)", count, MAX_ATTEMPTS)
        if count >= MAX_ATTEMPTS:
            del self._failures[message.wa_message_id]
            with contextlib.suppress(sqlite3.Error):
                await self._db.write(mark_processed, message.wa_message_id, "error", self._clock())

    async def process(self, message: Message) -> None:
        """Answer one message (or record why not); safe to repeat."""
        now = self._clock()
        if message.clinic_id is None:
            await self._db.write(mark_processed, message.wa_message_id, "no clinic", now)
            return
        for attempt in range(MAX_ATTEMPTS):
            last_try = attempt == MAX_ATTEMPTS - 1
            try:
                plan, applied = await self._turn(message, message.clinic_id, now, last_try)
            except ClinicError as exc:
                log.info("a turn was refused (%s); planning again", type(exc).__name__)
                now = self._clock()
                continue
            await self._after(plan, applied)
            return
        log.error("a message could not be applied after %d attempts", MAX_ATTEMPTS)
        await self._db.write(mark_processed, message.wa_message_id, "failed", now)

    async def _turn(
        self, message: Message, clinic_id: str, now: datetime, last_try: bool
    ) -> tuple[Plan, Applied]:
        """Plan and apply one turn. A turn that holds, books or moves a time is planned again
        and applied under the clinic's slot lock, so that patients choosing at once see each
        other's holds and are offered (and pick) different times."""
        seen = self._slot_turns.get(clinic_id, 0)
        plan = await self._db.read(self._plan, message, now, last_try)
        if not _touches_slots(plan):
            return plan, await self._commit(message, plan, now)
        lock = self._slot_locks.setdefault(clinic_id, asyncio.Lock())
        async with lock:
            if self._slot_turns.get(clinic_id, 0) != seen:  # the plan's view may be stale
                now = self._clock()
                plan = await self._db.read(self._plan, message, now, last_try)
            applied = await self._commit(message, plan, now)
            if _touches_slots(plan):
                self._slot_turns[clinic_id] = self._slot_turns.get(clinic_id, 0) + 1
            return plan, applied

    async def _commit(self, message: Message, plan: Plan, now: datetime) -> Applied:
        """The session first, then the turn's durable write (see ``clinicbot.sessions``)."""
        if plan.turn is not None:
            await asyncio.to_thread(self._save_session, message, plan)
        return await self._db.write(self._apply, message, plan, now)

    def _apply(
        self, conn: sqlite3.Connection, message: Message, plan: Plan, now: datetime
    ) -> Applied:
        turn = plan.turn
        replies = turn.replies if turn is not None else ()
        effects = turn.effects if turn is not None else ()
        simulated = is_simulated(message.sender)
        return apply_turn(conn, message, replies, effects, now, simulated=simulated)

    async def _after(self, plan: Plan, applied: Applied) -> None:
        self.processed += 1
        if applied.replies:
            self._on_reply()
        if plan.patient_id is None and applied.patient_id is not None and plan.turn is not None:
            await asyncio.to_thread(self._name_patient, plan.session_key, applied.patient_id)

    def _name_patient(self, key: str, patient_id: str) -> None:
        """The first message made the patient: put their id in the session."""
        session = self._sessions.get(key)
        if session is not None and not session.patient_id:
            session.patient_id = patient_id
            self._sessions.put(key, session)

    def _save_session(self, message: Message, plan: Plan) -> None:
        assert plan.turn is not None and message.clinic_id is not None
        self._sessions.put(
            plan.session_key,
            Session(
                patient_id=plan.patient_id or "",
                clinic_id=message.clinic_id,
                context=msgspec.json.encode(plan.turn.state),
                message_id=message.wa_message_id,
                previous=plan.before,
            ),
        )

    def _plan(
        self, conn: sqlite3.Connection, message: Message, now: datetime, last_try: bool
    ) -> Plan:
        assert message.clinic_id is not None
        clinic = get_clinic(conn, message.clinic_id)
        key = f"{clinic.id}:{message.sender}"
        conversation = conversations.find(conn, clinic.id, message.wa_id, message.user_id)
        if conversation is not None and conversation.bot_paused:
            return Plan(None, key, conversation.patient_id, b"")
        patient_id = conversation.patient_id if conversation is not None else None
        if patient_id is None and message.wa_id:
            found = find_by_phone(conn, clinic.id, "+" + message.wa_id)
            patient_id = found.id if found is not None else None
        name = message.profile_name or ""
        if patient_id is not None:
            name = get_patient(conn, patient_id).name
        session = self._sessions.get(key)
        before: bytes | None = None
        if session is not None:
            before = (
                session.previous if session.message_id == message.wa_message_id else session.context
            )
        state = _decode_state(before)
        language = Language(conversation.language) if conversation is not None else Language.EN
        stale_after = timedelta(hours=clinic.stale_message_hours)
        stale = now.timestamp() - message.wa_timestamp > stale_after.total_seconds()
        inbound = to_inbound(message.type, message.body, stale=stale)
        context = build_context(
            conn, clinic, patient_id=patient_id, patient_name=name, language=language, now=now
        )
        if last_try:  # the world kept changing under this patient: start over at the menu
            state, inbound = State(), Inbound("text", text="menu")
        turn = step(state, inbound, context)
        if last_try:  # and let go of any time they held
            turn = msgspec.structs.replace(turn, effects=(*turn.effects, Release()))
        return Plan(turn, key, patient_id, msgspec.json.encode(state))
