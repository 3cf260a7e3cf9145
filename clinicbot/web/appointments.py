"""The appointment routes: book, list, read, and PATCH for status, reschedule and notes."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import Parameter

from clinicbot.db import Database
from clinicbot.domain import (
    Appointment,
    AppointmentCreate,
    AppointmentEvent,
    AppointmentUpdate,
    Status,
)
from clinicbot.services import booking
from clinicbot.store import appointments as store
from clinicbot.web.params import (
    NOT_FOUND,
    READ_ERRORS,
    WRITE_ERRORS,
    ClinicFilter,
    Clock,
    IdPath,
    Offset,
)

DateFilter = Annotated[dt.date | None, Parameter(description="clinic-local day, YYYY-MM-DD")]


class AppointmentController(Controller):
    path = "/appointments"
    tags = ["appointments"]

    @post(responses=WRITE_ERRORS)
    async def book_appointment(
        self, db: Database, clock: Clock, data: AppointmentCreate
    ) -> Appointment:
        """Book; 409 if the doctor is taken then, 400 (naming the field) if the rules forbid it."""
        return await db.write(booking.book, data, clock())

    @get()
    async def list_appointments(
        self,
        db: Database,
        clinic_id: ClinicFilter = None,
        doctor_id: ClinicFilter = None,
        date: DateFilter = None,
        date_from: DateFilter = None,
        date_to: DateFilter = None,
        status: Status | None = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 200,
        offset: Offset = 0,
    ) -> list[Appointment]:
        """In time order; ``date`` for one day, or ``date_from``/``date_to`` for a range."""
        start = date or date_from
        end = date or date_to
        return await db.read(
            store.list_appointments,
            clinic_id=clinic_id,
            doctor_id=doctor_id,
            date_from=start.isoformat() if start else None,
            date_to=end.isoformat() if end else None,
            status=status,
            limit=limit,
            offset=offset,
        )

    @get("/{appointment_id:str}", responses=NOT_FOUND)
    async def get_appointment(self, db: Database, appointment_id: IdPath) -> Appointment:
        return await db.read(store.get_appointment, appointment_id)

    @patch("/{appointment_id:str}", responses=WRITE_ERRORS)
    async def update_appointment(
        self, db: Database, clock: Clock, appointment_id: IdPath, data: AppointmentUpdate
    ) -> Appointment:
        """Change the status (any status: corrections are audited), move it, or edit notes."""
        return await db.write(booking.update_appointment, appointment_id, data, clock())

    @get("/{appointment_id:str}/events", responses=READ_ERRORS)
    async def appointment_events(
        self, db: Database, appointment_id: IdPath
    ) -> list[AppointmentEvent]:
        """The audit trail: who changed what, when, from which status to which."""
        return await db.read(_events, appointment_id)


def _events(conn: sqlite3.Connection, appointment_id: str) -> list[AppointmentEvent]:
    store.get_appointment(conn, appointment_id)
    return store.list_events(conn, appointment_id)
