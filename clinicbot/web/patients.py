"""The patient routes, exactly as the original system had them, plus search and paging."""

from __future__ import annotations

import sqlite3
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.params import Parameter

from clinicbot.db import Database
from clinicbot.domain import ClinicStats, Patient, PatientAppointment, PatientCreate, PatientUpdate
from clinicbot.errors import InvalidInput, NotFound
from clinicbot.phones import normalize_phone
from clinicbot.services import patients as services
from clinicbot.store import appointments as appointment_store
from clinicbot.store import patients as store
from clinicbot.store.clinics import get_clinic, list_clinics
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

SearchText = Annotated[
    str | None,
    Parameter(max_length=100, description="a fragment of the name or the phone number"),
]
PhonePath = Annotated[str, Parameter(min_length=1, max_length=32)]


def _by_phone(conn: sqlite3.Connection, phone: str, clinic_id: str | None) -> Patient:
    if clinic_id is None:
        clinics = list_clinics(conn)
        if len(clinics) != 1:
            raise InvalidInput("Say which clinic: ?clinic_id=…", field="clinic_id")
        clinic = clinics[0]
    else:
        clinic = get_clinic(conn, clinic_id)
    patient = store.find_by_phone(conn, clinic.id, normalize_phone(phone, clinic.country))
    if patient is None:
        raise NotFound("No patient with that phone at this clinic.", field="phone")
    return patient


def _history(
    conn: sqlite3.Connection, patient_id: str, limit: int, offset: int
) -> list[PatientAppointment]:
    store.get_patient(conn, patient_id)
    return appointment_store.patient_history(conn, patient_id, limit=limit, offset=offset)


class PatientController(Controller):
    path = "/patients"
    tags = ["patients"]

    @post(responses=WRITE_ERRORS)
    async def create_patient(self, db: Database, clock: Clock, data: PatientCreate) -> Patient:
        """A new patient; the phone is stored in E.164. 409 if the clinic already has it."""
        return await db.write(services.create_patient, data, clock())

    @get()
    async def list_patients(
        self,
        db: Database,
        clinic_id: ClinicFilter = None,
        q: SearchText = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[Patient]:
        """Patients by name; ``q`` finds a name or phone fragment ("sharma", "98765").

        From three characters on, ``q`` matches anywhere in the name or the number; one or
        two characters match the start of the name, or of the national number.
        """
        return await db.read(store.list_patients, clinic_id, q=q, limit=limit, offset=offset)

    @get("/{patient_id:str}", responses=NOT_FOUND)
    async def get_patient(self, db: Database, patient_id: IdPath) -> Patient:
        return await db.read(store.get_patient, patient_id)

    @get("/by-phone/{phone:str}", responses=READ_ERRORS)
    async def get_patient_by_phone(
        self, db: Database, phone: PhonePath, clinic_id: ClinicFilter = None
    ) -> Patient:
        """The patient with this phone, in any form (``98765 43210``, ``+91…``)."""
        return await db.read(_by_phone, phone, clinic_id)

    @patch("/{patient_id:str}", responses=WRITE_ERRORS)
    async def update_patient(
        self, db: Database, clock: Clock, patient_id: IdPath, data: PatientUpdate
    ) -> Patient:
        return await db.write(services.update_patient, patient_id, data, clock())

    @get("/{patient_id:str}/appointments", responses=READ_ERRORS)
    async def patient_appointments(
        self, db: Database, patient_id: IdPath, limit: Limit = 50, offset: Offset = 0
    ) -> list[PatientAppointment]:
        """The patient's history, newest first, each naming the doctor."""
        return await db.read(_history, patient_id, limit, offset)

    @get("/stats/clinic/{clinic_id:str}", responses=READ_ERRORS)
    async def clinic_stats(self, db: Database, clock: Clock, clinic_id: IdPath) -> ClinicStats:
        """Patients (total, new this month, active) and appointments, with the no-show rate."""
        return await db.read(services.clinic_stats, clinic_id, clock())
