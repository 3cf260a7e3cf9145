"""The benchmark database: built once through the production migrations, then cached.

The clinic's setup goes through clinicbot's own services; patients and appointments go in
with ``executemany`` inside big transactions, into the real schema with every trigger on
(the overlap guard, the per-status counts, the FTS index). The patients' counters are then
set from their appointments by one ``UPDATE … FROM (… GROUP BY patient_id)``.

The cache lives in ``<work>/db-<patients>-<appointments>-s<seed>/``: ``clinicbot.db`` and
``meta.json``, written last. Its key stamps the generator's version, the migrations' names
and the schema they make, so a changed migration or generator rebuilds it.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import sqlite_utils

from bench.clinic import CLINIC
from bench.people import invent_people
from bench.plan import FUTURE_DAYS, Layout, lay_out
from bench.rows import (
    APPOINTMENT_COLUMNS,
    PATIENT_COLUMNS,
    AppointmentRows,
    Ids,
    LocalDays,
    patient_rows,
)
from bench.setup import create_setup
from clinicbot.db import MIGRATIONS, connect, migrate
from clinicbot.db.database import transaction

GENERATOR_VERSION = "core-1"
CHUNK = 50_000
Log = Callable[[str], None]


@dataclass(frozen=True)
class Scale:
    patients: int
    appointments: int
    seed: int


class BuiltDb(msgspec.Struct, frozen=True):
    """What a run needs to know about a built database (kept as ``meta.json``)."""

    key: str
    patients: int
    appointments: int
    seed: int
    clinic_id: str
    doctor_ids: list[str]
    service_ids: list[str]
    built_at: str
    build_seconds: float
    today: str  # the clinic-local day the data was laid out around
    first_day: str
    last_day: str


def schema_stamp() -> str:
    """The migrations' names and the schema they make, from an in-memory database."""
    conn = sqlite3.connect(":memory:")
    try:
        db = sqlite_utils.Database(conn)
        names = [m.name for m in MIGRATIONS.pending(db)]
        migrate(conn)
        schema = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '_sqlite_migrations%'"
            " ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()
    return ",".join(names) + "\n" + repr(schema)


def cache_key(scale: Scale) -> str:
    text = f"{GENERATOR_VERSION}\n{scale}\n{schema_stamp()}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_dir(work_dir: Path, scale: Scale) -> Path:
    return work_dir / f"db-{scale.patients}-{scale.appointments}-s{scale.seed}"


def cached(work_dir: Path, scale: Scale) -> BuiltDb | None:
    """The cached database of this scale, if it was built by this generator and schema."""
    meta = cache_dir(work_dir, scale) / "meta.json"
    if not meta.is_file() or not (meta.parent / "clinicbot.db").is_file():
        return None
    built = msgspec.json.decode(meta.read_bytes(), type=BuiltDb)
    return built if built.key == cache_key(scale) else None


def ensure_database(
    work_dir: Path, scale: Scale, *, rebuild: bool, log: Log
) -> tuple[BuiltDb, bool]:
    """The cached database, or a fresh build when there is none, it is stale, or asked to;
    and whether it was built just now."""
    found = None if rebuild else cached(work_dir, scale)
    if found is not None:
        log(f"database: cached ({found.built_at}, built in {found.build_seconds:.1f} s)")
        return found, False
    target = cache_dir(work_dir, scale)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    built = build_database(target / "clinicbot.db", scale, datetime.now(UTC), log=log)
    (target / "meta.json").write_bytes(msgspec.json.encode(built))
    return built, True


def _bulk_pragmas(conn: sqlite3.Connection) -> None:
    """Fast, not durable, for the build only: a crash just means building again."""
    conn.execute("PRAGMA journal_mode = MEMORY")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")
    conn.execute("PRAGMA temp_store = MEMORY")


def _insert(table: str, columns: Iterable[str]) -> str:
    names = list(columns)
    marks = ", ".join("?" for _ in names)
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"  # noqa: S608


def build_database(path: Path, scale: Scale, now: datetime, *, log: Log) -> BuiltDb:
    """Build the whole database at ``path``; ``now`` decides what is past and what is not."""
    started = time.perf_counter()
    tz = ZoneInfo(CLINIC.timezone)
    today = now.astimezone(tz).date()
    conn = connect(path)
    try:
        migrate(conn)
        _bulk_pragmas(conn)
        layout = lay_out(scale.seed, scale.appointments, today)
        ids = create_setup(conn, now, layout.calendar, _years(layout))
        _fill(conn, scale, layout, ids, now, log)
        log("database: setting every patient's counters from their appointments")
        with transaction(conn):
            conn.execute(COUNTERS_SQL)
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    log(f"database: built in {seconds:.1f} s ({path.stat().st_size / 2**20:.0f} MiB)")
    return BuiltDb(
        key=cache_key(scale),
        patients=scale.patients,
        appointments=scale.appointments,
        seed=scale.seed,
        clinic_id=ids.clinic,
        doctor_ids=ids.doctors,
        service_ids=ids.services,
        built_at=now.isoformat(timespec="seconds"),
        build_seconds=round(seconds, 1),
        today=today.isoformat(),
        first_day=layout.first_day.isoformat(),
        last_day=(today + timedelta(days=FUTURE_DAYS)).isoformat(),
    )


def _years(layout: Layout) -> range:
    """Years that need holidays and leave: the history, and the months bookings reach into."""
    return range(layout.first_day.year, (layout.today + timedelta(days=180)).year + 1)


def _fill(
    conn: sqlite3.Connection, scale: Scale, layout: Layout, ids: Ids, now: datetime, log: Log
) -> None:
    rng = random.Random(scale.seed)
    days = LocalDays(ZoneInfo(CLINIC.timezone))
    people = invent_people(rng, scale.patients)
    patients = patient_rows(rng, people, ids.clinic, layout, days)
    with transaction(conn):
        conn.executemany(_insert("patients", PATIENT_COLUMNS), patients)
    log(f"database: {len(patients):,} patients since {layout.first_day}")
    rows = iter(AppointmentRows(rng, layout, ids, patients, days, int(now.timestamp())))
    sql, done = _insert("appointments", APPOINTMENT_COLUMNS), 0
    with transaction(conn):
        while chunk := list(islice(rows, CHUNK)):
            conn.executemany(sql, chunk)
            done += len(chunk)
            if done % (CHUNK * 4) == 0 or len(chunk) < CHUNK:
                log(f"database: {done:,} appointments")


COUNTERS_SQL = """
UPDATE patients SET
    total_visits = c.visits,
    total_cancellations = c.cancellations,
    total_no_shows = c.no_shows,
    first_visit_date = c.first_visit,
    last_visit_date = c.last_visit,
    created_at = min(patients.created_at, c.first_booked),
    updated_at = max(patients.created_at, c.first_booked, coalesce(c.last_change, ''))
FROM (
    SELECT
        patient_id,
        count(*) FILTER (WHERE status = 'completed') AS visits,
        count(*) FILTER (WHERE status = 'cancelled') AS cancellations,
        count(*) FILTER (WHERE status = 'no_show') AS no_shows,
        min(date) FILTER (WHERE status = 'completed') AS first_visit,
        max(date) FILTER (WHERE status = 'completed') AS last_visit,
        min(created_at) AS first_booked,
        max(updated_at) FILTER (WHERE status IN ('completed', 'cancelled', 'no_show'))
            AS last_change
    FROM appointments
    GROUP BY patient_id
) AS c
WHERE patients.id = c.patient_id
"""


def copy_for_run(built_db: Path, run_dir: Path) -> Path:
    """A fresh copy of the cached database for one run: runs write bookings into it."""
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    target = run_dir / "clinicbot.db"
    shutil.copyfile(built_db, target)
    return target
