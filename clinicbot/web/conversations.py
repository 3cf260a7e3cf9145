"""The WhatsApp inbox for staff: conversations newest first, a thread with delivery
status, staff replies, take over and hand back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter

from clinicbot.db import Database
from clinicbot.services import conversations as services
from clinicbot.store import conversations as store
from clinicbot.web.params import (
    NOT_FOUND,
    READ_ERRORS,
    WRITE_ERRORS,
    ClinicFilter,
    Clock,
    IdPath,
    Limit,
    Offset,
)

Wake = Callable[[], None]
PausedOnly = Annotated[bool, Parameter(description="only conversations staff have taken over")]


class ConversationController(Controller):
    path = "/conversations"
    tags = ["whatsapp"]

    @get()
    async def list_conversations(
        self,
        db: Database,
        clinic_id: ClinicFilter = None,
        paused: PausedOnly = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[store.ConversationSummary]:
        """WhatsApp conversations, the most recent message first, with unread counts."""
        return await db.read(
            store.list_recent, clinic_id, paused_only=paused, limit=limit, offset=offset
        )

    @get("/{patient_id:str}", responses=READ_ERRORS)
    async def read_thread(
        self, db: Database, clock: Clock, patient_id: IdPath, limit: Limit = 100
    ) -> services.Thread:
        """The thread, oldest first: what the patient sent, and what went out with its
        delivery status (queued, sent, delivered, read, or failed with the reason)."""
        return await db.read(services.read_thread, patient_id, limit, clock())

    @post("/{patient_id:str}/read", status_code=200, responses=NOT_FOUND)
    async def mark_read(self, db: Database, patient_id: IdPath) -> store.ConversationSummary:
        """Staff have seen it: the unread count goes to zero."""
        return await db.write(services.mark_read, patient_id)

    @post("/{patient_id:str}/takeover", status_code=200, responses=NOT_FOUND)
    async def take_over(
        self, db: Database, clock: Clock, patient_id: IdPath
    ) -> store.ConversationSummary:
        """Staff answer this patient from now on; the bot stays quiet until handed back."""
        return await db.write(services.set_paused, patient_id, True, clock())

    @post("/{patient_id:str}/handback", status_code=200, responses=NOT_FOUND)
    async def hand_back(
        self, db: Database, clock: Clock, patient_id: IdPath
    ) -> store.ConversationSummary:
        """The bot answers this patient again."""
        return await db.write(services.set_paused, patient_id, False, clock())

    @post("/{patient_id:str}/reply", responses=WRITE_ERRORS)
    async def reply(
        self,
        db: Database,
        clock: Clock,
        wake_sender: Wake,
        patient_id: IdPath,
        data: services.StaffReply,
    ) -> services.ThreadMessage:
        """Send a message as staff (this takes the conversation over). 409 when more than
        24 hours have passed since the patient last wrote."""
        message = await db.write(services.staff_reply, patient_id, data.text.strip(), clock())
        wake_sender()
        return message
