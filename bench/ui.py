"""The UI bench (``python -m bench --only ui``): the staff window in Debian's Chromium against
the real ``clinicbot serve`` on the 100,000-patient database. Measures, each beside a baseline
taken in the same rounds (``bench.ui_page``):

- Today with 200 appointments: a page refresh, and a change of day inside the app, until the
  200 rows are in the DOM (target < 300 ms);
- the top search: from the last key press of a phone or a name fragment until the listbox
  shows that fragment's results (target < 150 ms);
- a year of analytics: from another screen until every chart is drawn (target < 1 s).

The 200 appointments are booked through the API, on an empty day after the generated data,
into a fresh copy of the cached database. Writes the ``ui`` section of docs/BENCHMARKS.md
(``bench.ui_report``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from bench import api, ui_page
from bench.build import BuiltDb, Scale, cache_dir, copy_for_run, ensure_database
from bench.clinic import BOOKING_SERVICE, CLINIC, DOCTORS, SERVICES, Calendar
from bench.inputs import NAME, PHONE, booking_bodies, patient_contacts, search_queries
from bench.report import Machine, machine
from bench.runner import ROOT, pinned, placement
from bench.runner import Options as RunnerOptions
from bench.server import ServerProcess, start_server
from bench.timing import Figure, figure
from bench.ui_page import SearchCase, Session
from clinicbot.db import connect

SECTION = "ui"
ROWS = 200  # appointments on the measured day, as the issue asks
STAFF_TOKEN = "bench-ui-staff-token-not-a-secret"
Log = Callable[[str], None]

TODAY_REFRESH = "Today, 200 appointments: page refresh"
TODAY_SWITCH = "Today, 200 appointments: change of day"
SEARCH_PHONE = "search after a key press: phone fragment"
SEARCH_NAME = "search after a key press: name fragment"
ANALYTICS_YEAR = "analytics, a year: to every chart drawn"
TARGETS_MS = {
    TODAY_REFRESH: 300.0,
    TODAY_SWITCH: 300.0,
    SEARCH_PHONE: 150.0,
    SEARCH_NAME: 150.0,
    ANALYTICS_YEAR: 1000.0,
}
BASELINES = {
    TODAY_REFRESH: "a static page of as many rows, no script",
    TODAY_SWITCH: "`GET /appointments` of that day, from the page",
    SEARCH_PHONE: "`GET /patients?q=…&limit=8`, from the page",
    SEARCH_NAME: "`GET /patients?q=…&limit=8`, from the page",
    ANALYTICS_YEAR: "`GET /analytics` of the year (its statistics included), from the page",
}


@dataclass(frozen=True)
class Rounds:
    """Measured rounds of each figure, after ``warmup`` untimed ones."""

    refresh: int
    switch: int
    search: int  # per kind of fragment
    analytics: int
    warmup: int


FULL_ROUNDS = Rounds(refresh=30, switch=40, search=40, analytics=20, warmup=3)
QUICK_ROUNDS = Rounds(refresh=3, switch=3, search=3, analytics=2, warmup=1)


CORE_SCALE = RunnerOptions().scale  # the core bench's database


@dataclass(frozen=True)
class Options:
    scale: Scale = CORE_SCALE
    rounds: Rounds = FULL_ROUNDS
    work_dir: Path = ROOT / "bench" / ".work"
    pin: bool = True
    command: str = "python -m bench --only ui"


@dataclass(frozen=True)
class Measured:
    what: str
    work: Figure
    base: Figure

    @property
    def target(self) -> float:
        return TARGETS_MS[self.what]

    def met(self, statistic: str) -> bool:
        """Whether the figure's ``p50`` or ``p95`` is under the target."""
        return float(getattr(self.work, statistic)) < self.target


def measured(what: str, samples: list[ui_page.Sample]) -> Measured:
    return Measured(what, figure([w for w, _ in samples]), figure([b for _, b in samples]))


@dataclass(frozen=True)
class Facts:
    """The database under the browser, and what the bench added to it."""

    patients: int
    appointments: int
    first_day: str
    last_day: str
    day: str  # the day of the bench's bookings
    booked: int  # of them, answered 201
    shown: int  # the appointments Today lists that day (the API's count)
    year: tuple[str, str]  # the analytics range
    searches: dict[str, list[str]]  # kind -> the fragments typed


@dataclass
class UiRun:
    started: str
    seconds: float
    command: str
    pinned: str
    machine: Machine
    load: tuple[float, float] = (0.0, 0.0)  # the 1-minute load average at the start, the end
    chromium: str = ""
    facts: Facts | None = None
    figures: list[Measured] = field(default_factory=list)

    def of(self, what: str) -> Measured | None:
        return next((m for m in self.figures if m.what == what), None)


# -- the day and the bookings ------------------------------------------------------------------


def capacity(calendar: Calendar, day: date) -> int:
    """How many bookings of the bench's service fit in every doctor's hours that day."""
    minutes = SERVICES[BOOKING_SERVICE].minutes
    return sum(
        (end - start) // minutes
        for doctor in range(len(DOCTORS))
        for start, end in calendar.intervals(doctor, day)
    )


def booking_day(built: BuiltDb, today: date, rows: int) -> date:
    """The first day after every generated appointment with room for ``rows`` bookings."""
    calendar = Calendar(built.seed)
    day = max(today, date.fromisoformat(built.last_day)) + timedelta(days=1)
    while capacity(calendar, day) < rows:
        day += timedelta(days=1)
    return day


def book_day(
    server: ServerProcess,
    built: BuiltDb,
    contacts: list[tuple[str, str]],
    today: date,
    day: date,
    rows: int,
) -> int:
    """Book ``rows`` appointments on ``day`` through the API (some as patients on WhatsApp,
    within the booking horizon; the rest as the desk); how many were accepted."""
    horizon = today + timedelta(days=CLINIC.horizon_days)
    bodies = booking_bodies(built, contacts, day, horizon, rows, built.seed)
    if {str(b["starts_at"])[:10] for b in bodies} != {day.isoformat()}:
        raise RuntimeError(f"{rows} bookings do not fit on {day}")
    outcomes, _ = api.book_all(server, bodies, concurrency=4)
    statuses = Counter(status for status, _ in outcomes)
    if statuses != {201: rows}:
        raise RuntimeError(f"booking {rows} appointments on {day} answered {dict(statuses)}")
    return statuses[201]


def listed(client: httpx.Client, clinic_id: str, q: str) -> list[str]:
    response = client.get("/api/v1/patients", params={"clinic_id": clinic_id, "q": q, "limit": 8})
    response.raise_for_status()
    return [p["name"] for p in response.json()]


def search_cases(
    client: httpx.Client, built: BuiltDb, contacts: list[tuple[str, str]], count: int
) -> dict[str, list[SearchCase]]:
    """``count`` fragments of each kind whose last letter changes what the list shows (else
    the key press would change nothing on the screen to wait for)."""
    cases: dict[str, list[SearchCase]] = {PHONE: [], NAME: []}
    for query in search_queries(contacts, count * 40, built.seed + 7):
        found = cases.get(query.kind)
        if found is None or len(found) >= count or len(query.q) < 2:
            continue
        before = listed(client, built.clinic_id, query.q[:-1])
        after = listed(client, built.clinic_id, query.q)
        if before and after and before != after:
            found.append(SearchCase(query.kind, query.q, before, after))
        if all(len(c) >= count for c in cases.values()):
            return cases
    raise RuntimeError(f"fewer than {count} usable search fragments of each kind")


# -- one run -------------------------------------------------------------------------------------


def _facts_of(path: Path) -> tuple[int, int]:
    conn = connect(path, read_only=True)
    try:
        patients = conn.execute("SELECT count(*) FROM patients").fetchone()[0]
        appointments = conn.execute("SELECT count(*) FROM appointments").fetchone()[0]
    finally:
        conn.close()
    return int(patients), int(appointments)


def _contacts(path: Path) -> list[tuple[str, str]]:
    conn: sqlite3.Connection = connect(path, read_only=True)
    try:
        return patient_contacts(conn)
    finally:
        conn.close()


def _measure(
    s: Session,
    built: BuiltDb,
    facts: Facts,
    cases: dict[str, list[SearchCase]],
    options: Options,
    log: Log,
) -> list[Measured]:
    r, clinic, rows = options.rounds, built.clinic_id, ROWS
    day = facts.day
    empty = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    away = f"#/today?date={empty}"
    log(f"ui: Today with {rows} appointments, refreshed")
    figures = [measured(TODAY_REFRESH, ui_page.today_refresh(s, day, rows, r.refresh, r.warmup))]
    log(f"ui: Today with {rows} appointments, from another day")
    switch = ui_page.today_switch(s, clinic, day, empty, rows, r.switch, r.warmup)
    figures.append(measured(TODAY_SWITCH, switch))
    for kind, what in ((PHONE, SEARCH_PHONE), (NAME, SEARCH_NAME)):
        log(f"ui: top search, {kind}")
        figures.append(measured(what, ui_page.search(s, clinic, cases[kind], r.warmup)))
    log("ui: a year of analytics")
    first, last = facts.year
    year = ui_page.analytics(s, clinic, first, last, away, r.analytics, r.warmup)
    figures.append(measured(ANALYTICS_YEAR, year))
    return figures


def _prepare(
    server: ServerProcess, built: BuiltDb, path: Path, today: date, day: date, rounds: Rounds
) -> tuple[Facts, dict[str, list[SearchCase]]]:
    """Book the day, check that it lists every booking, and choose the search fragments."""
    patients, appointments = _facts_of(path)
    contacts = _contacts(path)
    booked = book_day(server, built, contacts, today, day, ROWS)
    with api.staff_client(server) as client:
        params = {"clinic_id": built.clinic_id, "date": day.isoformat(), "limit": "1000"}
        shown = len(client.get("/api/v1/appointments", params=params).json())
        cases = search_cases(client, built, contacts, rounds.search + rounds.warmup)
    facts = Facts(
        patients=patients,
        appointments=appointments,
        first_day=built.first_day,
        last_day=built.last_day,
        day=day.isoformat(),
        booked=booked,
        shown=shown,
        year=((today - timedelta(days=364)).isoformat(), today.isoformat()),
        searches={kind: [c.q for c in found] for kind, found in cases.items()},
    )
    return facts, cases


def run(options: Options, log: Log) -> UiRun:
    """The whole UI bench; returns what the report needs."""
    started_at, started = datetime.now(UTC), time.perf_counter()
    where = placement(options.pin)
    load_before = os.getloadavg()[0]
    result = UiRun(
        started=started_at.strftime("%Y-%m-%d %H:%M UTC"),
        seconds=0.0,
        command=options.command,
        pinned=where.describe().replace("load generator", "browser"),
        machine=machine(),
    )
    built, _ = ensure_database(options.work_dir, options.scale, rebuild=False, log=log)
    path = copy_for_run(
        cache_dir(options.work_dir, options.scale) / "clinicbot.db", options.work_dir / "ui"
    )
    today = datetime.now(ZoneInfo(CLINIC.timezone)).date()
    day = booking_day(built, today, ROWS)
    log("ui: starting the server")
    server = start_server(path.parent, STAFF_TOKEN, cpus=where.server)
    try:
        log(f"ui: booking {ROWS} appointments on {day} through the API")
        facts, cases = _prepare(server, built, path, today, day, options.rounds)
        result.facts = facts
        with pinned(where.bench), ui_page.session(server.base_url, STAFF_TOKEN, ROWS) as s:
            result.chromium = s.chromium
            result.figures = _measure(s, built, facts, cases, options, log)
    finally:
        server.stop()
    result.seconds = time.perf_counter() - started
    result.load = (load_before, os.getloadavg()[0])
    return result
