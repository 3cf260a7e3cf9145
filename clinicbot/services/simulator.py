"""The built-in simulated channel: staff chat with the bot as a patient would, through the
same inbox, worker and outbox as WhatsApp. Simulated senders are ``SIM.<name>`` ids (never a
phone number, so they cannot meet a real patient); everything they cause is marked
``simulated``, left out of the statistics, never sent to Meta, and cleared in one go."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from clinicbot.errors import InvalidInput
from clinicbot.store.clinics import get_clinic
from clinicbot.store.rows import new_id, stamp
from clinicbot.whatsapp.inbound import to_inbound

PREFIX = "SIM."
SimKey = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


def is_simulated(sender: str) -> bool:
    return sender.startswith(PREFIX)


class SimulatedMessage(msgspec.Struct, forbid_unknown_fields=True):
    """What the simulated patient does: types ``text``, or taps the choice ``choice_id``."""

    clinic_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    patient: SimKey = "demo"
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] = "Test patient"
    text: Annotated[str, msgspec.Meta(max_length=4096)] = ""
    choice_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None


class SimulatorEntry(msgspec.Struct, frozen=True):
    """One bubble of the simulated chat. ``payload`` is the Graph API body of a bot message,
    so the panel draws buttons and lists as WhatsApp does."""

    direction: str  # "in" (the patient) | "out" (the bot or staff)
    id: str
    at: str
    text: str
    status: str | None = None
    payload: dict[str, Any] | None = None


def _body(data: SimulatedMessage, message_id: str, ts: int) -> tuple[str, dict[str, Any]]:
    base: dict[str, Any] = {"from": PREFIX + data.patient, "id": message_id, "timestamp": str(ts)}
    if data.choice_id is not None:
        reply = {"id": data.choice_id, "title": data.text[:24] or data.choice_id[:24]}
        interactive = {"type": "button_reply", "button_reply": reply}
        return "interactive", {**base, "type": "interactive", "interactive": interactive}
    return "text", {**base, "type": "text", "text": {"body": data.text}}


def post_message(conn: sqlite3.Connection, data: SimulatedMessage, now: datetime) -> str:
    """Put the simulated patient's message in the inbox, as a webhook would."""
    clinic = get_clinic(conn, data.clinic_id)
    if data.choice_id is None and not data.text.strip():
        raise InvalidInput("Type a message, or give a choice_id.", field="text")
    message_id = f"sim.{new_id()}"
    ts = int(now.timestamp())
    message_type, body = _body(data, message_id, ts)
    conn.execute(
        "INSERT INTO inbound_messages (wa_message_id, clinic_id, phone_number_id, sender, wa_id,"
        " user_id, profile_name, type, wa_timestamp, body, received_at)"
        " VALUES (?, ?, 'simulator', ?, NULL, ?, ?, ?, ?, ?, ?)",
        [
            message_id,
            clinic.id,
            PREFIX + data.patient,
            PREFIX + data.patient,
            data.name,
            message_type,
            ts,
            msgspec.json.encode(body).decode(),
            stamp(now),
        ],
    )
    return message_id


def read_chat(
    conn: sqlite3.Connection, clinic_id: str, patient: str, limit: int
) -> list[SimulatorEntry]:
    """The simulated chat, oldest first."""
    sender = PREFIX + patient
    # Order: by WhatsApp second, then arrival (rowid) for the patient's messages; each bot
    # message right after the message it answers, so answers within one second never
    # come before their question; a message that answers none (staff, a reminder) after
    # everything the patient sent in that second.
    keyed: list[tuple[tuple[int, int, int, int], SimulatorEntry]] = []
    place: dict[str, tuple[int, int]] = {}
    for rowid, wamid, kind, body, ts, outcome in conn.execute(
        "SELECT rowid, wa_message_id, type, body, wa_timestamp, outcome FROM inbound_messages"
        " WHERE clinic_id = ? AND sender = ? ORDER BY wa_timestamp DESC, rowid DESC LIMIT ?",
        [clinic_id, sender, limit],
    ):
        at = datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
        entry = SimulatorEntry("in", wamid, at, _in_text(kind, body), status=outcome)
        place[wamid] = (ts, rowid)
        keyed.append(((ts, rowid, 0, 0), entry))
    for out_id, created, preview, status, payload, answers in conn.execute(
        "SELECT id, created_at, preview, status, payload, in_reply_to FROM outbox"
        " WHERE clinic_id = ? AND recipient = ? AND kind != 'read' ORDER BY id DESC LIMIT ?",
        [clinic_id, sender, limit],
    ):
        entry = SimulatorEntry(
            "out",
            str(out_id),
            created,
            preview,
            status=status,
            payload=msgspec.json.decode(payload),
        )
        second, rowid = place.get(
            answers, (int(datetime.fromisoformat(created).timestamp()), 2**62)
        )
        keyed.append(((second, rowid, 1, out_id), entry))
    keyed.sort(key=lambda pair: pair[0])
    entries = [entry for _, entry in keyed]
    return entries[-limit:]


def _in_text(message_type: str, body: str) -> str:
    inbound = to_inbound(message_type, body)
    return inbound.text or inbound.choice_id or ""


def clear(conn: sqlite3.Connection, clinic_id: str) -> int:
    """Delete everything the simulator made at this clinic; return how many patients."""
    get_clinic(conn, clinic_id)
    for sql in (
        "DELETE FROM reminders WHERE appointment_id IN"
        " (SELECT id FROM appointments WHERE clinic_id = ? AND simulated = 1)",
        "DELETE FROM appointment_events WHERE appointment_id IN"
        " (SELECT id FROM appointments WHERE clinic_id = ? AND simulated = 1)",
        "DELETE FROM appointments WHERE clinic_id = ? AND simulated = 1",
        "DELETE FROM slot_holds WHERE patient_id IN"
        " (SELECT id FROM patients WHERE clinic_id = ? AND simulated = 1)",
        "DELETE FROM outbox WHERE clinic_id = ? AND simulated = 1",
        "DELETE FROM inbound_messages WHERE clinic_id = ? AND sender LIKE 'SIM.%'",
        "DELETE FROM conversations WHERE clinic_id = ? AND simulated = 1",
    ):
        conn.execute(sql, [clinic_id])
    return conn.execute(
        "DELETE FROM patients WHERE clinic_id = ? AND simulated = 1", [clinic_id]
    ).rowcount
