"""The "try the bot" channel: send a message as a simulated patient, read the bot's
answers, clear everything the simulator made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import Parameter

from clinicbot.db import Database
from clinicbot.services import simulator
from clinicbot.web.params import NOT_FOUND, READ_ERRORS, WRITE_ERRORS, Clock, IdPath, Limit

ClinicId = Annotated[str, Parameter(min_length=1, max_length=64)]
SimPatient = Annotated[str, Parameter(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]


class Posted(msgspec.Struct, frozen=True):
    id: str


class Cleared(msgspec.Struct, frozen=True):
    patients_removed: int


class SimulatorController(Controller):
    path = "/simulator"
    tags = ["simulator"]

    @post("/messages", responses=WRITE_ERRORS)
    async def send(
        self,
        db: Database,
        clock: Clock,
        wake_worker: Callable[[], None],
        data: simulator.SimulatedMessage,
    ) -> Posted:
        """A message from a simulated patient; the bot answers it as it would on WhatsApp."""
        message_id = await db.write(simulator.post_message, data, clock())
        wake_worker()
        return Posted(message_id)

    @get("/messages", responses=READ_ERRORS)
    async def chat(
        self,
        db: Database,
        clinic_id: ClinicId,
        patient: SimPatient = "demo",
        limit: Limit = 100,
    ) -> list[simulator.SimulatorEntry]:
        """The simulated chat, oldest first, with the bot's buttons and lists as sent."""
        return await db.read(simulator.read_chat, clinic_id, patient, limit)

    @delete(status_code=200, responses=NOT_FOUND)
    async def clear(
        self, db: Database, drop_sessions: Callable[[str], object], clinic_id: IdPath
    ) -> Cleared:
        """Remove every simulated patient, booking and message of the clinic."""
        removed = await db.write(simulator.clear, clinic_id)
        drop_sessions(f"{clinic_id}:{simulator.PREFIX}")
        return Cleared(removed)
