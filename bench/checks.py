"""Correctness checks on a benchmark database: no overlaps, counters equal a recount."""

from __future__ import annotations

import random
import sqlite3

from clinicbot.store.patients import recount

# For each held appointment, the latest end among the doctor's earlier ones (by start):
# any that ends after this one starts is an overlap.
OVERLAPS_SQL = """
SELECT count(*) FROM (
    SELECT start_ts, max(end_ts) OVER (
        PARTITION BY doctor_id ORDER BY start_ts, end_ts, id
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    ) AS earlier_end
    FROM appointments
    WHERE status != 'cancelled' AND start_ts >= ?
)
WHERE earlier_end > start_ts
"""

COUNTER_COLUMNS = (
    "total_visits",
    "total_cancellations",
    "total_no_shows",
    "first_visit_date",
    "last_visit_date",
)


def overlaps(conn: sqlite3.Connection, *, since_ts: int = 0) -> int:
    """How many held appointments overlap an earlier one of the same doctor."""
    return int(conn.execute(OVERLAPS_SQL, [since_ts]).fetchone()[0])


def sample_patients(conn: sqlite3.Connection, count: int, seed: int) -> list[str]:
    ids = [row[0] for row in conn.execute("SELECT id FROM patients ORDER BY rowid")]
    return random.Random(seed).sample(ids, min(count, len(ids)))


def counter_mismatches(conn: sqlite3.Connection, patient_ids: list[str]) -> list[str]:
    """The patients whose stored counters differ from a recount of their appointments."""
    wrong = []
    for patient_id in patient_ids:
        stored = conn.execute(
            f"SELECT {', '.join(COUNTER_COLUMNS)} FROM patients WHERE id = ?",  # noqa: S608
            [patient_id],
        ).fetchone()
        if dict(zip(COUNTER_COLUMNS, stored, strict=True)) != recount(conn, patient_id):
            wrong.append(patient_id)
    return wrong


def count_mismatches(conn: sqlite3.Connection) -> list[str]:
    """Statuses whose kept count (``appointment_counts``) differs from a real count."""
    kept = dict(conn.execute("SELECT status, sum(n) FROM appointment_counts GROUP BY status"))
    real = dict(conn.execute("SELECT status, count(*) FROM appointments GROUP BY status"))
    return sorted(s for s in set(kept) | set(real) if kept.get(s, 0) != real.get(s, 0))
