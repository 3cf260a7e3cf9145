"""Outgoing WhatsApp messages for staff: the failed ones with the reason, a retry, and how
the sender is doing (sending, retrying, waiting for a token, not configured)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.params import Parameter

from clinicbot.db import Database
from clinicbot.services.sender import OutboxSender, SenderStatus
from clinicbot.store import outbox as store
from clinicbot.store.outbox import OutboxRow
from clinicbot.web.params import (
    WRITE_ERRORS,
    ClinicFilter,
    Clock,
    Limit,
    Offset,
)

MessageId = Annotated[int, Parameter(ge=1, le=2**62, description="the message's outbox id")]


class OutboxMessage(msgspec.Struct, frozen=True):
    """One outgoing message, as staff see it."""

    id: int
    clinic_id: str
    patient_id: str | None
    recipient: str  # the patient's WhatsApp number (digits) or business-scoped id
    kind: str  # text, interactive, template
    preview: str  # the text, as the inbox thread shows it
    author: str  # bot, staff, reminder, system
    appointment_id: str | None
    status: str  # queued, sending, sent, delivered, read, failed
    attempts: int
    error_code: int | None  # WhatsApp's error code, when it failed
    error_reason: str | None  # what happened and what to do, in words
    created_at: str
    updated_at: str  # for a failed message: when it failed
    sent_at: str | None


def _message(row: OutboxRow) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        clinic_id=row.clinic_id,
        patient_id=row.patient_id,
        recipient=row.recipient,
        kind=row.kind,
        preview=row.preview,
        author=row.author,
        appointment_id=row.appointment_id,
        status=row.status,
        attempts=row.attempts,
        error_code=row.error_code,
        error_reason=row.error_reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
        sent_at=row.sent_at,
    )


def _stopped(backlog: int, failed: int) -> SenderStatus:
    return SenderStatus(
        "stopped", "The sender is not running.", backlog, failed, 0, None, None, None
    )


class OutboxController(Controller):
    path = "/messages"
    tags = ["whatsapp"]

    @get("/failed")
    async def list_failed(
        self, db: Database, clinic_id: ClinicFilter = None, limit: Limit = 50, offset: Offset = 0
    ) -> list[OutboxMessage]:
        """Messages WhatsApp would not take or could not deliver, the latest first, each
        with WhatsApp's error code and the reason in words."""
        rows = await db.read(store.list_failed, clinic_id, limit, offset)
        return [_message(r) for r in rows]

    @post("/{message_id:int}/retry", status_code=200, responses=WRITE_ERRORS)
    async def retry(
        self,
        db: Database,
        clock: Clock,
        wake_sender: Callable[[], None],
        sender: OutboxSender | None,
        message_id: MessageId,
    ) -> OutboxMessage:
        """Send a failed message again, as a new attempt. 404 for an unknown id, 409 when
        the message has not failed. After a token problem is fixed, this also tries the
        held queue at once."""
        row = await db.write(store.retry_failed, message_id, clock())
        if sender is not None:
            sender.resume()
        wake_sender()
        return _message(row)

    @get("/sender")
    async def sender_status(
        self, db: Database, sender: OutboxSender | None, clinic_id: ClinicFilter = None
    ) -> SenderStatus:
        """How sending goes: ``ok``, ``retrying`` (no connection to WhatsApp),
        ``auth_failed`` (the token needs updating; the queue waits), ``not_configured``
        (no token or number id yet) or ``stopped``, with the backlog and failed counts."""
        backlog, failed = await db.read(store.counts, clinic_id)
        if sender is None:
            return _stopped(backlog, failed)
        return sender.status(backlog, failed)
