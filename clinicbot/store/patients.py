"""Patients: records, search by name or phone fragment, counters, clinic statistics."""

from __future__ import annotations

import re
import sqlite3
from datetime import date

from clinicbot.domain import ClinicStats, Patient
from clinicbot.errors import NotFound
from clinicbot.phones import calling_code
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


def _next_string(text: str) -> str:
    """The smallest string after every string that starts with ``text``."""
    return text[:-1] + chr(ord(text[-1]) + 1)


_BY_NAME = "p.name COLLATE NOCASE, p.id"


def _short_fragment(
    conn: sqlite3.Connection, clinic_id: str | None, terms: str, args: list[object]
) -> tuple[str, str]:
    """One or two characters: the start of the name, or of the national number (in number
    order). Each is a range seek on an index that also gives the order, so a page stops
    early even at 100,000 patients; from three characters on, the trigram index matches
    anywhere in the name or phone. Returns the condition and the ORDER BY."""
    if terms.isdigit() and clinic_id is not None:
        row = conn.execute("SELECT country FROM clinics WHERE id = ?", [clinic_id]).fetchone()
        if row is not None:
            prefix = f"+{calling_code(row[0])}{terms}"
            args += [prefix, _next_string(prefix)]
            return "p.phone >= ? AND p.phone < ?", "p.phone"
    start = terms.lower()  # NOCASE folds ASCII to lower case; the bounds must be folded too
    args += [start, _next_string(start)]
    return "p.name >= ? COLLATE NOCASE AND p.name < ? COLLATE NOCASE", _BY_NAME


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
    where: list[str] = ["p.erased_at IS NULL"]  # an erased patient is nobody to look up
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
    order = _BY_NAME
    if terms and len(terms) < _FTS_MIN:
        condition, order = _short_fragment(conn, clinic_id, terms, args)
        where.append(condition)
    sql = (
        f"SELECT p.* FROM {source} WHERE {' AND '.join(where)}"  # noqa: S608
        f" ORDER BY {order} LIMIT ? OFFSET ?"
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
        "SELECT count(*) FROM patients WHERE clinic_id = ? AND is_active = 1 AND simulated = 0",
        [clinic_id],
    ).fetchone()[0]
    new_this_month = conn.execute(
        "SELECT count(*) FROM patients WHERE clinic_id = ? AND is_active = 1 AND simulated = 0"
        " AND created_at >= ?",
        [clinic_id, month_start],
    ).fetchone()[0]
    since = active_since.isoformat()
    # Visited within the year, plus those only an upcoming booking makes active: a sum of
    # two index counts, not a UNION that sorts tens of thousands of ids.
    active = conn.execute(
        """
        SELECT
          (SELECT count(*) FROM patients
           WHERE clinic_id = ? AND is_active = 1 AND simulated = 0 AND last_visit_date >= ?)
        + (SELECT count(DISTINCT a.patient_id)
           FROM appointments a JOIN patients p ON p.id = a.patient_id
           WHERE a.clinic_id = ? AND a.status = 'confirmed' AND a.start_ts >= ?
             AND p.is_active = 1 AND p.simulated = 0
             AND (p.last_visit_date IS NULL OR p.last_visit_date < ?))
        """,
        [clinic_id, since, clinic_id, now_ts, since],
    ).fetchone()[0]
    counts = dict(
        conn.execute(
            "SELECT status, n FROM appointment_counts WHERE clinic_id = ?"
            " AND status NOT LIKE 'simulated:%'",
            [clinic_id],
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
