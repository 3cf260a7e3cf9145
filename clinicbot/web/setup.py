"""Routes for the clinic's setup: clinics, doctors (and their free slots), services,
working hours and time off."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter

from clinicbot.db import Database
from clinicbot.domain import (
    Clinic,
    ClinicCreate,
    ClinicUpdate,
    Doctor,
    DoctorCreate,
    DoctorUpdate,
    Service,
    ServiceCreate,
    ServiceUpdate,
    Slot,
    TimeOff,
    TimeOffCreate,
    TimeOffUpdate,
    WorkingHours,
    WorkingHoursCreate,
    WorkingHoursUpdate,
)
from clinicbot.services import booking
from clinicbot.services import setup as services
from clinicbot.store import clinics as store
from clinicbot.web.params import (
    NOT_FOUND,
    READ_ERRORS,
    WRITE_ERRORS,
    ClinicFilter,
    Clock,
    IdPath,
    errors,
)


class ClinicController(Controller):
    path = "/clinics"
    tags = ["clinics"]

    @get()
    async def list_clinics(self, db: Database) -> list[Clinic]:
        return await db.read(store.list_clinics)

    @post(responses=WRITE_ERRORS)
    async def create_clinic(self, db: Database, clock: Clock, data: ClinicCreate) -> Clinic:
        return await db.write(services.create_clinic, data, clock())

    @get("/{clinic_id:str}", responses=NOT_FOUND)
    async def get_clinic(self, db: Database, clinic_id: IdPath) -> Clinic:
        return await db.read(store.get_clinic, clinic_id)

    @patch("/{clinic_id:str}", responses=WRITE_ERRORS)
    async def update_clinic(
        self, db: Database, clock: Clock, clinic_id: IdPath, data: ClinicUpdate
    ) -> Clinic:
        return await db.write(services.update_clinic, clinic_id, data, clock())


class DoctorController(Controller):
    path = "/doctors"
    tags = ["doctors"]

    @get()
    async def list_doctors(self, db: Database, clinic_id: ClinicFilter = None) -> list[Doctor]:
        return await db.read(store.list_doctors, clinic_id)

    @post(responses=WRITE_ERRORS)
    async def create_doctor(self, db: Database, clock: Clock, data: DoctorCreate) -> Doctor:
        return await db.write(services.create_doctor, data, clock())

    @get("/{doctor_id:str}", responses=NOT_FOUND)
    async def get_doctor(self, db: Database, doctor_id: IdPath) -> Doctor:
        return await db.read(store.get_doctor, doctor_id)

    @patch("/{doctor_id:str}", responses=WRITE_ERRORS)
    async def update_doctor(
        self, db: Database, clock: Clock, doctor_id: IdPath, data: DoctorUpdate
    ) -> Doctor:
        return await db.write(services.update_doctor, doctor_id, data, clock())

    @get("/{doctor_id:str}/slots", responses=READ_ERRORS)
    async def doctor_slots(
        self,
        db: Database,
        clock: Clock,
        doctor_id: IdPath,
        date: Annotated[dt.date, Parameter(description="clinic-local day, YYYY-MM-DD")],
        service_id: Annotated[str, Parameter(min_length=1, max_length=64)],
        staff: Annotated[
            bool,
            Parameter(description="the front desk's view: no minimum notice, no horizon"),
        ] = False,
    ) -> list[Slot]:
        """Free slots a patient could book, as ISO 8601 times with the clinic's offset.
        With ``staff=true``, the slots the front desk may book: from the one under way
        now (a walk-in), and beyond the booking horizon."""
        spans = await db.read(
            booking.doctor_slots, doctor_id, date, service_id, clock(), staff=staff
        )
        return [Slot(start.isoformat(), end.isoformat()) for start, end in spans]


class ServiceController(Controller):
    path = "/services"
    tags = ["services"]

    @get()
    async def list_services(self, db: Database, clinic_id: ClinicFilter = None) -> list[Service]:
        return await db.read(store.list_services, clinic_id)

    @post(responses=WRITE_ERRORS)
    async def create_service(self, db: Database, clock: Clock, data: ServiceCreate) -> Service:
        return await db.write(services.create_service, data, clock())

    @get("/{service_id:str}", responses=NOT_FOUND)
    async def get_service(self, db: Database, service_id: IdPath) -> Service:
        return await db.read(store.get_service, service_id)

    @patch("/{service_id:str}", responses=WRITE_ERRORS)
    async def update_service(
        self, db: Database, clock: Clock, service_id: IdPath, data: ServiceUpdate
    ) -> Service:
        return await db.write(services.update_service, service_id, data, clock())


class WorkingHoursController(Controller):
    path = "/working-hours"
    tags = ["working hours"]

    @get()
    async def list_working_hours(
        self, db: Database, clinic_id: ClinicFilter = None, doctor_id: ClinicFilter = None
    ) -> list[WorkingHours]:
        return await db.read(store.list_working_hours, clinic_id=clinic_id, doctor_id=doctor_id)

    @post(responses=WRITE_ERRORS)
    async def create_working_hours(self, db: Database, data: WorkingHoursCreate) -> WorkingHours:
        return await db.write(services.create_working_hours, data)

    @get("/{hours_id:str}", responses=NOT_FOUND)
    async def get_working_hours(self, db: Database, hours_id: IdPath) -> WorkingHours:
        return await db.read(store.get_working_hours, hours_id)

    @patch("/{hours_id:str}", responses=WRITE_ERRORS)
    async def update_working_hours(
        self, db: Database, hours_id: IdPath, data: WorkingHoursUpdate
    ) -> WorkingHours:
        return await db.write(services.update_working_hours, hours_id, data)

    @delete("/{hours_id:str}", responses=errors(404, 503))
    async def delete_working_hours(self, db: Database, hours_id: IdPath) -> None:
        await db.write(services.delete_working_hours, hours_id)


class TimeOffController(Controller):
    path = "/time-off"
    tags = ["time off"]

    @get()
    async def list_time_off(
        self, db: Database, clinic_id: ClinicFilter = None, doctor_id: ClinicFilter = None
    ) -> list[TimeOff]:
        """Leave and holidays; with ``doctor_id``, that doctor's leave and the clinic's holidays."""
        return await db.read(store.list_time_off, clinic_id=clinic_id, doctor_id=doctor_id)

    @post(responses=WRITE_ERRORS)
    async def create_time_off(self, db: Database, data: TimeOffCreate) -> TimeOff:
        return await db.write(services.create_time_off, data)

    @get("/{time_off_id:str}", responses=NOT_FOUND)
    async def get_time_off(self, db: Database, time_off_id: IdPath) -> TimeOff:
        return await db.read(store.get_time_off, time_off_id)

    @patch("/{time_off_id:str}", responses=WRITE_ERRORS)
    async def update_time_off(
        self, db: Database, time_off_id: IdPath, data: TimeOffUpdate
    ) -> TimeOff:
        return await db.write(services.update_time_off, time_off_id, data)

    @delete("/{time_off_id:str}", responses=errors(404, 503))
    async def delete_time_off(self, db: Database, time_off_id: IdPath) -> None:
        await db.write(services.delete_time_off, time_off_id)
