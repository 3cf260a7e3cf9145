"""Patients choosing times at once, through the real bot worker on a real database: each is
offered a different first time (the first offered is held briefly for them), so taking the
first option books every one of them, with no "just taken" and no overlap."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from clinicbot.db import Database, connect, migrate
from clinicbot.services.bot import BotWorker
from clinicbot.services.bot_turns import Message
from clinicbot.services.inbox import store_webhook
from clinicbot.sessions import Sessions
from clinicbot.whatsapp.webhook import parse_webhook
from tests.factories import make_clinic_db

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday, 2:30 pm in the clinic
PHONE_NUMBER_ID = "106540352242922"
FIRST_OPTION_LIMIT = 8  # DESIGN.md: booked within 8 messages, always taking the first option
Said = dict[str, Any]  # a WhatsApp message object, less its sender, id and time


def text(body: str) -> Said:
    return {"type": "text", "text": {"body": body}}


def first_option(payload: dict[str, Any]) -> Said:
    """A tap on the first button or list row of a Graph API interactive body."""
    inner = payload["interactive"]
    if inner["type"] == "button":
        chosen, kind = inner["action"]["buttons"][0]["reply"], "button_reply"
    else:
        chosen, kind = inner["action"]["sections"][0]["rows"][0], "list_reply"
    picked = {"id": chosen["id"], "title": chosen["title"]}
    return {"type": "interactive", "interactive": {"type": kind, kind: picked}}


def webhook_body(wa_id: str, wamid: str, said: Said, at: int) -> bytes:
    message = {"from": wa_id, "id": wamid, "timestamp": str(at), **said}
    value = {
        "metadata": {"phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": f"Patient {wa_id[-3:]}"}, "wa_id": wa_id}],
        "messages": [message],
    }
    change = {"field": "messages", "value": value}
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}
    return msgspec.json.encode(body)


class Patients:
    """Patients talking to one clinic's bot worker, each message stored as the webhook
    would, each reply read back from the outbox as the sender would send it."""

    def __init__(self, db: Database, count: int) -> None:
        self.db = db
        self.phones = [f"9198000{n:05d}" for n in range(count)]
        self.sent = dict.fromkeys(self.phones, 0)

    def _store(self, conn: Any, said: dict[str, Said], at: int) -> list[Message]:
        stored = []
        for phone, content in said.items():
            wamid = f"wamid.{phone}.{self.sent[phone]}"
            store_webhook(conn, parse_webhook(webhook_body(phone, wamid, content, at)), NOW)
            row = conn.execute(
                "SELECT wa_message_id, clinic_id, sender, wa_id, user_id, profile_name, type,"
                " wa_timestamp, body FROM inbound_messages WHERE wa_message_id = ?",
                [wamid],
            ).fetchone()
            stored.append(Message(*row))
            self.sent[phone] += 1
        return stored

    async def store(self, said: dict[str, Said]) -> list[Message]:
        at = int(NOW.timestamp()) + max(self.sent.values())
        return await self.db.write(self._store, said, at)

    async def last_reply(self, phone: str) -> dict[str, Any]:
        """The Graph body of the last reply to ``phone``'s last message."""

        def read(conn: Any) -> dict[str, Any]:
            key = f"reply:wamid.{phone}.{self.sent[phone] - 1}:%"
            row = conn.execute(
                "SELECT payload FROM outbox WHERE key LIKE ? ORDER BY id DESC LIMIT 1", [key]
            ).fetchone()
            assert row is not None, f"no reply to {phone}'s message {self.sent[phone]}"
            payload: dict[str, Any] = msgspec.json.decode(row[0])
            return payload

        return await self.db.read(read)

    async def booked(self) -> dict[str, tuple[str, str, str]]:
        """phone -> (doctor, start, end) of their confirmed appointment."""

        def read(conn: Any) -> dict[str, tuple[str, str, str]]:
            rows = conn.execute(
                "SELECT p.phone, a.doctor_id, a.starts_at, a.ends_at FROM appointments a"
                " JOIN patients p ON p.id = a.patient_id WHERE a.status = 'confirmed'"
            )
            return {r[0].removeprefix("+"): (r[1], r[2], r[3]) for r in rows}

        return await self.db.read(read)

    async def unprocessed(self) -> int:
        def count(conn: Any) -> int:
            sql = "SELECT count(*) FROM inbound_messages WHERE processed_at IS NULL"
            return int(conn.execute(sql).fetchone()[0])

        return await self.db.read(count)

    async def replies_saying(self, words: str) -> int:
        def count(conn: Any) -> int:
            sql = "SELECT count(*) FROM outbox WHERE author = 'bot' AND preview LIKE ?"
            return int(conn.execute(sql, [f"%{words}%"]).fetchone()[0])

        return await self.db.read(count)


@contextmanager
def clinic(tmp_path: Path, doctors: int) -> Iterator[tuple[Database, Sessions]]:
    setup = connect(tmp_path / "clinicbot.db")
    migrate(setup)
    make_clinic_db(setup, NOW, doctors=doctors)
    setup.close()
    db = Database(tmp_path / "clinicbot.db")
    sessions = Sessions(tmp_path / "sessions")
    try:
        yield db, sessions
    finally:
        sessions.close()
        db.close()


def no_overlaps(booked: dict[str, tuple[str, str, str]]) -> bool:
    spans = sorted(booked.values())
    return all(
        a[0] != b[0] or a[2] <= b[1]  # another doctor, or ends before the next starts
        for a, b in itertools.pairwise(spans)
    )


def test_patients_one_after_the_other_are_offered_different_first_times(
    tmp_path: Path,
) -> None:
    async def run() -> None:
        with clinic(tmp_path, doctors=1) as (db, sessions):
            worker = BotWorker(db, sessions, clock=lambda: NOW)
            patients = Patients(db, 2)
            first, second = patients.phones

            async def say(phone: str, said: Said) -> dict[str, Any]:
                for message in await patients.store({phone: said}):
                    await worker.process(message)
                return await patients.last_reply(phone)

            lists: dict[str, dict[str, Any]] = {}
            for phone in patients.phones:  # Hi, Book, the first service: the free times
                reply = await say(phone, text("Hi"))
                for _ in range(2):
                    reply = await say(phone, first_option(reply))
                lists[phone] = reply
            firsts = [first_option(lists[p])["interactive"]["list_reply"] for p in (first, second)]
            assert all(f["id"].startswith("slot:") for f in firsts)
            assert firsts[0]["id"] != firsts[1]["id"]
            for phone in patients.phones:  # each takes its first time, then Confirm
                confirm = await say(phone, first_option(lists[phone]))
                done = await say(phone, first_option(confirm))
                assert "booked" in done["interactive"]["body"]["text"].lower()
            booked = await patients.booked()
            assert set(booked) == {first, second} and no_overlaps(booked)
            assert await patients.replies_saying("just taken") == 0

    asyncio.run(run())


def test_thirty_patients_booking_at_once_all_book_with_the_first_option(
    tmp_path: Path,
) -> None:
    """Every patient says Hi at the same moment, then each takes the first option of every
    reply at the same moment as the others, through the worker's concurrent loop."""

    async def run() -> tuple[dict[str, int], float]:
        with clinic(tmp_path, doctors=2) as (db, sessions):
            replied = asyncio.Event()
            worker = BotWorker(db, sessions, clock=lambda: NOW, on_reply=replied.set)
            patients = Patients(db, 30)
            stop = asyncio.Event()
            loop = asyncio.create_task(worker.run(stop))
            started = time.perf_counter()
            said: dict[str, Said] = {p: text("Hi") for p in patients.phones}
            while said:
                await patients.store(said)
                worker.wake()
                while True:  # until the worker has answered every one of them
                    replied.clear()
                    if not await patients.unprocessed():
                        break
                    await asyncio.wait_for(replied.wait(), timeout=30)
                booked = await patients.booked()
                waiting = [p for p in said if p not in booked]
                assert all(patients.sent[p] < FIRST_OPTION_LIMIT for p in waiting), waiting
                said = {p: first_option(await patients.last_reply(p)) for p in waiting}
            elapsed = time.perf_counter() - started
            stop.set()
            await loop
            assert set(booked) == set(patients.phones) and no_overlaps(booked)
            assert await patients.replies_saying("just taken") == 0
            outcomes = await db.read(
                lambda c: c.execute("SELECT DISTINCT outcome FROM inbound_messages").fetchall()
            )
            assert [tuple(o) for o in outcomes] == [("answered",)]
            return patients.sent, elapsed

    sent, elapsed = asyncio.run(run())
    print(f"\n30 patients at once: booked after {max(sent.values())} messages, {elapsed:.2f} s")
    assert max(sent.values()) <= FIRST_OPTION_LIMIT
