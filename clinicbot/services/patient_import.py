"""Importing patients from a CSV file: the clinic's old register (a spreadsheet saved as CSV:
Name, Phone or Mobile, maybe Age and Notes, headers in any case or in Hindi) or a phone's
contacts export (Google Contacts, old and new; Outlook).

:func:`preview` reads the file and says what an import would do, row by row: a new patient,
already a patient (by phone, naming whom), or rejected with a plain reason. :func:`run`
does the same inside the write and adds the new patients in that one transaction, so
running it twice adds nothing the second time. Phones are normalised with the clinic's
country; the file's encoding (UTF-8 with or without a BOM, UTF-16 as Excel's "Unicode
text" writes it, else Windows-1252) and separator (comma, semicolon, tab) are detected.
"""

from __future__ import annotations

import codecs
import csv
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import msgspec

from clinicbot.errors import InvalidInput
from clinicbot.phones import normalize_phone
from clinicbot.store.clinics import get_clinic
from clinicbot.store.patients import find_by_phone
from clinicbot.store.rows import new_id, stamp

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_NAME = 120

_FULL_NAME = {
    "name", "full name", "patient name", "patient", "patients name", "contact name",
    "display name", "naam", "नाम", "पूरा नाम", "मरीज का नाम", "मरीज़ का नाम", "रोगी का नाम",
}  # fmt: skip
_FIRST = {"first name", "given name"}
_MIDDLE = {"middle name", "additional name"}
_LAST = {"last name", "family name", "surname"}
_MOBILE = {
    "mobile", "mobile phone", "mobile number", "mobile no", "mob", "mob no", "cell",
    "cell phone", "whatsapp", "whatsapp number", "whatsapp no", "मोबाइल", "मोबाइल नंबर",
    "मोबाइल नं", "व्हाट्सएप",
}  # fmt: skip
_PHONE = {
    "phone", "phone number", "phone no", "telephone", "tel", "contact", "contact number",
    "contact no", "number", "primary phone", "home phone", "business phone", "other phone",
    "फ़ोन", "फोन", "फ़ोन नंबर", "फोन नंबर", "नंबर",
}  # fmt: skip
_GOOGLE_PHONE = re.compile(r"^phone (\d+) value$")
_GOOGLE_KIND = ("phone {} type", "phone {} label")  # older and newer Google exports


class TooLarge(InvalidInput):
    """The file is over the size or row limit."""


class Mapping(msgspec.Struct, frozen=True):
    """Which of the file's columns were read as what."""

    name: list[str]  # one full-name column, or first/middle/last parts
    phone: list[str]  # in the order tried: mobile columns first
    ignored: list[str]  # columns clinicbot keeps nothing from (Age, Notes, …)


class RowOutcome(msgspec.Struct, frozen=True):
    line: int  # the row in the spreadsheet (the header is line 1)
    outcome: str  # "new" | "existing" | "rejected"
    name: str
    phone: str  # E.164 when it could be read, else as written
    reason: str | None = None  # rejected: why, in words
    patient_id: str | None = None  # existing: who; new, after an import: the new record
    patient_name: str | None = None  # existing: their name in clinicbot
    cells: list[str] | None = None  # rejected: the row as written, for the report


class Counts(msgspec.Struct, frozen=True):
    rows: int
    new: int
    existing: int
    rejected: int


class ImportReport(msgspec.Struct, frozen=True):
    imported: bool  # False: a preview, nothing was written
    encoding: str
    delimiter: str
    headers: list[str]
    mapping: Mapping
    counts: Counts
    rows: list[RowOutcome]


def decode(raw: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read in."""
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:].decode("utf-8", errors="replace"), "UTF-8 (BOM)"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16", errors="replace"), "UTF-16"
    sample = raw[:4000]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return raw.decode("utf-16-le", errors="replace"), "UTF-16"
    try:
        return raw.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "Windows-1252"


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def header_key(header: str) -> str:
    """``" Mobile_No. "`` -> ``"mobile no"``; Devanagari kept as written."""
    text = header.replace("\ufeff", "").strip().casefold()
    return re.sub(r"[\s_\-.:/()#'’]+", " ", text).strip()


@dataclass
class _Columns:
    full: int | None = None
    parts: list[int] = field(default_factory=list)
    phones: list[tuple[int, int | None]] = field(default_factory=list)  # (value, its type)


def _find_columns(headers: list[str]) -> tuple[_Columns, Mapping]:
    keys = [header_key(h) for h in headers]
    found = _Columns()
    used: set[int] = set()
    found.full = next((i for i, k in enumerate(keys) if k in _FULL_NAME), None)
    for group in (_FIRST, _MIDDLE, _LAST):
        found.parts += [i for i, k in enumerate(keys) if k in group][:1]
    mobiles = [(i, None) for i, k in enumerate(keys) if k in _MOBILE]
    google = []
    for i, k in enumerate(keys):
        if m := _GOOGLE_PHONE.match(k):
            kinds = [k.format(m.group(1)) for k in _GOOGLE_KIND]
            google.append((i, next((keys.index(k) for k in kinds if k in keys), None)))
    others = [(i, None) for i, k in enumerate(keys) if k in _PHONE]
    found.phones = [*mobiles, *google, *others]
    name_cols = [found.full] if found.full is not None else found.parts
    used.update(name_cols)
    used.update(i for i, _ in found.phones)
    used.update(t for _, t in found.phones if t is not None)
    mapping = Mapping(
        name=[headers[i] for i in name_cols],
        phone=[headers[i] for i, _ in found.phones],
        ignored=[h for i, h in enumerate(headers) if i not in used and h.strip()],
    )
    if not name_cols or not found.phones:
        missing = "names" if not name_cols else "phone numbers"
        raise InvalidInput(
            f"No column of {missing} found. The first row should name the columns, e.g. "
            f"Name, Phone. Columns seen: {', '.join(h for h in headers if h.strip()) or 'none'}.",
            field="file",
        )
    return found, mapping


def _cell(row: list[str], i: int | None) -> str:
    return row[i].strip() if i is not None and i < len(row) else ""


def _name(row: list[str], cols: _Columns) -> str:
    name = _cell(row, cols.full)
    if not name:
        name = " ".join(p for p in (_cell(row, i) for i in cols.parts) if p)
    return " ".join(name.split())


def _phone_values(row: list[str], cols: _Columns) -> list[str]:
    """Every number written in the row, mobiles first (Google's ' ::: ' splits several)."""
    ranked: list[tuple[int, str]] = []
    for order, (i, kind) in enumerate(cols.phones):
        is_mobile = "mobile" in _cell(row, kind).casefold() if kind is not None else False
        for value in _cell(row, i).split(":::"):
            if value.strip():
                ranked.append((order - (1000 if is_mobile else 0), value.strip()))
    return [v for _, v in sorted(ranked, key=lambda pair: pair[0])]


def _read_phone(values: list[str], country: str) -> tuple[str | None, str | None]:
    """``(E.164, None)`` or ``(None, why not)``."""
    for value in values:
        try:
            return normalize_phone(value, country), None
        except InvalidInput:
            continue
    if not values:
        return None, "no phone number"
    return None, f"impossible number: {values[0][:40]}"


def _records(text: str) -> tuple[list[str], Iterator[tuple[int, list[str]]], str]:
    delimiter = _delimiter(text)
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    for headers in reader:
        if any(cell.strip() for cell in headers):
            start = reader.line_num
            return headers, ((start + n + 1, r) for n, r in enumerate(reader)), delimiter
    raise InvalidInput("The file is empty.", field="file")


@dataclass
class _Judged:
    rows: list[RowOutcome]
    headers: list[str]
    mapping: Mapping
    encoding: str
    delimiter: str


def _judge(conn: sqlite3.Connection, clinic_id: str, country: str, raw: bytes) -> _Judged:
    if len(raw) > MAX_BYTES:
        raise TooLarge(f"The file is over {MAX_BYTES // 2**20} MB.", field="file")
    text, encoding = decode(raw)
    headers, records, delimiter = _records(text)
    cols, mapping = _find_columns(headers)
    seen: dict[str, int] = {}
    outcomes: list[RowOutcome] = []
    for line, row in records:
        if not any(cell.strip() for cell in row):
            continue
        if len(outcomes) >= MAX_ROWS:
            raise TooLarge(f"The file has more than {MAX_ROWS:,} rows.", field="file")
        outcomes.append(_judge_row(conn, clinic_id, country, line, row, cols, seen))
    return _Judged(outcomes, headers, mapping, encoding, delimiter)


def _judge_row(
    conn: sqlite3.Connection,
    clinic_id: str,
    country: str,
    line: int,
    row: list[str],
    cols: _Columns,
    seen: dict[str, int],
) -> RowOutcome:
    name = _name(row, cols)
    values = _phone_values(row, cols)
    phone, why = _read_phone(values, country)
    shown = phone or (values[0][:40] if values else "")
    reason = why
    if reason is None and not name:
        reason = "empty name"
    elif reason is None and len(name) > MAX_NAME:
        reason = f"name longer than {MAX_NAME} characters"
    elif phone is not None and phone in seen:
        reason = f"duplicate of line {seen[phone]}"
    if reason is not None:
        return RowOutcome(line, "rejected", name, shown, reason=reason, cells=row)
    assert phone is not None
    seen[phone] = line
    existing = find_by_phone(conn, clinic_id, phone)
    if existing is not None:
        return RowOutcome(line, "existing", name, phone, None, existing.id, existing.name)
    return RowOutcome(line, "new", name, phone)


def _report(judged: _Judged, *, imported: bool) -> ImportReport:
    rows = judged.rows
    counts = Counts(
        rows=len(rows),
        new=sum(r.outcome == "new" for r in rows),
        existing=sum(r.outcome == "existing" for r in rows),
        rejected=sum(r.outcome == "rejected" for r in rows),
    )
    shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "bar"}[judged.delimiter]
    return ImportReport(
        imported, judged.encoding, shown, judged.headers, judged.mapping, counts, rows
    )


def preview(conn: sqlite3.Connection, clinic_id: str, raw: bytes) -> ImportReport:
    """What an import of this file would do; writes nothing."""
    clinic = get_clinic(conn, clinic_id)
    return _report(_judge(conn, clinic.id, clinic.country, raw), imported=False)


def run(conn: sqlite3.Connection, clinic_id: str, raw: bytes, now: datetime) -> ImportReport:
    """Add the file's new patients in this transaction; the report says what became of each
    row (the new ones with their ids)."""
    clinic = get_clinic(conn, clinic_id)
    judged = _judge(conn, clinic.id, clinic.country, raw)
    at = stamp(now)
    added: list[RowOutcome] = []
    for r in judged.rows:
        if r.outcome == "new":
            patient_id = new_id()
            conn.execute(
                "INSERT INTO patients (id, clinic_id, name, phone, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [patient_id, clinic.id, r.name, r.phone, at, at],
            )
            r = msgspec.structs.replace(r, patient_id=patient_id)
        added.append(r)
    judged.rows = added
    return _report(judged, imported=True)
