"""One benchmark run, start to end: the database, the in-process figures, the server and its
HTTP figures, the bookings, the checks after them, and the report's facts."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench import api, inprocess
from bench.build import BuiltDb, Scale, cache_dir, copy_for_run, ensure_database
from bench.checks import counter_mismatches, overlaps, sample_patients
from bench.clinic import CLINIC
from bench.inputs import (
    BOOKING_NOTE,
    SearchQuery,
    SlotQuery,
    booking_bodies,
    patient_contacts,
    search_queries,
    slot_queries,
)
from bench.report import Database, Run, machine
from bench.results import Latency, Results
from bench.server import ServerProcess, start_server
from clinicbot.db import connect

ROOT = Path(__file__).resolve().parent.parent
STAFF_TOKEN = "bench-staff-token-not-a-secret"
Log = Callable[[str], None]


@dataclass(frozen=True)
class Rounds:
    """How many times each thing is measured (after ``warmup`` untimed rounds)."""

    slots: int
    search: int
    stats: int
    bookings: int  # per concurrency level
    health: int  # health checks per concurrency level, for the throughput baseline
    warmup: int


FULL = Rounds(slots=2000, search=3000, stats=300, bookings=3000, health=3000, warmup=100)
QUICK = Rounds(slots=40, search=60, stats=10, bookings=60, health=60, warmup=5)


@dataclass(frozen=True)
class Options:
    patients: int = 100_000
    appointments: int = 1_000_000
    seed: int = 2024
    rebuild: bool = False
    work_dir: Path = ROOT / "bench" / ".work"
    concurrency: tuple[int, ...] = (16, 64)
    pin: bool = True
    command: str = "python -m bench"
    rounds: Rounds = field(default=FULL)

    @property
    def scale(self) -> Scale:
        return Scale(self.patients, self.appointments, self.seed)


@dataclass(frozen=True)
class Placement:
    server: set[int] | None
    bench: set[int] | None

    def describe(self) -> str:
        if self.server is None or self.bench is None:
            return "server and load generator share every CPU (not pinned)"
        return (
            f"server pinned to CPU {min(self.server)}, this benchmark (the load generator) to "
            f"CPU {min(self.bench)}"
        )


def placement(pin: bool) -> Placement:
    """One CPU for the server, another for the load generator, when there are two."""
    if not pin or not hasattr(os, "sched_getaffinity"):
        return Placement(None, None)
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return Placement(None, None)
    return Placement({cpus[0]}, {cpus[1]})


@contextmanager
def pinned(cpus: set[int] | None) -> Iterator[None]:
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _facts(conn: sqlite3.Connection, built: BuiltDb, path: Path, fresh: bool) -> Database:
    statuses = dict(conn.execute("SELECT status, count(*) FROM appointments GROUP BY status"))
    return Database(
        patients=conn.execute("SELECT count(*) FROM patients").fetchone()[0],
        appointments=sum(statuses.values()),
        statuses=statuses,
        first_day=built.first_day,
        last_day=built.last_day,
        mib=path.stat().st_size / 2**20,
        built_at=built.built_at,
        build_seconds=built.build_seconds,
        built_this_run=fresh,
    )


@dataclass(frozen=True)
class Workload:
    """The same seeded requests for the in-process and the HTTP measurements."""

    slots: list[SlotQuery]
    searches: list[SearchQuery]
    contacts: list[tuple[str, str]]  # (name, phone) of the patients, for bookings


def workload(conn: sqlite3.Connection, built: BuiltDb, rounds: Rounds) -> Workload:
    today, warm = datetime.now(ZoneInfo(CLINIC.timezone)).date(), rounds.warmup
    contacts = patient_contacts(conn)
    return Workload(
        slots=slot_queries(built, today, rounds.slots + warm, built.seed + 1),
        searches=search_queries(contacts, rounds.search + warm, built.seed + 2),
        contacts=contacts,
    )


def _in_process(
    conn: sqlite3.Connection, built: BuiltDb, work: Workload, rounds: Rounds, log: Log
) -> list[Latency]:
    warm = rounds.warmup
    log("in-process: free slots, patient search, clinic statistics")
    return [
        inprocess.measure_slots(conn, work.slots, warm),
        *inprocess.measure_search(conn, built.clinic_id, work.searches, warm),
        inprocess.measure_stats(conn, built.clinic_id, rounds.stats, warm),
    ]


def _over_http(
    server: ServerProcess, built: BuiltDb, work: Workload, rounds: Rounds, log: Log
) -> list[Latency]:
    warm = rounds.warmup
    log("HTTP: free slots, patient search, clinic statistics")
    with api.staff_client(server) as client:
        return [
            api.measure_slots(client, work.slots, warm),
            *api.measure_search(client, built.clinic_id, work.searches, warm),
            api.measure_stats(client, built.clinic_id, rounds.stats, warm),
        ]


def _first_free_day(built: BuiltDb, today: date) -> date:
    """Bookings go after every generated appointment, where each slot is free."""
    return max(today, date.fromisoformat(built.last_day)) + timedelta(days=1)


def _bookings(
    server: ServerProcess,
    built: BuiltDb,
    contacts: list[tuple[str, str]],
    options: Options,
    results: Results,
    log: Log,
) -> None:
    rounds, levels = options.rounds, options.concurrency
    today = datetime.now(ZoneInfo(CLINIC.timezone)).date()
    horizon = today + timedelta(days=CLINIC.horizon_days)
    count = rounds.warmup + rounds.bookings * len(levels)
    bodies = booking_bodies(
        built, contacts, _first_free_day(built, today), horizon, count, built.seed + 3
    )
    warm, rest = bodies[: rounds.warmup], bodies[rounds.warmup :]
    outcomes, _ = api.book_all(server, warm, concurrency=4)
    results.warmup_bookings = sum(status == 201 for status, _ in outcomes)
    measured = []
    for i, level in enumerate(levels):
        log(f"HTTP: bookings from {level} concurrent clients")
        chunk = rest[i * rounds.bookings : (i + 1) * rounds.bookings]
        measured.append(api.measure_bookings(server, chunk, level, rounds.health))
    results.bookings = measured


def _check(conn: sqlite3.Connection, results: Results, seed: int) -> None:
    results.overlaps = overlaps(conn)
    results.booked_rows = conn.execute(
        "SELECT count(*) FROM appointments WHERE notes = ?", [BOOKING_NOTE]
    ).fetchone()[0]
    results.counter_mismatches = len(counter_mismatches(conn, sample_patients(conn, 300, seed)))


def run(options: Options, log: Log) -> Run:
    """The whole benchmark; returns what the report needs."""
    started_at, started = datetime.now(UTC), time.perf_counter()
    built, fresh = ensure_database(
        options.work_dir, options.scale, rebuild=options.rebuild, log=log
    )
    cached_db = cache_dir(options.work_dir, options.scale) / "clinicbot.db"
    run_dir = options.work_dir / "run"
    path = copy_for_run(cached_db, run_dir)
    conn = connect(path, read_only=True)
    try:
        database = _facts(conn, built, path, fresh)
        work = workload(conn, built, options.rounds)
        results = Results(latencies=_in_process(conn, built, work, options.rounds, log))
        where = placement(options.pin)
        log("HTTP: starting the server")
        server = start_server(run_dir, STAFF_TOKEN, cpus=where.server)
        try:
            with pinned(where.bench):
                results.latencies += _over_http(server, built, work, options.rounds, log)
                _bookings(server, built, work.contacts, options, results, log)
        finally:
            server.stop()
        log("checking: overlaps, stored bookings, counters")
        _check(conn, results, options.seed)
    finally:
        conn.close()
    return Run(
        started=started_at.strftime("%Y-%m-%d %H:%M UTC"),
        seconds=time.perf_counter() - started,
        command=options.command,
        pinned=where.describe(),
        machine=machine(),
        database=database,
        results=results,
    )
