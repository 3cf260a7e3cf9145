"""The turns bench (``python -m bench --only turns``): end-to-end turn latency, from a signed
webhook in to the last reply of that turn at the Graph API, while 200 patients each book an
appointment on WhatsApp at once, against the real ``clinicbot serve --demo`` and, under the
same load in the same run, the bare baseline of ``bench.turns_baseline``. Then checks that
every turn was answered, every patient booked, no two appointments overlap and no reply went
out twice. Writes the ``turns`` section of docs/BENCHMARKS.md (``bench.turns_report``).

Each server runs as its own process on one CPU; this process (the load generator of
``bench.turns_load`` and the fake Graph API, in threads) on the other. Every run gets a fresh
fake, a fresh data directory and a fresh server.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.checks import overlaps
from bench.report import Machine, machine
from bench.runner import ROOT, pinned, placement
from bench.server import SERVE, ServerProcess, _environment
from bench.timing import Summary, summarize
from bench.turns_baseline import MODE as BASELINE_MODE
from bench.turns_load import GraphSide, Load, Pace, Said, Script, Setup, phone, scripts, talk
from bench.webhook import SECRET, STAFF_TOKEN, _start
from bench.webhook_baseline import PREFIX
from bench.webhook_load import Target, process_cpu_seconds
from clinicbot.conversation.texts import EN
from clinicbot.db import connect

SECTION = "turns"
SLOT_TAKEN = re.compile(re.escape(EN["slot_taken"]).replace(re.escape("{when}"), ".+"), re.S)
Log = Callable[[str], None]

TARGET_P99_MS = 200.0
META_RATE = 70  # messages a second: clinicbot's sender's, a margin under Meta's 80 per number
CLINICBOT, BARE, BARE_RATED = "clinicbot", "bare", f"bare, {META_RATE}/s"
SERVERS = (CLINICBOT, BARE, BARE_RATED)

# Everyone at once, each patient answering the moment a turn ends: what the issue asks for.
AT_ONCE = Pace("at once", think=(0.0, 0.0), spread=0.0)
# People reading and tapping: a pause of 4-12 s after each turn, first messages over 8 s.
PACED = Pace("paced", think=(4.0, 12.0), spread=8.0)


@dataclass(frozen=True)
class Plan:
    """One way of pacing the patients, and the servers measured under it."""

    pace: Pace
    servers: tuple[str, ...] = SERVERS


@dataclass(frozen=True)
class Scale:
    patients: int
    plans: tuple[Plan, ...]
    max_turns: int = 8  # a patient gives up after this many messages (DESIGN.md: booked in 8)
    turn_timeout: float = 120.0  # seconds before a turn counts as unanswered
    # The fake's status webhooks (sent, delivered, read) for each reply. Off by default: at
    # the bare baseline's pace the fake (httpx, one thread) cannot deliver three a reply
    # without loading the CPU the load generator runs on, which would slow the measurement.
    statuses: bool = False


FULL = Scale(200, (Plan(AT_ONCE), Plan(PACED, (CLINICBOT, BARE))))
QUICK = Scale(10, (Plan(AT_ONCE),), turn_timeout=60.0)


@dataclass(frozen=True)
class Options:
    scale: Scale = FULL
    work_dir: Path = ROOT / "bench" / ".work"
    pin: bool = True
    seed: int = 2024
    command: str = "python -m bench --only turns"


@dataclass(frozen=True)
class Graph:
    """What the fake Graph API saw during one run."""

    sends: int  # messages accepted
    reads: int  # read receipts accepted
    refused: dict[int, int]  # Graph error code -> how many requests got it
    sent_twice: int  # outbox rows (by the callback data they carry) accepted more than once
    peak_per_second: int  # most messages accepted within any one second
    peak_calls_per_second: int  # the same, read receipts included
    slot_taken: int  # replies saying the slot the patient chose had just been taken


@dataclass(frozen=True)
class Stored:
    """clinicbot's database after a run."""

    appointments: int  # confirmed, booked over WhatsApp, by the bench's patients
    patients_booked: int  # distinct bench patients holding one
    overlaps: int  # held appointments overlapping an earlier one of the same doctor
    inbound: int  # the bench patients' messages stored
    unprocessed: int
    outcomes: dict[str, int]  # inbound_messages.outcome -> count
    outbox: dict[str, int]  # outbox.status -> count (replies and read receipts)


@dataclass(frozen=True)
class Served:
    """One server under one pace."""

    server: str
    pace: Pace
    patients: int
    turns: int
    answered: int  # turns whose end was seen, with a reply
    webhook_statuses: dict[int, int]
    booked: int  # conversations that ended with the bot's confirmation (clinicbot)
    turns_per_patient: tuple[float, int]  # mean, max
    latency: Summary | None  # webhook sent -> the turn's last reply at the Graph API, ms
    ack: Summary | None  # webhook sent -> its 200 read, ms
    seconds: float
    server_cpu: float  # the server process's CPU seconds meanwhile
    bench_cpu: float  # this process's (the load generator and the fake)
    graph: Graph
    stored: Stored | None = None

    @property
    def turns_per_second(self) -> float:
        return self.answered / self.seconds

    @property
    def calls_per_second(self) -> float:
        return (self.graph.sends + self.graph.reads) / self.seconds


@dataclass
class TurnsRun:
    started: str
    seconds: float
    command: str
    pinned: str
    machine: Machine
    scale: Scale
    served: list[Served] = field(default_factory=list)

    def of(self, server: str, pace: Pace) -> Served | None:
        return next((s for s in self.served if s.server == server and s.pace == pace), None)

    @property
    def ok(self) -> bool:
        """Every turn answered, every clinicbot patient booked once, nothing doubled."""
        return all(checks_pass(s) for s in self.served)


def checks_pass(served: Served) -> bool:
    complete = served.answered == served.turns and served.webhook_statuses == {200: served.turns}
    clean = served.graph.sent_twice == 0 and not served.graph.refused
    stored = served.stored
    if served.server != CLINICBOT:
        return complete and clean
    return (
        complete
        and clean
        and stored is not None
        and served.booked == served.patients
        and stored.appointments == stored.patients_booked == served.patients
        and stored.overlaps == 0
        and stored.unprocessed == 0
    )


# -- one run --------------------------------------------------------------------------------


def _start_server(
    server: str, fake: GraphSide, run_dir: Path, cpus: set[int] | None
) -> tuple[ServerProcess, Target]:
    env = {**_environment(STAFF_TOKEN), **fake.env()}
    if server == CLINICBOT:
        data = [*SERVE, "--data-dir", str(run_dir), "--port", "0", "--webhook-port", "0"]
        process, urls = _start([*data, "--demo"], env, cpus, ("clinicbot webhook:",))
        return process, Target(server, urls["clinicbot webhook:"])
    argv = [sys.executable, "-m", "bench.turns_baseline", "--db", str(run_dir / "baseline.db")]
    if server == BARE_RATED:
        argv += ["--rate", str(META_RATE)]
    prefix = f"{PREFIX} {BASELINE_MODE}:"
    process, urls = _start(argv, env, cpus, (prefix,))
    return process, Target(server, urls[prefix])


def peak_per_second(times: Sequence[float]) -> int:
    """The most of ``times`` that fall within any one second."""
    ordered, first, best = sorted(times), 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def graph_seen(fake: GraphSide) -> Graph:
    """Read once the load is over: every turn has ended, so nothing is still arriving."""
    accepted, reads, read_times = list(fake.accepted), len(fake.reads), list(fake.read_times)
    refused = Counter(c.code for c in fake.requests if c.code is not None)
    rows = Counter(s.callback.split(":")[1] for s in accepted if s.callback)
    sent_at = [s.at for s in accepted]
    return Graph(
        sends=len(accepted),
        reads=reads,
        refused=dict(refused),
        sent_twice=sum(1 for n in rows.values() if n > 1),
        peak_per_second=peak_per_second(sent_at),
        peak_calls_per_second=peak_per_second(sent_at + read_times),
        slot_taken=sum(1 for s in accepted if SLOT_TAKEN.fullmatch(s.text)),
    )


def stored_by(db: Path, patients: int) -> Stored:
    phones = ["+" + phone(i) for i in range(patients)]
    marks = ", ".join("?" * len(phones))
    conn = connect(db, read_only=True)
    try:
        booked, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT a.patient_id) FROM appointments a"  # noqa: S608
            f" JOIN patients p ON p.id = a.patient_id WHERE p.phone IN ({marks})"
            " AND a.source = 'whatsapp' AND a.status = 'confirmed'",
            phones,
        ).fetchone()
        senders = [p.lstrip("+") for p in phones]
        outcomes = dict(
            conn.execute(
                "SELECT coalesce(outcome, 'unprocessed'), count(*) FROM inbound_messages"  # noqa: S608
                f" WHERE sender IN ({marks}) GROUP BY 1",
                senders,
            ).fetchall()
        )
        outbox = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status"))
        return Stored(
            appointments=booked,
            patients_booked=distinct,
            overlaps=overlaps(conn),
            inbound=sum(outcomes.values()),
            unprocessed=outcomes.get("unprocessed", 0),
            outcomes=outcomes,
            outbox=outbox,
        )
    finally:
        conn.close()


def _summary(seconds: list[float]) -> Summary | None:
    return summarize([round(s * 1e9) for s in seconds]) if seconds else None


def served_from(
    server: str, pace: Pace, load: Load, cpu: float, graph: Graph, stored: Stored | None
) -> Served:
    turns = [t for chat in load.chats for t in chat.turns]
    answered = [t for t in turns if t.answered]
    counts = [len(chat.turns) for chat in load.chats]
    return Served(
        server=server,
        pace=pace,
        patients=len(load.chats),
        turns=len(turns),
        answered=len(answered),
        webhook_statuses=dict(Counter(t.status for t in turns)),
        booked=sum(chat.booked for chat in load.chats),
        turns_per_patient=(sum(counts) / max(len(counts), 1), max(counts, default=0)),
        latency=_summary([t.latency for t in answered]),
        ack=_summary([t.ack for t in turns if t.status == 200]),
        seconds=load.seconds,
        server_cpu=cpu,
        bench_cpu=load.cpu_seconds,
        graph=graph,
        stored=stored,
    )


def measure(
    server: str,
    pace: Pace,
    replay: dict[int, list[Said]] | None,
    run_dir: Path,
    options: Options,
    cpus: set[int] | None,
) -> tuple[Served, Load]:
    """One server, fresh, under one pace: its figures and what each patient saw."""
    run_dir.mkdir(parents=True)
    scale = options.scale
    statuses = ("sent", "delivered", "read") if scale.statuses else ()
    with GraphSide(app_secret=SECRET, number_mps=10**6, statuses=statuses) as fake:
        process, target = _start_server(server, fake, run_dir, cpus)
        try:
            fake.webhook_url = target.url  # the status webhooks of what it accepts
            cpu = process_cpu_seconds(process.process.pid)
            before = cpu()
            setup = Setup(
                target=target,
                secret=SECRET.encode(),
                fake=fake,
                script=Script(replay),
                pace=pace,
                ends_at_read=server == CLINICBOT,
                max_turns=scale.max_turns,
                turn_timeout=scale.turn_timeout,
                seed=options.seed,
            )
            load = talk(setup, scale.patients)
            used = cpu() - before
            graph = graph_seen(fake)
        finally:
            process.stop()
    stored = stored_by(run_dir / "clinicbot.db", scale.patients) if server == CLINICBOT else None
    return served_from(server, pace, load, used, graph, stored), load


def run(options: Options, log: Log) -> TurnsRun:
    """The whole turns bench; returns what the report needs."""
    started_at, started = datetime.now(UTC), time.perf_counter()
    where = placement(options.pin)
    work = options.work_dir / "turns"
    shutil.rmtree(work, ignore_errors=True)
    result = TurnsRun(
        started=started_at.strftime("%Y-%m-%d %H:%M UTC"),
        seconds=0.0,
        command=options.command,
        pinned=where.describe(),
        machine=machine(),
        scale=options.scale,
    )
    with pinned(where.bench):
        for plan in options.scale.plans:
            replay: dict[int, list[Said]] | None = None
            for server in plan.servers:
                log(f"turns: {options.scale.patients} patients, {plan.pace.name}, {server}")
                run_dir = work / re.sub(r"\W+", "-", f"{plan.pace.name} {server}")
                served, load = measure(server, plan.pace, replay, run_dir, options, where.server)
                result.served.append(served)
                if server == CLINICBOT:
                    replay = scripts(load.chats)  # the baselines hear the same messages
                log(f"turns:   {_brief(served)}")
    result.seconds = time.perf_counter() - started
    return result


def _brief(s: Served) -> str:
    p = s.latency
    figures = f"p50 {p.p50:.1f} ms, p99 {p.p99:.1f} ms" if p is not None else "no answers"
    return f"{s.answered}/{s.turns} turns answered, {s.turns_per_second:.1f} turns/s, {figures}"
