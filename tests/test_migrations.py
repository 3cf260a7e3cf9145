"""Migrations: from empty, from every earlier version with data kept, and all or nothing.

The versions are read from ``MIGRATIONS`` itself, so a new migration is covered here
without editing this file: the data seeded at each earlier version must survive it.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlite_utils
from sqlite_utils.migrations import Migrations

from clinicbot.db import MIGRATIONS, connect, migrate
from clinicbot.db.database import transaction
from clinicbot.db.migrations import _run_script
from clinicbot.domain import (
    AppointmentCreate,
    PatientCreate,
    ServiceCreate,
    Status,
    TimeOffCreate,
)
from clinicbot.services import booking, setup
from clinicbot.services.patients import create_patient
from clinicbot.store import appointments as appointment_store
from clinicbot.store.patients import get_patient, list_patients
from tests.factories import make_clinic_db, next_weekday

NAMES = [migration.name for migration in MIGRATIONS._migrations]
IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=IST)
CORE_TABLES = {
    "clinics",
    "doctors",
    "services",
    "service_doctors",
    "working_hours",
    "time_off",
    "patients",
    "appointments",
    "appointment_counts",
    "appointment_events",
}

Rows = dict[str, tuple[list[str], list[tuple[object, ...]]]]


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def snapshot(conn: sqlite3.Connection) -> Rows:
    """Every row of every ordinary table; full-text indexes are derived, so left out."""
    virtual = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL%'"
        )
    ]
    rows: Rows = {}
    for table in sorted(_tables(conn)):
        if table.startswith("sqlite_") or any(
            table == v or table.startswith(v + "_") for v in virtual
        ):
            continue
        cursor = conn.execute(f'SELECT * FROM "{table}"')  # noqa: S608
        columns = [d[0] for d in cursor.description]
        rows[table] = (columns, [tuple(r) for r in cursor])
    return rows


def assert_kept(before: Rows, after: Rows) -> None:
    """Each table of ``before`` still exists and holds its rows (new columns aside)."""
    for table, (columns, rows) in before.items():
        assert table in after, f"table {table} was dropped"
        new_columns, new_rows = after[table]
        missing = set(columns) - set(new_columns)
        assert not missing, f"{table} lost columns {missing}"
        positions = [new_columns.index(c) for c in columns]
        projected = Counter(tuple(row[i] for i in positions) for row in new_rows)
        lost = Counter(rows) - projected
        assert not lost, f"{table} lost rows {list(lost)}"


# The schema of 001_core never changes once shipped, so rows shaped for it can be written at
# any later version (a migration adding a NOT NULL column without a default must say so here).
SEED_001: list[tuple[str, dict[str, object]]] = [
    (
        "clinics",
        {
            "id": "c1",
            "name": "Old Clinic",
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00+00:00",
        },
    ),
    (
        "doctors",
        {
            "id": "d1",
            "clinic_id": "c1",
            "name": "Dr. Old",
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00+00:00",
        },
    ),
    (
        "services",
        {
            "id": "s1",
            "clinic_id": "c1",
            "name": "Consultation",
            "duration_minutes": 15,
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00+00:00",
        },
    ),
    ("service_doctors", {"service_id": "s1", "doctor_id": "d1"}),
    (
        "working_hours",
        {"id": "w1", "doctor_id": "d1", "weekday": 0, "start_time": "09:00", "end_time": "13:00"},
    ),
    (
        "time_off",
        {
            "id": "t1",
            "clinic_id": "c1",
            "doctor_id": None,
            "starts_at": "2026-01-26T00:00:00+05:30",
            "ends_at": "2026-01-27T00:00:00+05:30",
            "start_ts": 1769365800,
            "end_ts": 1769452200,
            "reason": "Republic Day",
        },
    ),
    (
        "patients",
        {
            "id": "p1",
            "clinic_id": "c1",
            "name": "Asha Verma",
            "phone": "+919876543210",
            "total_visits": 1,
            "first_visit_date": "2026-01-05",
            "last_visit_date": "2026-01-05",
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-05T00:00:00+00:00",
        },
    ),
    (
        "appointments",
        {
            "id": "a1",
            "clinic_id": "c1",
            "doctor_id": "d1",
            "service_id": "s1",
            "patient_id": "p1",
            "patient_name": "Asha Verma",
            "patient_phone": "+919876543210",
            "starts_at": "2026-01-05T10:00:00+05:30",
            "ends_at": "2026-01-05T10:15:00+05:30",
            "start_ts": 1767587400,
            "end_ts": 1767588300,
            "date": "2026-01-05",
            "status": "completed",
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-05T00:00:00+00:00",
        },
    ),
    (
        "appointment_events",
        {
            "appointment_id": "a1",
            "at": "2026-01-05T00:00:00+00:00",
            "actor": "staff",
            "kind": "status",
            "from_status": "confirmed",
            "to_status": "completed",
        },
    ),
]


def seed_raw(conn: sqlite3.Connection) -> None:
    """Rows for the tables that exist at this version, written as an older program would."""
    present = _tables(conn)
    for table, row in SEED_001:
        if table in present:
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))  # noqa: S608


def seed_with_services(conn: sqlite3.Connection) -> dict[str, str]:
    """A clinic as the current program makes it: doctor, patient, appointments, time off."""
    clinic = make_clinic_db(conn, NOW)
    day = next_weekday(NOW.date())
    with transaction(conn):
        patient = create_patient(
            conn, PatientCreate(clinic_id=clinic.id, name="Asha Verma", phone="98765 43210"), NOW
        )
        done = booking.book(
            conn,
            AppointmentCreate(
                clinic_id=clinic.id,
                doctor_id=clinic.doctor,
                service_id=clinic.service,
                starts_at=f"{day}T10:00",
                patient_id=patient.id,
            ),
            NOW,
        )
        booking.set_status(conn, done.id, Status.COMPLETED, NOW)
        upcoming = booking.book(
            conn,
            AppointmentCreate(
                clinic_id=clinic.id,
                doctor_id=clinic.doctor,
                service_id=clinic.service_ids[1],
                starts_at=f"{day}T11:00",
                patient_phone="+91 98111 22233",
                patient_name="Ravi",
            ),
            NOW,
        )
        setup.create_time_off(
            conn,
            TimeOffCreate(
                clinic_id=clinic.id, starts_at=f"{day}T14:00", ends_at=f"{day}T15:00", reason="x"
            ),
        )
        setup.create_service(
            conn,
            ServiceCreate(
                clinic_id=clinic.id, name="ECG", duration_minutes=20, doctor_ids=[clinic.doctor]
            ),
            NOW,
        )
    return {"clinic": clinic.id, "patient": patient.id, "done": done.id, "upcoming": upcoming.id}


# tests -----------------------------------------------------------------------------------


def test_from_empty_every_migration_applies_once(tmp_path: Path) -> None:
    assert NAMES, "MIGRATIONS lists no migration"
    conn = connect(tmp_path / "clinicbot.db")
    assert migrate(conn) == NAMES
    assert migrate(conn) == []
    recorded = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY id",
            [MIGRATIONS.name],
        )
    ]
    assert recorded == NAMES
    assert _tables(conn) >= CORE_TABLES
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO doctors (id, clinic_id, name, created_at, updated_at)"
            " VALUES ('d', 'no-such-clinic', 'Dr. Nobody', '', '')"
        )
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    # WAL is a property of the file: a plain connection sees it too.
    plain = sqlite3.connect(tmp_path / "clinicbot.db")
    assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    plain.close()


@pytest.mark.parametrize(
    "stop_before",
    [*NAMES, None],
    ids=[*(f"before-{name}" for name in NAMES), "latest"],
)
def test_data_survives_every_later_migration(tmp_path: Path, stop_before: str | None) -> None:
    conn = connect(tmp_path / "clinicbot.db")
    seeded: dict[str, str] = {}
    if stop_before is None:
        migrate(conn)
        seeded = seed_with_services(conn)
        rest: list[str] = []
    else:
        MIGRATIONS.apply(sqlite_utils.Database(conn), stop_before=stop_before)
        rest = NAMES[NAMES.index(stop_before) :]
        assert [m.name for m in MIGRATIONS.pending(sqlite_utils.Database(conn))] == rest
        seed_raw(conn)  # at the first version there is no table yet: nothing to seed
    before = snapshot(conn)
    assert migrate(conn) == rest
    after = snapshot(conn)
    assert_kept(before, after)
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    if stop_before is None:
        assert after == before
        patient = get_patient(conn, seeded["patient"])
        assert (patient.total_visits, patient.phone) == (1, "+919876543210")
        assert appointment_store.get_appointment(conn, seeded["done"]).status == Status.COMPLETED
        found = list_patients(conn, seeded["clinic"], q="Verma")
        assert [p.id for p in found] == [seeded["patient"]]
        assert not [t for t in CORE_TABLES if not before[t][1]], "a core table was not seeded"
    elif "patients" in _tables(conn) and "patients" in before:
        # Rows written at an older version read back through today's code.
        assert get_patient(conn, "p1").total_visits == 1
        assert [p.id for p in list_patients(conn, "c1", q="Asha")] == ["p1"]


def test_a_failing_migration_leaves_nothing_half_done(tmp_path: Path) -> None:
    conn = connect(tmp_path / "clinicbot.db")
    db = sqlite_utils.Database(conn)
    throwaway = Migrations("throwaway")

    @throwaway(name="001_ok")
    def _ok(db: sqlite_utils.Database) -> None:
        _run_script(db, "CREATE TABLE kept (x INTEGER);\nINSERT INTO kept VALUES (1);\n")

    @throwaway(name="002_sql_error")
    def _sql_error(db: sqlite_utils.Database) -> None:
        _run_script(
            db,
            "CREATE TABLE half (x INTEGER);\n"
            "INSERT INTO kept VALUES (2);\n"
            "CREATE INDEX half_x ON half(x);\n"
            "CREATE TABLE broken (x INTEGER REFERENCES;\n",
        )

    with pytest.raises(sqlite3.OperationalError):
        throwaway.apply(db)
    assert not conn.in_transaction
    assert "half" not in _tables(conn)
    assert [tuple(r) for r in conn.execute("SELECT x FROM kept")] == [(1,)]
    assert [m.name for m in throwaway.applied(db)] == ["001_ok"]
    assert [m.name for m in throwaway.pending(db)] == ["002_sql_error"]


def test_a_migration_that_raises_leaves_nothing_half_done(tmp_path: Path) -> None:
    conn = connect(tmp_path / "clinicbot.db")
    db = sqlite_utils.Database(conn)
    throwaway = Migrations("throwaway")

    @throwaway(name="001_raises")
    def _raises(db: sqlite_utils.Database) -> None:
        _run_script(
            db,
            "CREATE TABLE half (x INTEGER);\n"
            "CREATE VIRTUAL TABLE half_fts USING fts5(x);\n"
            "CREATE TRIGGER half_t AFTER INSERT ON half BEGIN SELECT 1; END;\n",
        )
        raise RuntimeError("the migration's own code failed")

    with pytest.raises(RuntimeError):
        throwaway.apply(db)
    assert not conn.in_transaction
    assert not [t for t in _tables(conn) if t.startswith("half")]
    assert (
        conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_t'").fetchone()[0] == 0
    )
    assert throwaway.applied(db) == []
    # The real migrations still apply cleanly on the same file afterwards.
    assert migrate(conn) == NAMES


def test_an_incomplete_statement_is_refused_not_dropped(tmp_path: Path) -> None:
    conn = connect(tmp_path / "clinicbot.db")
    db = sqlite_utils.Database(conn)
    with pytest.raises(ValueError, match="incomplete"):
        _run_script(db, "CREATE TABLE a (x INTEGER);\nCREATE TABLE b (x INTEGER)\n")


def test_the_rows_seeded_for_old_versions_fit_the_schema(tmp_path: Path) -> None:
    """The older-version seed must stay valid, or the test above would seed nothing useful."""
    conn = connect(tmp_path / "clinicbot.db")
    migrate(conn)
    seed_raw(conn)
    seeded = snapshot(conn)
    assert {table for table, _ in SEED_001} <= {t for t, (_, rows) in seeded.items() if rows}
    assert get_patient(conn, "p1").last_visit_date == "2026-01-05"
    assert appointment_store.get_appointment(conn, "a1").starts_at == "2026-01-05T10:00:00+05:30"
    assert seeded["appointment_counts"][1] == [("c1", "completed", 1)]
