"""The webhook bench (``python -m bench --only webhook``): how many signed WhatsApp webhooks
clinicbot's real listener acknowledges a second, and how fast, at 1, 16 and 64 concurrent
senders, beside a bare baseline (an ASGI function doing only the HMAC check and one durable
SQLite insert) measured in the same run; then an SQL check that every acknowledged message
is stored exactly once. Writes the ``webhook`` section of docs/BENCHMARKS.md.

The servers (``python -m clinicbot serve`` and the baselines of ``bench.webhook_baseline``)
run on one CPU, this process (the load generator of ``bench.webhook_load``) on the other.
For each number of senders the servers take turns, a round each, several rounds, so that the
machine's noise falls on all of them alike.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from bench.api import staff_client
from bench.report import Machine, machine, ms, publish, verdict
from bench.runner import ROOT, pinned, placement
from bench.server import SERVE, ServerProcess, _drain, _environment, _pin
from bench.timing import Summary, summarize
from bench.webhook_baseline import PREFIX, SECRET_ENV
from bench.webhook_load import (
    PHONE_NUMBER_ID,
    TEXTS,
    Outcome,
    Payloads,
    Request,
    Target,
    process_cpu_seconds,
    send_all,
)
from clinicbot.db import connect

SECTION = "webhook"
SECRET = "bench-app-secret-not-a-secret"
STAFF_TOKEN = "bench-staff-token-not-a-secret"
START_TIMEOUT = 120.0
REDELIVERY_SENDERS = 4
Log = Callable[[str], None]

TARGET_RATE = 1000.0  # acknowledged messages a second
TARGET_RATIO = 0.5  # of the bare baseline's rate

CLINICBOT = "clinicbot"
BASELINE = "commit"  # the bare baseline the ratio is taken against
GROUP, FLOOR, CEILING = "group", "asgi", "canned"
SERVERS = (CLINICBOT, BASELINE, GROUP, FLOOR, CEILING)
DESCRIPTIONS = {
    CLINICBOT: "clinicbot's webhook listener (`python -m clinicbot serve`)",
    BASELINE: "**bare baseline**: ASGI function on uvicorn, HMAC check, one durable commit"
    " a request",
    GROUP: "the bare baseline with a group commit (one writer thread)",
    FLOOR: "ASGI function on uvicorn that reads the body and answers 200 (no check, no storage)",
    CEILING: "asyncio protocol answering a canned 200 (the load generator's ceiling)",
}


@dataclass(frozen=True)
class Scale:
    """How much load: ``requests`` per server and number of senders, in ``rounds`` turns,
    each turn after ``warmup`` untimed requests per sender on its fresh connections."""

    requests: int
    rounds: int
    warmup: int
    redeliveries: int  # acknowledged requests sent again at the end (not timed)
    disk_commits: int  # durable single-row commits with no HTTP, for the disk's limit


FULL = Scale(requests=9000, rounds=3, warmup=3, redeliveries=500, disk_commits=3000)
QUICK = Scale(requests=150, rounds=2, warmup=1, redeliveries=20, disk_commits=50)


@dataclass(frozen=True)
class Options:
    senders: tuple[int, ...] = (1, 16, 64)
    scale: Scale = FULL
    work_dir: Path = ROOT / "bench" / ".work"
    pin: bool = True
    command: str = "python -m bench --only webhook"


@dataclass(frozen=True)
class Rate:
    """One server at one number of senders, its rounds together."""

    server: str
    senders: int
    sent: int
    acked: int  # answered 200
    statuses: dict[int, int]  # 0: connection lost before an answer
    seconds: float
    latency: Summary
    cpu_seconds: float  # the server process's CPU time meanwhile (0 when unknown)

    @property
    def per_second(self) -> float:
        return self.acked / self.seconds

    @property
    def cpu_us_per_ack(self) -> float:
        return self.cpu_seconds / max(self.acked, 1) * 1e6


@dataclass(frozen=True)
class Stored:
    """What clinicbot's database holds after the run, against what it acknowledged."""

    acked: int  # distinct wamids answered 200, warm-ups and redeliveries included
    stored: int  # of those, rows in inbound_messages
    doubled: int  # wamids with more than one row
    unacknowledged: int  # rows whose wamid never got a 200 (a lost connection, say)
    wrong_clinic: int  # rows not routed to the bench clinic
    wrong_text: int  # rows whose text is none of the texts sent
    redelivered: int  # acknowledged requests sent again
    redelivery_acked: int
    rows_before_redelivery: int
    rows_after_redelivery: int

    @property
    def missing(self) -> int:
        return self.acked - self.stored

    @property
    def ok(self) -> bool:
        return (
            self.missing == 0
            and self.doubled == 0
            and self.wrong_clinic == 0
            and self.wrong_text == 0
            and self.redelivery_acked == self.redelivered
            and self.rows_after_redelivery == self.rows_before_redelivery
        )


@dataclass
class WebhookRun:
    started: str
    seconds: float
    command: str
    pinned: str
    machine: Machine
    scale: Scale
    senders: tuple[int, ...]
    rates: list[Rate] = field(default_factory=list)
    stored: Stored | None = None
    baseline_rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # acked, stored
    disk_commits_per_second: float = 0.0

    def rate(self, server: str, senders: int) -> Rate:
        return next(r for r in self.rates if r.server == server and r.senders == senders)

    def ratio(self, senders: int) -> float:
        return self.rate(CLINICBOT, senders).per_second / self.rate(BASELINE, senders).per_second


# -- the servers ----------------------------------------------------------------------------


def _start(
    argv: Sequence[str], env: dict[str, str], cpus: set[int] | None, prefixes: Sequence[str]
) -> tuple[ServerProcess, dict[str, str]]:
    """Start a server; return once it has printed a URL after each of ``prefixes``."""
    process = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=_pin(cpus),
    )
    output: list[str] = []
    urls: dict[str, str] = {}
    assert process.stdout is not None
    watchdog = threading.Timer(START_TIMEOUT, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            output.append(line)
            for prefix in prefixes:
                if line.startswith(prefix):
                    urls[prefix] = line.split()[-1]
            if len(urls) == len(prefixes):
                break
    finally:
        watchdog.cancel()
    if len(urls) < len(prefixes):
        process.kill()
        process.wait()
        raise RuntimeError(f"{argv} did not start:\n" + "".join(output))
    threading.Thread(target=_drain, args=(process, output), daemon=True).start()
    # ServerProcess for its stop(); its staff_url is the first URL printed (a baseline's own).
    return ServerProcess(process, urls[prefixes[0]], STAFF_TOKEN, output), urls


def start_clinicbot(data_dir: Path, cpus: set[int] | None) -> tuple[ServerProcess, Target]:
    """clinicbot with the bench's app secret, and two clinics (created through the staff API):
    one owns the number the webhooks are sent to, so each must be routed by that number."""
    env = _environment(STAFF_TOKEN)
    env[SECRET_ENV] = SECRET
    argv = [*SERVE, "--data-dir", str(data_dir), "--port", "0", "--webhook-port", "0"]
    server, urls = _start(argv, env, cpus, ("clinicbot staff:", "clinicbot webhook:"))
    try:
        with staff_client(server) as client:
            for clinic in (
                {"name": "Webhook Bench Clinic", "whatsapp_phone_number_id": PHONE_NUMBER_ID},
                {"name": "Another Clinic"},
            ):
                answer = client.post("/api/v1/clinics", json=clinic)
                if answer.status_code != 201:
                    raise RuntimeError(f"creating {clinic}: {answer.status_code} {answer.text}")
    except BaseException:
        server.stop()
        raise
    return server, Target(CLINICBOT, urls["clinicbot webhook:"])


def start_baseline(mode: str, db: Path, cpus: set[int] | None) -> tuple[ServerProcess, Target]:
    env = _environment(STAFF_TOKEN)
    env[SECRET_ENV] = SECRET
    argv = [SERVE[0], "-m", "bench.webhook_baseline", mode, "--db", str(db)]
    prefix = f"{PREFIX} {mode}:"
    server, urls = _start(argv, env, cpus, (prefix,))
    return server, Target(mode, urls[prefix])


# -- measuring ------------------------------------------------------------------------------


def disk_commits_per_second(path: Path, count: int) -> float:
    """Durable single-row commits a second, no HTTP: the disk's limit for one commit each."""
    conn = connect(path)
    try:
        conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        body = b"x" * 700
        started = time.perf_counter()
        for i in range(count):
            conn.execute("INSERT INTO t (k, body) VALUES (?, ?)", (i, body))
        return count / (time.perf_counter() - started)
    finally:
        conn.close()


@dataclass
class _Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def _rate(server: str, senders: int, tally: _Tally) -> Rate:
    statuses = Counter(o.status for o in tally.outcomes)
    return Rate(
        server=server,
        senders=senders,
        sent=len(tally.outcomes),
        acked=statuses.get(200, 0),
        statuses=dict(statuses),
        seconds=tally.seconds,
        latency=summarize([o.ns for o in tally.outcomes]),
        cpu_seconds=tally.cpu_seconds,
    )


def _chunks(total: int, rounds: int) -> list[int]:
    return [total // rounds + (i < total % rounds) for i in range(rounds)]


class _Load:
    """Every request each server was sent, and which of them it acknowledged."""

    def __init__(
        self, targets: dict[str, Target], pids: dict[str, int], run: str, keep: int
    ) -> None:
        self.targets, self.keep = targets, keep
        self.cpu = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
        self.payloads = {name: Payloads(t, SECRET.encode(), run) for name, t in targets.items()}
        self.acked: dict[str, set[str]] = {name: set() for name in targets}
        self.first: dict[str, list[Request]] = {name: [] for name in targets}  # to redeliver

    def level(self, senders: int, scale: Scale) -> list[Rate]:
        tallies = {name: _Tally() for name in self.targets}
        names = list(self.targets)
        for turn, count in enumerate(_chunks(scale.requests, scale.rounds)):
            order = names[turn % len(names) :] + names[: turn % len(names)]
            for name in order:
                made = self.payloads[name]
                warm, requests = made.take(senders * scale.warmup), made.take(count)
                sent = send_all(self.targets[name], warm, requests, senders, self.cpu[name])
                self._remember(name, [*warm, *requests], [*sent.warmup, *sent.timed])
                tallies[name].outcomes += sent.timed
                tallies[name].seconds += sent.seconds
                tallies[name].cpu_seconds += sent.cpu_seconds
        return [_rate(name, senders, tallies[name]) for name in names]

    def _remember(self, name: str, requests: list[Request], outcomes: list[Outcome]) -> None:
        acked = {o.wamid for o in outcomes if o.status == 200}
        self.acked[name] |= acked
        room = self.keep - len(self.first[name])
        if room > 0:
            self.first[name] += [r for r in requests if r.wamid in acked][:room]

    def redeliver(self, name: str, count: int) -> tuple[int, int]:
        """Send ``count`` acknowledged requests again; (sent, acknowledged)."""
        again = self.first[name][:count]
        sent = send_all(self.targets[name], [], again, REDELIVERY_SENDERS)
        return len(again), sum(o.status == 200 for o in sent.timed)


# -- checking -------------------------------------------------------------------------------


def _rows(db: Path) -> int:
    conn = connect(db, read_only=True)
    try:
        return int(conn.execute("SELECT count(*) FROM inbound_messages").fetchone()[0])
    finally:
        conn.close()


def check_stored(
    db: Path, acked: set[str], redelivery: tuple[int, int], rows_before: int
) -> Stored:
    """Every acknowledged wamid in inbound_messages once, in the bench clinic, text intact."""
    conn = connect(db, read_only=True)
    try:
        (clinic_id,) = conn.execute(
            "SELECT id FROM clinics WHERE whatsapp_phone_number_id = ?", [PHONE_NUMBER_ID]
        ).fetchone()
        counts = {
            row[0]: row[1]
            for row in conn.execute(
                "SELECT wa_message_id, count(*) FROM inbound_messages GROUP BY wa_message_id"
            )
        }
        wrong_clinic = conn.execute(
            "SELECT count(*) FROM inbound_messages WHERE clinic_id IS NOT ?", [clinic_id]
        ).fetchone()[0]
        texts = {
            row[0]: row[1]
            for row in conn.execute(
                "SELECT json_extract(body, '$.text.body'), count(*) FROM inbound_messages"
                " GROUP BY 1"
            )
        }
        rows = sum(counts.values())
    finally:
        conn.close()
    return Stored(
        acked=len(acked),
        stored=sum(1 for wamid in acked if wamid in counts),
        doubled=sum(1 for n in counts.values() if n > 1),
        unacknowledged=sum(1 for wamid in counts if wamid not in acked),
        wrong_clinic=wrong_clinic,
        wrong_text=sum(n for text, n in texts.items() if text not in TEXTS),
        redelivered=redelivery[0],
        redelivery_acked=redelivery[1],
        rows_before_redelivery=rows_before,
        rows_after_redelivery=rows,
    )


def _baseline_rows(db: Path) -> int:
    conn = connect(db, read_only=True)
    try:
        return int(conn.execute("SELECT count(*) FROM received").fetchone()[0])
    finally:
        conn.close()


# -- the run --------------------------------------------------------------------------------


def run(options: Options, log: Log) -> WebhookRun:
    """The whole webhook bench; returns what the report needs."""
    started_at, started = datetime.now(UTC), time.perf_counter()
    where = placement(options.pin)
    run_dir = options.work_dir / "webhook"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    result = WebhookRun(
        started=started_at.strftime("%Y-%m-%d %H:%M UTC"),
        seconds=0.0,
        command=options.command,
        pinned=where.describe(),
        machine=machine(),
        scale=options.scale,
        senders=options.senders,
    )
    servers: dict[str, ServerProcess] = {}
    targets: dict[str, Target] = {}
    try:
        log("webhook: starting clinicbot and the baselines")
        servers[CLINICBOT], targets[CLINICBOT] = start_clinicbot(
            run_dir / "clinicbot", where.server
        )
        for mode in SERVERS[1:]:
            db = run_dir / f"baseline-{mode}.db"
            servers[mode], targets[mode] = start_baseline(mode, db, where.server)
        pids = {name: server.process.pid for name, server in servers.items()}
        load = _Load(targets, pids, started_at.strftime("%H%M%S"), options.scale.redeliveries)
        with pinned(where.bench):
            result.disk_commits_per_second = disk_commits_per_second(
                run_dir / "disk.db", options.scale.disk_commits
            )
            for senders in options.senders:
                log(f"webhook: {senders} concurrent senders")
                result.rates += load.level(senders, options.scale)
                cb = result.rate(CLINICBOT, senders)
                log(
                    f"webhook:   clinicbot {cb.per_second:,.0f}/s, "
                    f"baseline {result.rate(BASELINE, senders).per_second:,.0f}/s"
                )
            rows_before = _rows(run_dir / "clinicbot" / "clinicbot.db")
            redelivery = load.redeliver(CLINICBOT, options.scale.redeliveries)
    finally:
        for server in servers.values():
            server.stop()
    log("webhook: checking what clinicbot stored")
    result.stored = check_stored(
        run_dir / "clinicbot" / "clinicbot.db", load.acked[CLINICBOT], redelivery, rows_before
    )
    for mode in (BASELINE, GROUP):
        result.baseline_rows[mode] = (
            len(load.acked[mode]),
            _baseline_rows(run_dir / f"baseline-{mode}.db"),
        )
    result.seconds = time.perf_counter() - started
    return result


# -- the report -----------------------------------------------------------------------------


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def _senders(n: int) -> str:
    return f"{n} sender" if n == 1 else f"{n} senders"


def main_table(run: WebhookRun) -> list[str]:
    lines = [
        "| senders | clinicbot acks/s | p50 ms | p99 ms | baseline acks/s | p50 ms | p99 ms "
        f"| clinicbot ÷ baseline | ≥ {TARGET_RATE:,.0f}/s | ≥ {TARGET_RATIO:g}× baseline |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for n in run.senders:
        cb, base = run.rate(CLINICBOT, n), run.rate(BASELINE, n)
        lines.append(
            f"| {n} | {cb.per_second:,.0f} | {ms(cb.latency.p50)} | {ms(cb.latency.p99)} "
            f"| {base.per_second:,.0f} | {ms(base.latency.p50)} | {ms(base.latency.p99)} "
            f"| {run.ratio(n):.2f} | {_met(cb.per_second >= TARGET_RATE)} "
            f"| {_met(run.ratio(n) >= TARGET_RATIO)} |"
        )
    return lines


def servers_table(run: WebhookRun) -> list[str]:
    lines = [
        "| server | senders | acks/s | p50 ms | p99 ms | server CPU per ack | server CPU busy |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for server in SERVERS:
        for n in run.senders:
            r = run.rate(server, n)
            cpu = (
                f"{r.cpu_us_per_ack:.0f} µs | {r.cpu_seconds / r.seconds:.0%}"
                if r.cpu_seconds
                else "– | –"
            )
            lines.append(
                f"| {DESCRIPTIONS[server] if n == run.senders[0] else '〃'} | {n} "
                f"| {r.per_second:,.0f} | {ms(r.latency.p50)} | {ms(r.latency.p99)} | {cpu} |"
            )
    return lines


def verdicts(run: WebhookRun) -> list[str]:
    rates = [run.rate(CLINICBOT, n) for n in run.senders]
    ratios = [run.ratio(n) for n in run.senders]
    stored_ok = run.stored is not None and run.stored.ok
    return [
        f"- ≥ {TARGET_RATE:,.0f} acknowledged messages/s — "
        f"{verdict(all(r.per_second >= TARGET_RATE for r in rates))} ("
        + ", ".join(f"{r.per_second:,.0f}/s at {r.senders}" for r in rates)
        + ")",
        f"- ≥ {TARGET_RATIO:g} × the bare baseline — "
        f"{verdict(all(x >= TARGET_RATIO for x in ratios))} ("
        + ", ".join(f"{x:.2f} at {n}" for x, n in zip(ratios, run.senders, strict=True))
        + ")",
        f"- every acknowledged message stored exactly once — {verdict(stored_ok)}",
    ]


def _others(rates: list[Rate]) -> str:
    bad = Counter[int]()
    for r in rates:
        bad.update({s: n for s, n in r.statuses.items() if s != 200})
    if not bad:
        return "every request was answered 200"
    return "answers other than 200: " + ", ".join(
        f"{n}× {'lost connection' if s == 0 else s}" for s, n in sorted(bad.items())
    )


def stored_lines(run: WebhookRun) -> list[str]:
    s = run.stored
    if s is None:
        return []
    lines = [
        f"After the run, one SQL pass over clinicbot's `inbound_messages`: {s.acked:,} wamids "
        f"acknowledged (timed and warm-up requests), {s.stored:,} of them stored,"
        f" **{s.missing} missing, {s.doubled} stored more than once**; {s.unacknowledged} rows "
        f"without a 200; {s.wrong_clinic} rows routed to a clinic other than the one owning the "
        f"number (of two); {s.wrong_text} rows whose text differs from what was sent. Then "
        f"{s.redelivered} acknowledged webhooks were sent again, as Meta redelivers: "
        f"{s.redelivery_acked} acknowledged, rows {s.rows_before_redelivery:,} before and "
        f"{s.rows_after_redelivery:,} after. Under load clinicbot: {_others(_of(run, CLINICBOT))}"
        "; the bare baseline: "
        f"{_others(_of(run, BASELINE))}.",
    ]
    for mode, (acked, rows) in run.baseline_rows.items():
        lines[0] += f" The `{mode}` baseline stored {rows:,} rows for {acked:,} acknowledged."
    return lines


def http_stack() -> str:
    """The HTTP server every process of the run uses, as uvicorn picks its parser."""
    parser = (
        "httptools"
        if importlib.util.find_spec("httptools")
        else "h11 (pure Python; httptools is not installed)"
    )
    return f"uvicorn {uvicorn.__version__}, HTTP parser {parser}, asyncio event loop"


def where_time_goes(run: WebhookRun) -> list[str]:
    """clinicbot's server CPU per acknowledgement beside the floors, at the most senders."""
    n = max(run.senders)
    cb, floor, group = (run.rate(name, n) for name in (CLINICBOT, FLOOR, GROUP))
    if not (cb.cpu_seconds and floor.cpu_seconds and group.cpu_seconds):
        return []
    c, f, g = cb.cpu_us_per_ack, floor.cpu_us_per_ack, group.cpu_us_per_ack
    return [
        "",
        f"Where clinicbot's time goes, at {n} senders (its process busy"
        f" {cb.cpu_seconds / cb.seconds:.0%} of the wall time): {c:.0f} µs of server CPU per"
        f" acknowledgement, of which uvicorn alone (reading the body and"
        f" answering, the `asgi` row) takes {f:.0f} µs ({f / c:.0%}); the HMAC check and a"
        f" group-committed insert on top of that cost the `group` baseline {g - f:.0f} µs more,"
        f" and clinicbot spends {c - g:.0f} µs beyond that on what only it does: Litestar's"
        " request handling, parsing every message, routing it to its clinic, a savepoint per"
        " write, and above all answering it: the bot's worker runs in the same process and"
        " takes each stored message's turn (the conversation, its replies into the outbox)"
        " while the acknowledgements go on, sharing the CPU and the one writer thread with"
        " them. The baselines only store what they acknowledge.",
    ]


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} seconds" if seconds < 120 else f"{seconds / 60:.1f} minutes"


def _of(run: WebhookRun, server: str) -> list[Rate]:
    return [r for r in run.rates if r.server == server]


def section(run: WebhookRun) -> str:
    m, sc = run.machine, run.scale
    lines = [
        "## WhatsApp webhook: acknowledgements per second",
        "",
        f"Run {run.started} with `{run.command}`, {_duration(run.seconds)} in all.",
        "",
        f"- **Machine**: {m.cpu}, {m.cores} cores, {m.ram_gib:.1f} GiB RAM; {m.system}; "
        f"Python {m.python}; SQLite {m.sqlite}. Shared and noisy: read the ratios.",
        f"- **Placement**: {run.pinned}.",
        f"- **HTTP server**: {http_stack()}.",
        f"- **Load**: {sc.requests:,} timed webhooks per server and number of senders, in "
        f"{sc.rounds} rounds that take turns between the servers.",
        "",
        "### Targets",
        "",
        *verdicts(run),
        "",
        "### clinicbot against the bare baseline",
        "",
        "Acknowledgements (200s) per second of wall time; latency from the first byte sent to "
        "the last byte of the answer, in milliseconds.",
        "",
        *main_table(run),
        "",
        "### Every server of the run",
        "",
        "Each server is one process on one CPU; *server CPU per ack* is the CPU time it used"
        " (user + system, all threads, from `/proc`) over the acknowledgements, *busy* that time"
        " over the wall time. For scale: durable single-row SQLite commits with no HTTP (the"
        f" disk's limit for one commit each) ran at {run.disk_commits_per_second:,.0f}/s.",
        "",
        *servers_table(run),
        *where_time_goes(run),
        "",
        "### Nothing lost, nothing doubled",
        "",
        *stored_lines(run),
        "",
        *METHOD,
    ]
    return "\n".join(lines) + "\n"


METHOD = [
    "How it is measured:",
    "",
    "- clinicbot runs as `python -m clinicbot serve --data-dir <fresh dir> --port 0"
    " --webhook-port 0` with `CLINICBOT_WHATSAPP_APP_SECRET` set; two clinics are created"
    " through the staff API, one owning the WhatsApp number the webhooks are addressed to, so"
    " each message must be routed by that number. The baselines"
    " (`python -m bench.webhook_baseline MODE`) listen on a socket made by clinicbot's own"
    " `bind` and run uvicorn configured as clinicbot's listeners are; the bare baseline stores"
    " the raw body under its HMAC with one autocommitted `INSERT` (WAL, `synchronous=FULL`)"
    " before answering. Every server is a process of its own on CPU 0 of the placement above.",
    "- Each webhook is Meta's text-message shape with its own wamid (English, Devanagari and"
    " Hinglish texts from 500 patients), compact JSON with non-ASCII escaped as Meta sends it,"
    " signed `X-Hub-Signature-256: sha256=<HMAC-SHA256 hex>`. All are made and signed before"
    " the clock starts.",
    "- The load generator (`bench.webhook_load`) gives each sender its own keep-alive"
    " connection on raw asyncio streams and one request in flight; the senders take the next"
    " webhook from a shared list. Each round opens fresh connections, sends a few untimed"
    " warm-up webhooks on each, then times the round's webhooks from the first sent to the"
    " last answered. acks/s is 200s over the summed wall time of the rounds. The canned-answer"
    " row shows how fast the generator itself can go.",
    "- Targets are reported, never asserted; `tests/test_bench_webhook_smoke.py` runs the same"
    " code at a tiny scale and asserts only that every acknowledged webhook is stored once.",
]


def main(options: Options, output: Path | None, log: Log) -> WebhookRun:
    """Run, print the section, and write it into ``output`` unless that is None."""
    result = run(options, log)
    publish(output, SECTION, section(result), log)
    return result
