"""Patients: records, search by name or phone fragment, counters, clinic statistics."""

from __future__ import annotations

import re
import sqlite3
from datetime import date

from clinicbot.domain import ClinicStats, Patient
from clinicbot.errors import NotFound
from clinicbot.store.rows import record, records

_FTS_MIN = 3  # the trigram index answers fragments of three characters or more


def get_patient(conn: sqlite3.Connection, patient_id: str) -> Patient:
    row = conn.execute("SELECT * FROM patients WHERE id = ?", [patient_id]).fetchone()
    if row is None:
        raise NotFound("No patient with that id.", field="id")
    return record(row, Patient)


def find_by_phone(conn: sqlite3.Connection, clinic_id: str, phone: str) -> Patient | None:
    row = conn.execute(
        "SELECT * FROM patients WHERE clinic_id = ? AND phone = ?", [clinic_id, phone]
    ).fetchone()
    return None if row is None else record(row, Patient)


def _fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def search_terms(q: str) -> str:
    """What to look for: the digits of a phone-like fragment, else the text, trimmed."""
    text = " ".join("".join(ch for ch in q if ch.isprintable()).split())
    if re.fullmatch(r"[\d\s()+\-.]+", text) and any(c.isdigit() for c in text):
        return re.sub(r"\D", "", text)
    return text


def list_patients(
    conn: sqlite3.Connection,
    clinic_id: str | None,
    *,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Patient]:
    """A page of patients by name; with ``q``, those whose name or phone contains it."""
    terms = search_terms(q) if q else ""
    where: list[str] = ["1"]
    args: list[object] = []
    source = "patients p"
    if len(terms) >= _FTS_MIN:
        # The trigram index drives: CROSS JOIN fixes the join order, so SQLite never walks
        # the name index testing MATCH row by row (seconds at 100,000 patients).
        source = (
            "(SELECT rowid AS rid FROM patients_fts WHERE patients_fts MATCH ?) hits"
            " CROSS JOIN patients p ON p.rowid = hits.rid"
        )
        args.append(_fts_phrase(terms))
    if clinic_id is not None:  # spelled out, not "? IS NULL OR …", so the index applies
        where.append("p.clinic_id = ?")
        args.append(clinic_id)
    if terms and len(terms) < _FTS_MIN:
        # Too short for the trigram index: a prefix of a name word, or of the national number.
        pattern = terms.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(
            "(p.name LIKE ? ESCAPE '\\' OR p.name LIKE ? ESCAPE '\\' OR p.phone LIKE ? ESCAPE '\\')"
        )
        args += [pattern + "%", "% " + pattern + "%", "+__" + pattern + "%"]
    sql = (
        f"SELECT p.* FROM {source} WHERE {' AND '.join(where)}"  # noqa: S608
        " ORDER BY p.name COLLATE NOCASE, p.id LIMIT ? OFFSET ?"
    )
    return records(conn.execute(sql, [*args, limit, offset]), Patient)


def recount(conn: sqlite3.Connection, patient_id: str) -> dict[str, object]:
    """What a patient's counters must be, computed from their appointments."""
    row = conn.execute(
        """
        SELECT
            count(*) FILTER (WHERE status = 'completed') AS total_visits,
            count(*) FILTER (WHERE status = 'cancelled') AS total_cancellations,
            count(*) FILTER (WHERE status = 'no_show') AS total_no_shows,
            min(date) FILTER (WHERE status = 'completed') AS first_visit_date,
            max(date) FILTER (WHERE status = 'completed') AS last_visit_date
        FROM appointments WHERE patient_id = ?
        """,
        [patient_id],
    ).fetchone()
    return dict(row)


def clinic_stats(
    conn: sqlite3.Connection, clinic_id: str, *, month_start: str, active_since: date, now_ts: int
) -> ClinicStats:
    """The clinic's numbers.

    ``month_start`` is the stored-timestamp form of the first moment of this month in clinic
    time; ``active_since`` the clinic-local date twelve months ago.
    """
    total_patients = conn.execute(
        "SELECT count(*) FROM patients WHERE clinic_id = ? AND is_active = 1", [clinic_id]
    ).fetchone()[0]
    new_this_month = conn.execute(
        "SELECT count(*) FROM patients WHERE clinic_id = ? AND is_active = 1 AND created_at >= ?",
        [clinic_id, month_start],
    ).fetchone()[0]
    active = conn.execute(
        """
        SELECT count(*) FROM (
            SELECT id FROM patients
            WHERE clinic_id = ? AND is_active = 1 AND last_visit_date >= ?
            UNION
            SELECT a.patient_id FROM appointments a JOIN patients p ON p.id = a.patient_id
            WHERE a.clinic_id = ? AND a.status = 'confirmed' AND a.start_ts >= ?
              AND p.is_active = 1
        )
        """,
        [clinic_id, active_since.isoformat(), clinic_id, now_ts],
    ).fetchone()[0]
    counts = dict(
        conn.execute(
            "SELECT status, n FROM appointment_counts WHERE clinic_id = ?", [clinic_id]
        ).fetchall()
    )
    completed, no_shows = counts.get("completed", 0), counts.get("no_show", 0)
    return ClinicStats(
        clinic_id=clinic_id,
        total_patients=total_patients,
        new_patients_this_month=new_this_month,
        active_patients=active,
        total_appointments=sum(counts.values()),
        completed_appointments=completed,
        no_show_appointments=no_shows,
        cancelled_appointments=counts.get("cancelled", 0),
        no_show_rate=round(no_shows / (completed + no_shows), 4) if completed + no_shows else None,
    )
