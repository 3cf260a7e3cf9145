"""What the engine remembers between messages (``State``) and what one step returns (``Turn``).

The state is small: where the patient is in a flow, the ids and the wished-for day and time
they chose, and the ids of the last choices offered (so a typed "2" means the second). It
never holds slot lists: those are recomputed from each fresh ``Context``.
"""

from __future__ import annotations

from datetime import date, datetime, time

from msgspec import Struct

from clinicbot.conversation.model import Effect, Reply

IDLE = "idle"
SERVICE = "service"  # asked which service
DOCTOR = "doctor"  # asked which doctor
SLOT = "slot"  # offered free times
CONFIRM = "confirm"  # holding a time, asked to confirm the booking
PICK_CANCEL = "pick_cancel"  # asked which appointment to cancel
PICK_MOVE = "pick_move"  # asked which appointment to reschedule
DROP = "drop"  # asked "cancel this one, sure?"
MOVE = "move"  # offered new times for an appointment
MOVE_CONFIRM = "move_confirm"  # holding a new time, asked to confirm the move
STAGES = frozenset(
    {IDLE, SERVICE, DOCTOR, SLOT, CONFIRM, PICK_CANCEL, PICK_MOVE, DROP, MOVE, MOVE_CONFIRM}
)
BOOKING_STAGES = frozenset({SERVICE, DOCTOR, SLOT, CONFIRM})
MOVING_STAGES = frozenset({PICK_MOVE, MOVE, MOVE_CONFIRM})
HOLDING_STAGES = BOOKING_STAGES | MOVING_STAGES  # where the patient may hold a time

ANY_DOCTOR = "*"
MAX_OFFERED = 10


class State(Struct, kw_only=True, omit_defaults=True):
    stage: str = IDLE
    service_id: str | None = None
    doctor_id: str | None = None  # ANY_DOCTOR: whichever doctor is free first
    appointment_id: str | None = None  # the one being cancelled or moved
    day: date | None = None  # wished-for day, clinic-local
    clock: time | None = None  # wished-for time of day
    part: str | None = None  # wished-for part of the day: "morning", "afternoon", "evening"
    slot: datetime | None = None  # the time held while the patient confirms
    offered: tuple[str, ...] = ()  # choice ids of the last message with choices

    @property
    def has_wish(self) -> bool:
        return self.day is not None or self.clock is not None or self.part is not None


class Turn(Struct, frozen=True):
    state: State
    replies: tuple[Reply, ...] = ()
    effects: tuple[Effect, ...] = ()
