"""The SQL behind the analytics: counts over a range of appointment start times.

Every query walks ``appointments_clinic_status_start`` (clinic, status, start_ts) with a
range on ``start_ts`` and leaves simulated rows out. SQLite knows no IANA time zones, so the
caller passes the zone as a :class:`LocalShift`: the UTC offsets in force over the range,
turned here into a SQL expression for the local time of each row.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

STATUSES = ("confirmed", "arrived", "completed", "cancelled", "no_show")
_IN_STATUSES = "(" + ", ".join(f"'{s}'" for s in STATUSES) + ")"


@dataclass(frozen=True)
class LocalShift:
    """The UTC offset (seconds) from ``first``, then each ``(since_ts, offset)`` change."""

    first: int
    changes: tuple[tuple[int, int], ...] = ()

    def local_ts(self, column: str = "a.start_ts") -> str:
        """SQL for the local wall-clock time of ``column``, as seconds since the epoch."""
        if not self.changes:
            return f"({column} + {int(self.first)})"
        arms = []
        bounds = [since for since, _ in self.changes]
        offsets = [self.first, *(offset for _, offset in self.changes)]
        for since, offset in zip(bounds, offsets, strict=False):
            arms.append(f"WHEN {column} < {int(since)} THEN {int(offset)}")
        return f"({column} + CASE {' '.join(arms)} ELSE {int(offsets[-1])} END)"


def _range(status_in: str = _IN_STATUSES) -> str:
    return (
        f"a.clinic_id = ? AND a.status IN {status_in} AND a.start_ts >= ? AND a.start_ts < ?"
        " AND a.simulated = 0"
    )


def hourly_counts(
    conn: sqlite3.Connection, clinic_id: str, start_ts: int, end_ts: int, shift: LocalShift
) -> list[tuple[int, str, int]]:
    """``(local hour number since the epoch, status, appointments)``, non-empty only."""
    rows = conn.execute(
        f"SELECT {shift.local_ts()} / 3600 AS hour, a.status, count(*) FROM appointments a"  # noqa: S608
        f" WHERE {_range()} GROUP BY hour, a.status",
        [clinic_id, start_ts, end_ts],
    ).fetchall()
    return [(int(r[0]), str(r[1]), int(r[2])) for r in rows]


def doctor_counts(
    conn: sqlite3.Connection, clinic_id: str, start_ts: int, end_ts: int
) -> list[tuple[str, str, int, int]]:
    """``(doctor id, name, no-shows, completed)`` for every doctor of the clinic."""
    rows = conn.execute(
        f"""
        WITH c AS (
          SELECT a.doctor_id, a.status, count(*) AS n FROM appointments a
          WHERE {_range("('completed', 'no_show')")} GROUP BY a.doctor_id, a.status
        )
        SELECT d.id, d.name,
          coalesce((SELECT n FROM c WHERE c.doctor_id = d.id AND c.status = 'no_show'), 0),
          coalesce((SELECT n FROM c WHERE c.doctor_id = d.id AND c.status = 'completed'), 0)
        FROM doctors d WHERE d.clinic_id = ? ORDER BY d.name, d.id
        """,  # noqa: S608 -- only constants and integers are formatted in
        [clinic_id, start_ts, end_ts, clinic_id],
    ).fetchall()
    return [(str(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in rows]


def source_counts(
    conn: sqlite3.Connection, clinic_id: str, start_ts: int, end_ts: int
) -> dict[str, int]:
    """Appointments (any status) per booking channel."""
    rows = conn.execute(
        f"SELECT a.source, count(*) FROM appointments a WHERE {_range()} GROUP BY a.source",  # noqa: S608
        [clinic_id, start_ts, end_ts],
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def monthly_visitors(
    conn: sqlite3.Connection, clinic_id: str, start_ts: int, end_ts: int, shift: LocalShift
) -> dict[str, tuple[int, int]]:
    """``{"YYYY-MM": (new, returning)}``: patients with a completed visit in the month.

    A patient is new in the month of their first completed visit (``first_visit_date``,
    which the counters keep equal to the appointments) and returning in later months.
    """
    rows = conn.execute(
        f"""
        WITH v AS (
          SELECT DISTINCT strftime('%Y-%m', {shift.local_ts()}, 'unixepoch') AS month,
                 a.patient_id
          FROM appointments a
          WHERE {_range("('completed')")} AND a.patient_id IS NOT NULL
        )
        SELECT v.month,
          sum(substr(p.first_visit_date, 1, 7) >= v.month),
          sum(substr(p.first_visit_date, 1, 7) < v.month)
        FROM v JOIN patients p ON p.id = v.patient_id
        WHERE p.simulated = 0
        GROUP BY v.month
        """,  # noqa: S608 -- only constants and integers are formatted in
        [clinic_id, start_ts, end_ts],
    ).fetchall()
    return {str(r[0]): (int(r[1] or 0), int(r[2] or 0)) for r in rows}


def appointment_rows(
    conn: sqlite3.Connection, clinic_id: str, start_ts: int, end_ts: int, shift: LocalShift
) -> list[sqlite3.Row]:
    """The appointments of the range for the CSV export, in start order, local times."""
    local = shift.local_ts()
    return conn.execute(
        f"""
        SELECT strftime('%Y-%m-%d', {local}, 'unixepoch') AS date,
               strftime('%H:%M', {local}, 'unixepoch') AS time,
               d.name AS doctor, s.name AS service, a.patient_name, a.patient_phone,
               a.status, a.source
        FROM appointments a
        JOIN doctors d ON d.id = a.doctor_id
        JOIN services s ON s.id = a.service_id
        WHERE {_range()}
        ORDER BY a.start_ts, d.name, a.id
        """,  # noqa: S608 -- only constants and integers are formatted in
        [clinic_id, start_ts, end_ts],
    ).fetchall()
