"""One inbound message, applied in one transaction: the patient (made on the first message),
their conversation, the engine's effects through the booking services, the replies into the
outbox, and the message marked processed. If any effect fails (a slot taken meanwhile,
an appointment changed by staff), nothing of it is kept and the worker plans again."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from clinicbot.conversation.model import (
    Book,
    Cancel,
    ConfirmAttendance,
    Effect,
    HandOver,
    Hold,
    Release,
    Reply,
    Reschedule,
    SetLanguage,
    SetReminders,
)
from clinicbot.domain import AppointmentCreate, Patient, Source, Status
from clinicbot.errors import InvalidInput, NotFound
from clinicbot.services import booking
from clinicbot.services.bot_context import (
    HOLD_MINUTES,
    OFFER_HOLD_MINUTES,
    check_not_held,
    hold_slot,
    release_holds,
)
from clinicbot.services.patients import whatsapp_patient
from clinicbot.store import appointments as appointment_store
from clinicbot.store import clinics as setup
from clinicbot.store import conversations
from clinicbot.store.outbox import enqueue
from clinicbot.store.rows import stamp
from clinicbot.whatsapp.render import render

ACTOR = "whatsapp"


@dataclass(frozen=True)
class Message:
    """An inbound message as the worker reads it from the inbox."""

    wa_message_id: str
    clinic_id: str | None
    sender: str
    wa_id: str | None
    user_id: str | None
    profile_name: str | None
    type: str
    wa_timestamp: int
    body: str


@dataclass(frozen=True)
class Applied:
    patient_id: str | None
    outcome: str
    replies: int


def is_processed(conn: sqlite3.Connection, wa_message_id: str) -> bool:
    row = conn.execute(
        "SELECT processed_at FROM inbound_messages WHERE wa_message_id = ?", [wa_message_id]
    ).fetchone()
    return row is None or row[0] is not None


def mark_processed(
    conn: sqlite3.Connection,
    wa_message_id: str,
    outcome: str,
    now: datetime,
    patient_id: str | None = None,
) -> None:
    conn.execute(
        "UPDATE inbound_messages SET processed_at = ?, outcome = ?,"
        " patient_id = coalesce(?, patient_id) WHERE wa_message_id = ?",
        [stamp(now), outcome, patient_id, wa_message_id],
    )


def _own_appointment(conn: sqlite3.Connection, appointment_id: str, patient: Patient) -> None:
    appointment = appointment_store.get_appointment(conn, appointment_id)
    if appointment.patient_id != patient.id:
        raise NotFound("Not this patient's appointment.", field="appointment_id")
    if appointment.status not in (Status.CONFIRMED, Status.ARRIVED):
        raise InvalidInput("The appointment is no longer active.", field="appointment_id")


def _minutes(conn: sqlite3.Connection, service_id: str) -> int:
    return setup.get_service(conn, service_id).duration_minutes


def _hold(conn: sqlite3.Connection, effect: Hold, patient: Patient, now: datetime) -> None:
    minutes = _minutes(conn, effect.service_id)
    keep = OFFER_HOLD_MINUTES if effect.kind == "offer" else HOLD_MINUTES
    booking.check_free(conn, effect.doctor_id, effect.starts_at, minutes, now)
    hold_slot(conn, effect.doctor_id, effect.starts_at, minutes, patient.id, now, keep_minutes=keep)


def apply_effect(conn: sqlite3.Connection, effect: Effect, patient: Patient, now: datetime) -> None:
    """One effect, through the same services staff use; raises ClinicError when it cannot."""
    if isinstance(effect, Book):
        minutes = _minutes(conn, effect.service_id)
        check_not_held(conn, effect.doctor_id, effect.starts_at, minutes, patient.id, now)
        data = AppointmentCreate(
            clinic_id=patient.clinic_id,
            doctor_id=effect.doctor_id,
            service_id=effect.service_id,
            starts_at=effect.starts_at.isoformat(),
            patient_id=patient.id,
            source=Source.WHATSAPP,
        )
        booking.book(conn, data, now, actor=ACTOR, simulated=patient.simulated)
        release_holds(conn, patient.id)
    elif isinstance(effect, Hold):
        _hold(conn, effect, patient, now)
    elif isinstance(effect, Release):
        release_holds(conn, patient.id)
    elif isinstance(effect, Cancel):
        _own_appointment(conn, effect.appointment_id, patient)
        booking.set_status(
            conn, effect.appointment_id, Status.CANCELLED, now, actor=ACTOR, reason=effect.reason
        )
    elif isinstance(effect, Reschedule):
        _own_appointment(conn, effect.appointment_id, patient)
        current = appointment_store.get_appointment(conn, effect.appointment_id)
        minutes = _minutes(conn, current.service_id)
        check_not_held(conn, current.doctor_id, effect.starts_at, minutes, patient.id, now)
        booking.reschedule(
            conn,
            effect.appointment_id,
            effect.starts_at.isoformat(),
            now,
            actor=ACTOR,
            patient_rules=True,
        )
        release_holds(conn, patient.id)
    elif isinstance(effect, ConfirmAttendance):
        _own_appointment(conn, effect.appointment_id, patient)
        appointment_store.add_event(
            conn,
            effect.appointment_id,
            at=stamp(now),
            actor=ACTOR,
            kind="edit",
            detail="the patient confirmed they will come",
        )
    else:
        _apply_setting(conn, effect, patient, now)


def _apply_setting(
    conn: sqlite3.Connection, effect: Effect, patient: Patient, now: datetime
) -> None:
    if isinstance(effect, SetLanguage):
        conversations.update(conn, patient.id, {"language": effect.language.value})
    elif isinstance(effect, HandOver):
        conversations.update(conn, patient.id, {"bot_paused": 1, "paused_at": stamp(now)})
    elif isinstance(effect, SetReminders):
        conversations.update(conn, patient.id, {"reminders_off": int(not effect.on)})


def queue_replies(
    conn: sqlite3.Connection,
    replies: tuple[Reply, ...],
    *,
    key: str,
    clinic_id: str,
    patient_id: str,
    recipient: str,
    now: datetime,
    in_reply_to: str | None,
    author: str = "bot",
    simulated: bool = False,
) -> int:
    """Each reply into the outbox under ``<key>:<n>``; a re-run adds nothing."""
    queued = 0
    for n, reply in enumerate(replies):
        message = render(reply)
        queued += (
            enqueue(
                conn,
                key=f"{key}:{n}",
                clinic_id=clinic_id,
                patient_id=patient_id,
                recipient=recipient,
                kind=message.kind,
                payload=message.payload,
                preview=message.preview,
                author=author,
                now=now,
                in_reply_to=in_reply_to,
                simulated=simulated,
            )
            is not None
        )
    if replies:
        conversations.note_outbound(conn, patient_id, now)
    return queued


def apply_turn(
    conn: sqlite3.Connection,
    message: Message,
    replies: tuple[Reply, ...],
    effects: tuple[Effect, ...],
    now: datetime,
    *,
    simulated: bool = False,
) -> Applied:
    """Everything one inbound message causes, or nothing (see the module docstring)."""
    if is_processed(conn, message.wa_message_id):
        return Applied(None, "duplicate", 0)
    assert message.clinic_id is not None
    patient = whatsapp_patient(
        conn,
        message.clinic_id,
        wa_id=message.wa_id,
        user_id=message.user_id,
        profile_name=message.profile_name,
        now=now,
        simulated=simulated,
    )
    conversation = conversations.open_for(
        conn,
        patient_id=patient.id,
        clinic_id=message.clinic_id,
        wa_id=message.sender,
        user_id=message.user_id,
        now=now,
        simulated=simulated,
    )
    conversations.note_inbound(conn, patient.id, message.wa_timestamp, now)
    if conversation.bot_paused:
        mark_processed(conn, message.wa_message_id, "paused", now, patient.id)
        return Applied(patient.id, "paused", 0)
    for effect in effects:
        apply_effect(conn, effect, patient, now)
    queued = queue_replies(
        conn,
        replies,
        key=f"reply:{message.wa_message_id}",
        clinic_id=message.clinic_id,
        patient_id=patient.id,
        recipient=conversation.wa_id,
        now=now,
        in_reply_to=message.wa_message_id,
        simulated=simulated,
    )
    if not simulated:
        enqueue(
            conn,
            key=f"read:{message.wa_message_id}",
            clinic_id=message.clinic_id,
            patient_id=patient.id,
            recipient=conversation.wa_id,
            kind="read",
            payload={"status": "read", "message_id": message.wa_message_id},
            preview="",
            author="system",
            now=now,
        )
    mark_processed(conn, message.wa_message_id, "answered" if queued else "quiet", now, patient.id)
    return Applied(patient.id, "answered", queued)
