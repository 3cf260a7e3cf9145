"""The clinic's data, for its owner: export everything (CSV zip, one CSV, JSON), import
patients from a CSV (preview, then import), erase a patient on request, and the retention
of message texts."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.response import Stream

from clinicbot.db import Database
from clinicbot.services import erasure, export, patient_import, retention
from clinicbot.web.params import READ_ERRORS, WRITE_ERRORS, Clock, IdPath, errors

ClinicId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
FILE_LIMIT = patient_import.MAX_BYTES + 64 * 1024  # the service says "over 5 MB" in words


class Table(StrEnum):
    CLINICS = "clinics"
    DOCTORS = "doctors"
    SERVICES = "services"
    PATIENTS = "patients"
    APPOINTMENTS = "appointments"
    MESSAGES = "messages"


class EraseRequest(msgspec.Struct, forbid_unknown_fields=True):
    cancel_upcoming: bool = False  # also cancel their upcoming confirmed appointments


class Erasure(msgspec.Struct, frozen=True):
    erased_at: str
    appointments_kept: int  # anonymous, still in every count
    appointments_cancelled: int
    messages_removed: int
    files_scrubbed: bool  # the database's log and the session store rewritten without them
    backups_note: str


class ErasureEntry(msgspec.Struct, frozen=True):
    erased_at: str
    appointments_kept: int
    appointments_cancelled: int
    messages_removed: int


class RetentionSetting(msgspec.Struct, forbid_unknown_fields=True):
    days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | None  # None: keep texts forever


class RetentionState(msgspec.Struct, frozen=True):
    days: int | None
    last_run: str | None  # when texts were last looked at (UTC)
    removed: retention.RemovedCounts | None = None  # what this change removed at once


BACKUPS_NOTE = (
    "Backups made before the erasure still hold this patient until they age out (a year at most)."
)


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _list_erasures(conn: sqlite3.Connection, clinic_id: str) -> list[ErasureEntry]:
    rows = conn.execute(
        "SELECT erased_at, appointments_kept, appointments_cancelled, messages_removed"
        " FROM erasures WHERE clinic_id = ? ORDER BY id DESC LIMIT 100",
        [clinic_id],
    )
    return [ErasureEntry(*r) for r in rows]


def _retention_state(conn: sqlite3.Connection) -> RetentionState:
    return RetentionState(retention.get_days(conn), retention.last_run(conn))


def _too_large(_: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    """413 in words, from the row limit or from Litestar's body-size limit."""
    detail = (
        exc.message
        if isinstance(exc, patient_import.TooLarge)
        else f"The file is over {patient_import.MAX_BYTES // 2**20} MB."
    )
    detail += " Split it and import the parts one after the other."
    body = {"status_code": 413, "detail": detail, "extra": [{"key": "file", "message": detail}]}
    return Response(body, status_code=413)


class DataController(Controller):
    path = "/"
    tags = ["data"]
    # Before InvalidInput's 400: a file over the limits is a 413, said in words.
    exception_handlers = {patient_import.TooLarge: _too_large, 413: _too_large}

    @get("/export/csv", media_type="application/zip")
    async def export_zip(self, db: Database, clock: Clock) -> Stream:
        """Everything as CSV files in one zip (clinics, doctors, services, patients,
        appointments, messages), streamed from one snapshot. UTF-8 with a BOM, phones in
        E.164, times with their offset."""
        name = f"clinicbot-export-{export.file_stamp(clock())}.zip"
        return Stream(export.csv_zip(db.path), headers=_attachment(name))

    @get("/export/csv/{table:str}", media_type="text/csv; charset=utf-8", responses=errors(400))
    async def export_table(self, db: Database, table: Table) -> Stream:
        """One table as a CSV file."""
        return Stream(export.csv_file(db.path, table.value), headers=_attachment(f"{table}.csv"))

    @get("/export/json", media_type="application/json")
    async def export_json(self, db: Database, clock: Clock) -> Stream:
        """Everything as one JSON document: ``{"format", "version", "exported_at",
        "tables": {"patients": [...], ...}}``, streamed."""
        now = clock()
        name = f"clinicbot-export-{export.file_stamp(now)}.json"
        return Stream(export.json_document(db.path, now), headers=_attachment(name))

    @post(
        "/import/patients/preview",
        status_code=200,
        responses=errors(400, 404),
        request_max_body_size=FILE_LIMIT,
    )
    async def preview_import(
        self, db: Database, clinic_id: ClinicId, body: bytes
    ) -> patient_import.ImportReport:
        """What importing a CSV file would do, row by row (new, already a patient, rejected
        with the reason), with the column mapping chosen; nothing is written. The request
        body is the file's bytes as they are (``Content-Type: text/csv``; the encoding is
        detected). 413 over 5 MB or 20,000 rows."""
        return await db.read(patient_import.preview, clinic_id, body)

    @post(
        "/import/patients",
        status_code=200,
        responses=WRITE_ERRORS,
        request_max_body_size=FILE_LIMIT,
    )
    async def import_patients(
        self, db: Database, clock: Clock, clinic_id: ClinicId, body: bytes
    ) -> patient_import.ImportReport:
        """Add a CSV file's new patients in one transaction and report every row as the
        preview does; importing the same file again adds nothing. The body is the file's
        bytes, as for the preview."""
        return await db.write(patient_import.run, clinic_id, body, clock())

    @post("/patients/{patient_id:str}/erase", status_code=200, responses=WRITE_ERRORS)
    async def erase_patient(
        self,
        db: Database,
        clock: Clock,
        drop_sessions: Callable[[str], object],
        data_dir: Path,
        patient_id: IdPath,
        data: EraseRequest,
    ) -> Erasure:
        """Forget a patient: their record, conversation, every message, session and raw
        webhook body go; their appointments stay, anonymous, so every count stays. 409 while
        they have an upcoming confirmed appointment (unless ``cancel_upcoming``) or a
        message of theirs is still being processed."""
        done = await db.write(
            erasure.erase_patient, patient_id, clock(), cancel_upcoming=data.cancel_upcoming
        )
        for key in done.session_keys:
            await asyncio.to_thread(drop_sessions, key)
        scrubbed = await asyncio.to_thread(erasure.scrub_files, db.path, data_dir / "sessions")
        r = done.report
        return Erasure(
            r.erased_at,
            r.appointments_kept,
            r.appointments_cancelled,
            r.messages_removed,
            scrubbed,
            BACKUPS_NOTE,
        )

    @get("/data/erasures", responses=READ_ERRORS)
    async def list_erasures(self, db: Database, clinic_id: ClinicId) -> list[ErasureEntry]:
        """The clinic's erasures, newest first: when, and how much; never who."""
        return await db.read(_list_erasures, clinic_id)

    @get("/data/retention")
    async def get_retention(self, db: Database) -> RetentionState:
        """How long message texts are kept (``days``: null keeps them forever)."""
        return await db.read(_retention_state)

    @put("/data/retention", responses=WRITE_ERRORS)
    async def set_retention(
        self, db: Database, clock: Clock, data: RetentionSetting
    ) -> RetentionState:
        """Change how long message texts are kept; texts older than that are removed at
        once (their messages stay, with time, direction and status), then daily."""
        now = clock()
        await db.write(retention.set_days, data.days, now)
        removed = await retention.apply_retention(db, now)
        state = await db.read(_retention_state)
        return msgspec.structs.replace(state, removed=removed)
