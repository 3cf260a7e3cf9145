"""Applying a turn: one transaction for the patient, the effects, the replies and the
processed mark; holds keep a slot from other patients; the simulator's data stays apart."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from clinicbot.conversation.model import (
    Book,
    Cancel,
    Choice,
    Effect,
    HandOver,
    Hold,
    Language,
    Release,
    Reply,
)
from clinicbot.db.database import transaction
from clinicbot.errors import Conflict, InvalidInput, NotFound, SlotTaken
from clinicbot.services import conversations, simulator
from clinicbot.services.bot_context import HOLD_MINUTES, OFFER_HOLD_MINUTES, build_context
from clinicbot.services.bot_turns import Applied, Message, apply_turn
from clinicbot.services.inbox import store_webhook
from clinicbot.services.patients import clinic_stats
from clinicbot.sessions import Session, Sessions
from clinicbot.store.clinics import get_clinic
from clinicbot.whatsapp.webhook import parse_webhook
from tests.factories import TestClinic, make_clinic_db, next_weekday

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
IST = ZoneInfo("Asia/Kolkata")


@pytest.fixture
def clinic(conn: sqlite3.Connection) -> TestClinic:
    return make_clinic_db(conn, NOW, doctors=2)


def inbound(conn: sqlite3.Connection, wamid: str, wa_id: str = "919876543210") -> Message:
    """Store a text message as the webhook would and return it as the worker reads it."""
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": "106540352242922"},
                            "contacts": [{"profile": {"name": "Asha Rao"}, "wa_id": wa_id}],
                            "messages": [
                                {
                                    "from": wa_id,
                                    "id": wamid,
                                    "timestamp": str(int(NOW.timestamp())),
                                    "type": "text",
                                    "text": {"body": "hi"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    with transaction(conn):
        store_webhook(conn, parse_webhook(msgspec.json.encode(body)), NOW)
    row = conn.execute(
        "SELECT wa_message_id, clinic_id, sender, wa_id, user_id, profile_name, type,"
        " wa_timestamp, body FROM inbound_messages WHERE wa_message_id = ?",
        [wamid],
    ).fetchone()
    return Message(*row)


def slot(clinic: TestClinic, hour: int = 10) -> datetime:
    day = next_weekday(NOW.date(), 1)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=IST)


def apply(
    conn: sqlite3.Connection, message: Message, *effects: Effect, simulated: bool = False
) -> Applied:
    with transaction(conn):
        reply = Reply("ok", (Choice("a", "A"),))
        return apply_turn(conn, message, (reply,), effects, NOW, simulated=simulated)


def test_a_first_message_makes_the_patient_and_queues_the_reply(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    message = inbound(conn, "wamid.1")
    applied = apply(conn, message)
    patient = conn.execute("SELECT * FROM patients WHERE id = ?", [applied.patient_id]).fetchone()
    assert (patient["name"], patient["phone"], patient["whatsapp_name"]) == (
        "Asha Rao",
        "+919876543210",
        "Asha Rao",
    )
    rows = conn.execute("SELECT key, kind, author, recipient FROM outbox ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [
        ("reply:wamid.1:0", "interactive", "bot", "919876543210"),
        ("read:wamid.1", "read", "system", "919876543210"),
    ]
    processed = conn.execute(
        "SELECT processed_at, outcome, patient_id FROM inbound_messages"
    ).fetchone()
    assert processed["outcome"] == "answered" and processed["patient_id"] == applied.patient_id


def test_applying_the_same_message_twice_changes_nothing(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    message = inbound(conn, "wamid.1")
    apply(conn, message, Book(clinic.doctor, clinic.service, slot(clinic)))
    again = apply(conn, message, Book(clinic.doctor, clinic.service, slot(clinic)))
    assert again.outcome == "duplicate"
    assert conn.execute("SELECT count(*) FROM appointments").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2


def test_a_failing_effect_keeps_nothing_of_the_turn(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    first = inbound(conn, "wamid.1")
    apply(conn, first, Book(clinic.doctor, clinic.service, slot(clinic)))
    other = inbound(conn, "wamid.2", wa_id="919812345678")
    with pytest.raises(SlotTaken):
        apply(conn, other, Book(clinic.doctor, clinic.service, slot(clinic)))
    assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] == 1
    assert (
        conn.execute(
            "SELECT processed_at FROM inbound_messages WHERE wa_message_id = 'wamid.2'"
        ).fetchone()[0]
        is None
    )
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 2


def test_a_hold_keeps_the_slot_from_others_but_not_from_its_patient(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    start = slot(clinic)
    holder = apply(conn, inbound(conn, "wamid.1"), Hold(clinic.doctor, clinic.service, start))
    other = inbound(conn, "wamid.2", wa_id="919812345678")
    with pytest.raises(SlotTaken):
        apply(conn, other, Book(clinic.doctor, clinic.service, start))
    # Others no longer see it; the holder still does.
    c = get_clinic(conn, clinic.id)
    for patient_id, sees in ((None, False), (holder.patient_id, True)):
        ctx = build_context(
            conn, c, patient_id=patient_id, patient_name="", language=Language.EN, now=NOW
        )
        starts = ctx.availability.free_starts(clinic.doctor, clinic.service, start.date())
        assert (start in starts) is sees
    apply(conn, inbound(conn, "wamid.3"), Book(clinic.doctor, clinic.service, start))
    assert conn.execute("SELECT count(*) FROM slot_holds").fetchone()[0] == 0


def test_an_offered_time_is_held_briefly_and_let_go_on_leaving(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    def holds() -> list[tuple[int, int]]:
        rows = conn.execute("SELECT start_ts, expires_ts - ? FROM slot_holds", [now_ts])
        return [(r[0], r[1]) for r in rows]

    now_ts, start, later = int(NOW.timestamp()), slot(clinic), slot(clinic, 11)
    apply(conn, inbound(conn, "wamid.1"), Hold(clinic.doctor, clinic.service, start, "offer"))
    assert holds() == [(int(start.timestamp()), OFFER_HOLD_MINUTES * 60)]
    apply(conn, inbound(conn, "wamid.2"), Hold(clinic.doctor, clinic.service, later))
    assert holds() == [(int(later.timestamp()), HOLD_MINUTES * 60)]  # one hold per patient
    apply(conn, inbound(conn, "wamid.3"), Release())
    assert holds() == []


def test_a_patient_cannot_cancel_someone_elses_appointment(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    apply(conn, inbound(conn, "wamid.1"), Book(clinic.doctor, clinic.service, slot(clinic)))
    appointment_id = conn.execute("SELECT id FROM appointments").fetchone()[0]
    with pytest.raises(NotFound):
        apply(conn, inbound(conn, "wamid.2", wa_id="919812345678"), Cancel(appointment_id))
    apply(conn, inbound(conn, "wamid.3"), Cancel(appointment_id))
    with pytest.raises(InvalidInput):
        apply(conn, inbound(conn, "wamid.4"), Cancel(appointment_id))
    status = conn.execute(
        "SELECT status, total_cancellations FROM appointments a JOIN patients p"
        " ON p.id = a.patient_id"
    ).fetchone()
    assert tuple(status) == ("cancelled", 1)


def test_a_handed_over_conversation_gets_no_bot_replies(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    apply(conn, inbound(conn, "wamid.1"), HandOver())
    later = apply(conn, inbound(conn, "wamid.2"))
    assert later.outcome == "paused" and later.replies == 0
    summary = conn.execute("SELECT bot_paused, unread FROM conversations").fetchone()
    assert tuple(summary) == (1, 2)


def test_staff_replies_need_the_24_hour_window(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    applied = apply(conn, inbound(conn, "wamid.1"))
    assert applied.patient_id is not None
    with transaction(conn):
        sent = conversations.staff_reply(conn, applied.patient_id, "See you at 10", NOW)
    assert sent.author == "staff"
    thread = conversations.read_thread(conn, applied.patient_id, 50, NOW)
    assert [m.direction for m in thread.messages] == ["in", "out", "out"]
    assert thread.conversation.bot_paused and thread.window_open
    with pytest.raises(Conflict), transaction(conn):
        conversations.staff_reply(conn, applied.patient_id, "hello?", NOW + timedelta(hours=25))


def test_simulated_patients_stay_out_of_the_statistics_and_clear(
    conn: sqlite3.Connection, clinic: TestClinic
) -> None:
    apply(conn, inbound(conn, "wamid.1"), Book(clinic.doctor, clinic.service, slot(clinic)))
    with transaction(conn):
        sim_id = simulator.post_message(
            conn, simulator.SimulatedMessage(clinic_id=clinic.id, text="hi"), NOW
        )
    row = conn.execute(
        "SELECT wa_message_id, clinic_id, sender, wa_id, user_id, profile_name, type,"
        " wa_timestamp, body FROM inbound_messages WHERE wa_message_id = ?",
        [sim_id],
    ).fetchone()
    apply(
        conn, Message(*row), Book(clinic.doctor, clinic.service, slot(clinic, 11)), simulated=True
    )
    stats = clinic_stats(conn, clinic.id, NOW)
    assert (stats.total_patients, stats.total_appointments) == (1, 1)
    chat = simulator.read_chat(conn, clinic.id, "demo", 50)
    assert [e.direction for e in chat] == ["in", "out"]
    assert chat[1].payload is not None and chat[1].payload["type"] == "interactive"
    with transaction(conn):
        assert simulator.clear(conn, clinic.id) == 1
    assert conn.execute("SELECT count(*) FROM appointments").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM patients").fetchone()[0] == 1
    assert clinic_stats(conn, clinic.id, NOW) == stats


def test_sessions_survive_reopening(tmp_path: Path) -> None:
    sessions = Sessions(tmp_path / "s")
    sessions.put("c:1", Session("p", "c", b"{}", "wamid.1", b"{}"))
    sessions.put("c:SIM.a", Session("", "c", b"{}"))
    sessions.close()
    again = Sessions(tmp_path / "s")
    assert again.get("c:1") == Session("p", "c", b"{}", "wamid.1", b"{}")
    assert again.drop_prefix("c:SIM.") == 1 and again.get("c:SIM.a") is None
    assert again.get("nobody") is None
    again.close()


def test_a_message_the_bot_keeps_failing_on_is_set_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug on one message must not silence the patient: after a few tries it is marked
    ``error`` and the patient's next message is answered."""
    import asyncio

    from clinicbot.conversation import engine
    from clinicbot.db import Database, connect, migrate
    from clinicbot.services import bot

    setup = connect(tmp_path / "clinicbot.db")
    migrate(setup)
    make_clinic_db(setup, NOW, doctors=1)
    inbound(setup, "wamid.poison")
    later = inbound(setup, "wamid.fine")
    setup.execute("UPDATE inbound_messages SET wa_timestamp = wa_timestamp + 1 WHERE rowid = 2")
    setup.commit()
    assert later.wa_message_id == "wamid.fine"

    real_step = engine.step
    tries: list[str] = []

    def step(state: engine.State, message: object, context: object) -> engine.Turn:
        tries.append("x")
        if len(tries) <= bot.MAX_ATTEMPTS:
            raise RuntimeError("a bug in the engine")
        return real_step(state, message, context)  # type: ignore[arg-type]

    monkeypatch.setattr(bot, "step", step)

    async def run() -> None:
        db = Database(tmp_path / "clinicbot.db")
        sessions = Sessions(tmp_path / "sessions")
        worker = bot.BotWorker(db, sessions, clock=lambda: NOW)
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        for _ in range(200):
            await asyncio.sleep(0.02)
            done = await db.read(
                lambda c: c.execute(
                    "SELECT count(*) FROM inbound_messages WHERE processed_at IS NOT NULL"
                ).fetchone()[0]
            )
            if done == 2:
                break
        stop.set()
        await task
        sessions.close()
        db.close()

    asyncio.run(run())
    outcomes = dict(setup.execute("SELECT wa_message_id, outcome FROM inbound_messages").fetchall())
    assert outcomes == {"wamid.poison": "error", "wamid.fine": "answered"}
    assert len(tries) == bot.MAX_ATTEMPTS + 1
    assert (
        setup.execute("SELECT count(*) FROM outbox WHERE key LIKE 'reply:wamid.fine:%'").fetchone()[
            0
        ]
        >= 1
    )
