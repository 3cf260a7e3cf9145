"""The report: the machine, the database, each figure beside its baseline, the targets; as
this bench's own section of docs/BENCHMARKS.md, which other benches share.

Each bench owns the text between ``<!-- bench:NAME:start -->`` and ``<!-- bench:NAME:end -->``
and rewrites only that; everything else in the file is left as it is.
"""

from __future__ import annotations

import os
import platform
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bench.results import (
    BOOKINGS_TARGET,
    IN_PROCESS,
    OVER_HTTP,
    P99_TARGETS,
    SEARCH,
    Latency,
    Results,
    Throughput,
)
from bench.timing import Figure

SECTION = "core"
FILE_HEADER = """# Benchmarks

Written by the benchmarks in `bench/` (`./dev bench`, or `python -m bench`). Each benchmark
owns one section, between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`, and
rewrites only that section; the rest of this file is left as it is.
"""


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    ram_gib: float
    system: str
    python: str
    sqlite: str


def _proc_field(path: str, key: str) -> str | None:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


def machine() -> Machine:
    memory = _proc_field("/proc/meminfo", "MemTotal") or "0 kB"
    return Machine(
        cpu=_proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        cores=os.cpu_count() or 1,
        ram_gib=int(memory.split()[0]) / 2**20,
        system=platform.platform(terse=True),
        python=platform.python_version(),
        sqlite=sqlite3.sqlite_version,
    )


@dataclass(frozen=True)
class Database:
    patients: int
    appointments: int
    statuses: dict[str, int]
    first_day: str
    last_day: str
    mib: float
    built_at: str
    build_seconds: float
    built_this_run: bool

    @property
    def years(self) -> float:
        return (
            date.fromisoformat(self.last_day) - date.fromisoformat(self.first_day)
        ).days / 365.25


@dataclass(frozen=True)
class Run:
    started: str  # UTC, ISO 8601
    seconds: float
    command: str
    pinned: str  # how the processes were placed on the CPUs
    machine: Machine
    database: Database
    results: Results


def ms(value: float) -> str:
    if value < 0.1:
        return f"{value:.3f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def verdict(met: bool) -> str:
    """A target's verdict in a report's list: **met** or **NOT met**."""
    return "**met**" if met else "**NOT met**"


def met_word(met: bool) -> str:
    """A target's verdict in a table cell."""
    return "met" if met else "NOT met"


def latency_table(latencies: list[Latency]) -> list[str]:
    lines = [
        "| what | fragment | where | n | mean | p50 | p99 | baseline | base p50 | base p99 "
        "| ×p50 | ×p99 | target p99 | |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: "
        "| ---: | --- |",
    ]
    order = list(P99_TARGETS)
    for row in sorted(latencies, key=lambda r: (order.index(r.what), r.where != IN_PROCESS)):
        work, base = row.pair.work, row.pair.base
        lines.append(
            f"| {row.what} | {row.detail or '–'} | {row.where} | {work.count} | {ms(work.mean)} "
            f"| {ms(work.p50)} | {ms(work.p99)} | `{row.baseline}` | {ms(base.p50)} "
            f"| {ms(base.p99)} | {row.pair.p50_ratio:.1f} | {row.pair.p99_ratio:.1f} "
            f"| < {row.target:g} | {'met' if row.met else 'NOT met'} |"
        )
    return lines


def bookings_table(bookings: list[Throughput]) -> list[str]:
    lines = [
        "| clients | bookings sent | 201 | other answers | seconds | bookings/s | p50 ms "
        "| p99 ms | health/s (baseline) | ratio | target | |",
        "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in bookings:
        others = ", ".join(f"{n}× {s}" for s, n in sorted(t.statuses.items()) if s != 201)
        lines.append(
            f"| {t.concurrency} | {t.attempted} | {t.created} | {others or 'none'} "
            f"| {t.seconds:.2f} | {t.per_second:.0f} | {ms(t.latency.p50)} | {ms(t.latency.p99)} "
            f"| {t.health_per_second:.0f} | {t.ratio:.2f} | ≥ {BOOKINGS_TARGET:g} "
            f"| {'met' if t.per_second >= BOOKINGS_TARGET else 'NOT met'} |"
        )
    return lines


def _verdict_row(results: Results, what: str) -> Latency | None:
    """The HTTP figure a target is judged on (for search: every kind of fragment together)."""
    for row in results.latencies:
        if row.what == what and row.where == OVER_HTTP and row.detail in ("", "all kinds"):
            return row
    return None


def verdicts(results: Results) -> list[str]:
    lines = []
    for what, target in P99_TARGETS.items():
        row = _verdict_row(results, what)
        if row is None:
            continue
        worst = max((r.pair.work.p99 for r in results.latencies if r.what == what), default=0.0)
        extra = f"; worst row {ms(worst)} ms" if what == SEARCH else ""
        lines.append(
            f"- {what}: p99 < {target:g} ms — {verdict(row.met)} "
            f"(HTTP p99 {ms(row.pair.work.p99)} ms{extra})"
        )
    if results.bookings:
        rates = ", ".join(f"{t.per_second:.0f}/s at {t.concurrency}" for t in results.bookings)
        lines.append(
            f"- bookings: ≥ {BOOKINGS_TARGET:g}/s with no overlap — "
            f"{verdict(results.bookings_met())} ({rates}; {results.overlaps} overlaps)"
        )
    return lines


STALL_MS = 30.0  # a loopback round trip slower than this is a stall, not work


def diagnoses(results: Results) -> list[str]:
    """What the figures themselves say went wrong, in words (nothing when all is well)."""
    floors = [r.pair.base.p50 for r in results.latencies if r.where == OVER_HTTP]
    if not floors or min(floors) < STALL_MS:
        return []
    return [
        "",
        f"Note: the HTTP floor itself, `GET /api/v1/health` on loopback, takes {ms(min(floors))}"
        " ms at p50. That is the signature of Nagle's algorithm meeting delayed ACKs (the"
        " server's accepted sockets lack `TCP_NODELAY`): every keep-alive request waits for"
        " it, so the HTTP rows show the stall rather than the work, and clients that each send"
        " one request at a time are capped near 1 / 40 ms.",
    ]


def _database_lines(db: Database) -> list[str]:
    statuses = ", ".join(f"{s} {n:,}" for s, n in sorted(db.statuses.items()))
    how = "built in this run" if db.built_this_run else f"cached, built {db.built_at}"
    return [
        f"- **Database**: {db.patients:,} patients, {db.appointments:,} appointments "
        f"({statuses}); one clinic, 5 doctors, 7 services; {db.first_day} to {db.last_day} "
        f"({db.years:.1f} years, the last two weeks ahead); {db.mib:.0f} MiB.",
        f"- **Build**: {db.build_seconds:.1f} s through the production migrations, every "
        f"trigger on ({how}).",
    ]


def section(run: Run) -> str:
    m, r = run.machine, run.results
    lines = [
        "## Clinic core: free slots, patient search, statistics, bookings",
        "",
        f"Run {run.started} with `{run.command}`, {run.seconds / 60:.1f} minutes in all.",
        "",
        f"- **Machine**: {m.cpu}, {m.cores} cores, {m.ram_gib:.1f} GiB RAM; {m.system}; "
        f"Python {m.python}; SQLite {m.sqlite}. Shared and noisy: read the ratios.",
        *_database_lines(run.database),
        f"- **Placement**: {run.pinned}.",
        "",
        "### Targets",
        "",
        *verdicts(r),
        *diagnoses(r),
        "",
        "### Latency (milliseconds)",
        "",
        *latency_table(r.latencies),
        "",
        "### Bookings through HTTP",
        "",
        *bookings_table(r.bookings),
        "",
        f"After the bookings: {r.overlaps} overlapping held appointments (one SQL pass over "
        f"every doctor's appointments), {r.booked_rows:,} bench bookings stored "
        f"(= the 201s), {r.counter_mismatches} of the sampled patients' counters differ "
        "from a recount.",
        "",
        *METHOD,
    ]
    return "\n".join(lines) + "\n"


METHOD = [
    "How it is measured:",
    "",
    "- Each latency row alternates the operation with its baseline, request by request, after"
    " a warm-up, so that the machine's noise falls on both; ×p50 and ×p99 are the operation"
    " over its baseline. In-process rows call clinicbot's own functions (`doctor_slots`,"
    " `list_patients`, `clinic_stats`) on a read-only connection inside a read transaction, as"
    " `Database.read` does; the baseline is `SELECT 1` the same way. HTTP rows go through the"
    " real server (`python -m clinicbot serve`) with one keep-alive client; the baseline is"
    " `GET /api/v1/health` on the same server.",
    "- Inputs are drawn from a fixed seed: doctor-days in the next three weeks with a service"
    " the doctor offers; search fragments cut from real patients' names (3–6 letters) and"
    " phones (4–6 digits), and the first one or two letters of a name; 50 results a page.",
    "- Bookings: concurrent clients (`httpx.AsyncClient`, one keep-alive connection each) book"
    " distinct free 10-minute slots (days after the generated data, in random order; 70% known"
    " patients, their phone typed in various forms, 30% new ones); bookings/s counts 201s over"
    " the wall time, beside `GET /api/v1/health` per second from the same clients. Then one SQL"
    " query looks for any two held appointments of a doctor that overlap.",
    "- Appointments of the generated history have no audit-trail rows (`appointment_events`);"
    " nothing measured reads them.",
]


def write_section(path: Path, name: str, body: str) -> None:
    """Replace this bench's section of ``path`` (or add it), leaving the rest alone."""
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else FILE_HEADER
    head, found, rest = text.partition(start)
    if found and end in rest:
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def publish(path: Path | None, name: str, body: str, log: Callable[[str], None]) -> None:
    """Print a bench's section, and write it into ``path`` (docs/BENCHMARKS.md) unless None."""
    print("\n" + body)
    if path is not None:
        write_section(path, name, body)
        log(f"wrote the '{name}' section of {path}")


# A table of figures (``bench.timing.Figure``) each against its baseline and a target on p50
# and p95, shared by the UI and start-up reports: the header, its rule, and a row's cells.
FIGURE_HEADER = (
    "| what | n | mean | p50 | p95 | max | baseline | base p50 | base p95 | ×p50 | ×p95 "
    "| target | p50 | p95 |"
)
FIGURE_RULE = (
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- "
    "| --- |"
)


def figure_row(what: str, work: Figure, base: Figure, baseline: str, target: float) -> str:
    """One row of that table (more cells may follow its closing bar)."""
    w, b = work, base
    return (
        f"| {what} | {w.count} | {ms(w.mean)} | {ms(w.p50)} | {ms(w.p95)} | {ms(w.max)} "
        f"| {baseline} | {ms(b.p50)} | {ms(b.p95)} | {w.p50 / b.p50:.1f} | {w.p95 / b.p95:.1f} "
        f"| < {target:g} | {met_word(w.p50 < target)} | {met_word(w.p95 < target)} |"
    )
