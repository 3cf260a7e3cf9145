"""Export everything the clinic holds: clinics, doctors, services, patients, appointments
(with the doctor's and service's names) and WhatsApp messages both ways.

As CSV (one file per table, UTF-8 with a BOM so a spreadsheet keeps Hindi names, cells that
could start a formula escaped; a zip holds them all) or as one JSON document. Everything is
streamed from one read-only connection in one snapshot, a few hundred rows at a time, so an
export of a million appointments never sits in memory and never holds up the clinic's
writes. Phones are in E.164; times carry their offset (stored times as stored; message
times in the clinic's time zone).
"""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from clinicbot.db import connect
from clinicbot.services.analytics import safe_cell
from clinicbot.whatsapp.inbound import to_inbound

FORMAT_VERSION = 1
CHUNK = 64 * 1024  # bytes gathered before a piece goes out
BOM = "\ufeff"
# Free text a person typed (a WhatsApp profile name can be "=HYPERLINK(…)"): a spreadsheet
# must show it, never run it. Ids, numbers, times and E.164 phones ("+91…") go as they are.
_FREE_TEXT = frozenset(
    {
        "name", "address", "specialty", "whatsapp_name", "patient_name", "doctor", "service",
        "notes", "cancellation_reason", "text", "error",
    }
)  # fmt: skip

Row = tuple[object, ...]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: Callable[[sqlite3.Connection], Iterator[Row]]


def _plain(sql: str) -> Callable[[sqlite3.Connection], Iterator[Row]]:
    def rows(conn: sqlite3.Connection) -> Iterator[Row]:
        for row in conn.execute(sql):
            yield tuple(row)

    return rows


def _columns(table: str, names: str) -> str:
    return f"SELECT {names} FROM {table} ORDER BY rowid"  # noqa: S608 -- our constants


_CLINIC = "id, name, address, phone, country, timezone, created_at, updated_at"
_DOCTOR = "id, clinic_id, name, specialty, active, created_at, updated_at"
_SERVICE = "id, clinic_id, name, duration_minutes, price, active, created_at, updated_at"
_PATIENT = (
    "id, clinic_id, name, phone, whatsapp_name, total_visits, total_cancellations,"
    " total_no_shows, first_visit_date, last_visit_date, is_active, simulated, erased_at,"
    " created_at, updated_at"
)
_NO_PLACEHOLDER = " CASE WHEN erased_at IS NULL THEN phone ELSE '' END,"
_APPOINTMENT = (
    "id",
    "clinic_id",
    "date",
    "starts_at",
    "ends_at",
    "doctor_id",
    "doctor",
    "service_id",
    "service",
    "patient_id",
    "patient_name",
    "patient_phone",
    "status",
    "source",
    "notes",
    "cancellation_reason",
    "simulated",
    "created_at",
    "updated_at",
)
_MESSAGE = (
    "id",
    "clinic_id",
    "patient_id",
    "direction",
    "at",
    "phone",
    "type",
    "text",
    "status",
    "author",
    "error",
    "text_removed_at",
)


def _appointments(conn: sqlite3.Connection) -> Iterator[Row]:
    doctors = dict(conn.execute("SELECT id, name FROM doctors").fetchall())
    services = dict(conn.execute("SELECT id, name FROM services").fetchall())
    for r in conn.execute(
        "SELECT id, clinic_id, date, starts_at, ends_at, doctor_id, service_id, patient_id,"
        " patient_name, patient_phone, status, source, notes, cancellation_reason, simulated,"
        " created_at, updated_at FROM appointments ORDER BY rowid"
    ):
        yield (
            *r[0:6],
            doctors.get(r[5], ""),
            r[6],
            services.get(r[6], ""),
            *r[7:],
        )


class _Zones:
    """Each clinic's time zone, for message times."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._zones = {
            str(cid): ZoneInfo(str(tz))
            for cid, tz in conn.execute("SELECT id, timezone FROM clinics")
        }

    def iso(self, clinic_id: object, moment: datetime) -> str:
        zone = self._zones.get(str(clinic_id), UTC)
        return moment.astimezone(zone).isoformat(timespec="seconds")


def _e164(phone: object, wa_id: object) -> str:
    if isinstance(phone, str) and phone.startswith("+"):
        return phone
    text = str(wa_id or "")
    return "+" + text if text.isdigit() else text


def _inbound_text(message_type: str, body: str) -> str:
    said = to_inbound(message_type, body)
    return said.text or said.choice_id or ""


def _messages(conn: sqlite3.Connection) -> Iterator[Row]:
    zones = _Zones(conn)
    for r in conn.execute(
        "SELECT m.wa_message_id, m.clinic_id, m.patient_id, m.wa_timestamp, p.phone, m.sender,"
        " m.type, m.body, m.processed_at, m.outcome, m.text_removed_at"
        " FROM inbound_messages m LEFT JOIN patients p ON p.id = m.patient_id"
        " ORDER BY m.rowid"
    ):
        at = zones.iso(r[1], datetime.fromtimestamp(r[3], UTC))
        status = (r[9] or "answered") if r[8] else "waiting"
        text = _inbound_text(r[6], r[7])
        yield (r[0], r[1], r[2], "in", at, _e164(r[4], r[5]), r[6], text, status, None, None, r[10])
    for r in conn.execute(
        "SELECT o.id, o.clinic_id, o.patient_id, o.created_at, p.phone, o.recipient, o.kind,"
        " o.preview, o.status, o.author, o.error_reason, o.text_removed_at"
        " FROM outbox o LEFT JOIN patients p ON p.id = o.patient_id"
        " WHERE o.kind != 'read' ORDER BY o.id"
    ):
        at = zones.iso(r[1], datetime.fromisoformat(r[3]))
        yield (f"out:{r[0]}", r[1], r[2], "out", at, _e164(r[4], r[5]), *r[6:])


TABLES = (
    Table("clinics", tuple(_CLINIC.split(", ")), _plain(_columns("clinics", _CLINIC))),
    Table("doctors", tuple(_DOCTOR.split(", ")), _plain(_columns("doctors", _DOCTOR))),
    Table("services", tuple(_SERVICE.split(", ")), _plain(_columns("services", _SERVICE))),
    Table(
        "patients",
        tuple(c.strip() for c in _PATIENT.split(",")),
        # An erased patient's record keeps no number: its placeholder is not a phone.
        _plain(_columns("patients", _PATIENT.replace(" phone,", _NO_PLACEHOLDER, 1))),
    ),
    Table("appointments", _APPOINTMENT, _appointments),
    Table("messages", _MESSAGE, _messages),
)
TABLE_NAMES = tuple(t.name for t in TABLES)


def table(name: str) -> Table:
    for t in TABLES:
        if t.name == name:
            return t
    raise KeyError(name)


def _snapshot(db_path: Path) -> sqlite3.Connection:
    """A read-only connection holding one snapshot until it is closed."""
    conn = connect(db_path, read_only=True)
    conn.execute("BEGIN")
    return conn


# ---- CSV ---------------------------------------------------------------------------------


def csv_chunks(conn: sqlite3.Connection, t: Table) -> Iterator[bytes]:
    """One table as CSV (BOM first), in pieces of about ``CHUNK`` bytes."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")  # None is written as an empty cell
    writer.writerow(t.columns)
    guarded = [i for i, c in enumerate(t.columns) if c in _FREE_TEXT]
    for row in t.rows(conn):
        cells = list(row)
        for i in guarded:
            cells[i] = safe_cell(cells[i])
        writer.writerow(cells)
        if out.tell() >= CHUNK:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


def csv_file(db_path: Path, name: str) -> Iterator[bytes]:
    conn = _snapshot(db_path)
    try:
        yield from csv_chunks(conn, table(name))
    finally:
        conn.close()


class _Pipe:
    """A write-only file for zipfile: what is written is taken out piece by piece."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def csv_zip(db_path: Path) -> Iterator[bytes]:
    """Every table as CSV in one zip, streamed (zip64 data descriptors: no seeking back)."""
    pipe = _Pipe()
    conn = _snapshot(db_path)
    try:
        with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for t in TABLES:
                with archive.open(f"{t.name}.csv", "w", force_zip64=True) as entry:
                    for chunk in csv_chunks(conn, t):
                        entry.write(chunk)
                        if piece := pipe.take():
                            yield piece
        yield pipe.take()
    finally:
        conn.close()


# ---- JSON --------------------------------------------------------------------------------


def json_chunks(conn: sqlite3.Connection, now: datetime) -> Iterator[bytes]:
    """``{"format", "version", "exported_at", "tables": {name: [{column: value}, …]}}``."""
    encode = msgspec.json.Encoder().encode
    head = {"format": "clinicbot-export", "version": FORMAT_VERSION}
    yield encode(head)[:-1] + b',"exported_at":' + encode(now.isoformat(timespec="seconds"))
    yield b',"tables":{'
    for i, t in enumerate(TABLES):
        yield (b"," if i else b"") + encode(t.name) + b":["
        parts: list[bytes] = []
        size = 0
        for n, row in enumerate(t.rows(conn)):
            part = (b"," if n else b"") + encode(dict(zip(t.columns, row, strict=True)))
            parts.append(part)
            size += len(part)
            if size >= CHUNK:
                yield b"".join(parts)
                parts, size = [], 0
        yield b"".join(parts) + b"]"
    yield b"}}\n"


def json_document(db_path: Path, now: datetime) -> Iterator[bytes]:
    conn = _snapshot(db_path)
    try:
        yield from json_chunks(conn, now)
    finally:
        conn.close()


def file_stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d-%H%M")


def write_export(db_path: Path, folder: Path, fmt: str, now: datetime) -> list[Path]:
    """For ``clinicbot export``: the files from one snapshot, each written as ``.part``
    then renamed, so a file by its final name is always whole."""
    folder.mkdir(parents=True, exist_ok=True)
    conn = _snapshot(db_path)
    try:
        if fmt == "json":
            return [_write(folder / "clinicbot-export.json", json_chunks(conn, now))]
        return [_write(folder / f"{t.name}.csv", csv_chunks(conn, t)) for t in TABLES]
    finally:
        conn.close()


def _write(path: Path, chunks: Iterator[bytes]) -> Path:
    part = path.with_name(path.name + ".part")
    with part.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    part.replace(path)
    return path
