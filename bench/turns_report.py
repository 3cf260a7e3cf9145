"""The turns bench's section of docs/BENCHMARKS.md, and its entry point: run, print, write."""

from __future__ import annotations

from pathlib import Path

from bench.report import ms, publish, verdict
from bench.timing import Summary
from bench.turns import (
    AT_ONCE,
    BARE,
    BARE_RATED,
    CLINICBOT,
    META_RATE,
    SECTION,
    TARGET_P99_MS,
    Log,
    Options,
    TurnsRun,
    checks_pass,
    run,
)
from bench.webhook import http_stack

DESCRIPTIONS = {
    CLINICBOT: "clinicbot (`clinicbot serve --demo`)",
    BARE: "bare baseline",
    BARE_RATED: f"bare baseline held to {META_RATE} replies/s",
}


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} seconds" if seconds < 120 else f"{seconds / 60:.1f} minutes"


def _p(summary: Summary | None, field: str) -> str:
    return "–" if summary is None else ms(getattr(summary, field))


def _ratio(work: Summary | None, base: Summary | None, field: str) -> str:
    if work is None or base is None:
        return "–"
    return f"{getattr(work, field) / getattr(base, field):.1f}"


def pace_lines(run: TurnsRun) -> list[str]:
    lines = []
    for plan in run.scale.plans:
        pace = plan.pace
        if pace.think == (0.0, 0.0) and pace.spread == 0:
            text = "every patient's first message at the same moment, and each next one the"
            text += " moment the previous turn ends"
        else:
            text = (
                f"first messages spread over {pace.spread:g} s, then a pause of "
                f"{pace.think[0]:g}–{pace.think[1]:g} s (uniform) after each turn, as people"
                " read and tap"
            )
        servers = ", ".join(DESCRIPTIONS[s] for s in plan.servers)
        lines.append(f"  - **{pace.name}**: {text}; measured on {servers}.")
    return lines


def main_table(run: TurnsRun) -> list[str]:
    lines = [
        "| load | server | turns | answered | turns/s | p50 ms | p99 ms | max ms "
        "| webhook 200 p50 / p99 ms | Graph calls/s | server CPU busy | server CPU a turn "
        "| load generator CPU |",
        "| --- | --- " + "| ---: " * 11 + "|",
    ]
    for s in run.served:
        lines.append(
            f"| {s.pace.name} | {DESCRIPTIONS[s.server]} | {s.turns:,} | {s.answered:,} "
            f"| {s.turns_per_second:.1f} | {_p(s.latency, 'p50')} | {_p(s.latency, 'p99')} "
            f"| {_p(s.latency, 'max')} | {_p(s.ack, 'p50')} / {_p(s.ack, 'p99')} "
            f"| {s.calls_per_second:.1f} | {s.server_cpu / s.seconds:.0%} "
            f"| {ms(s.server_cpu / max(s.answered, 1) * 1000)} ms | {s.bench_cpu / s.seconds:.0%} |"
        )
    return lines


def ratio_table(run: TurnsRun) -> list[str]:
    lines = [
        "| load | clinicbot ÷ bare, p50 | ÷ bare, p99 "
        f"| clinicbot ÷ bare at {META_RATE}/s, p50 | ÷ bare at {META_RATE}/s, p99 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for plan in run.scale.plans:
        cb = run.of(CLINICBOT, plan.pace)
        if cb is None:
            continue
        bare, rated = run.of(BARE, plan.pace), run.of(BARE_RATED, plan.pace)
        b = bare.latency if bare is not None else None
        r = rated.latency if rated is not None else None
        lines.append(
            f"| {plan.pace.name} | {_ratio(cb.latency, b, 'p50')} | {_ratio(cb.latency, b, 'p99')}"
            f" | {_ratio(cb.latency, r, 'p50')} | {_ratio(cb.latency, r, 'p99')} |"
        )
    return lines


def verdicts(run: TurnsRun) -> list[str]:
    lines = []
    for plan in run.scale.plans:
        cb = run.of(CLINICBOT, plan.pace)
        if cb is None or cb.latency is None:
            continue
        lines.append(
            f"- turn p99 < {TARGET_P99_MS:g} ms, {run.scale.patients} patients {plan.pace.name} "
            f"— {verdict(cb.latency.p99 < TARGET_P99_MS)} (p99 {ms(cb.latency.p99)} ms, "
            f"p50 {ms(cb.latency.p50)} ms)"
            + (" — the target as the issue words it" if plan.pace == AT_ONCE else "")
        )
    booked = [s for s in run.served if s.server == CLINICBOT]
    lines.append(
        f"- every patient booked within {run.scale.max_turns} messages, no overlap, every turn "
        f"answered, no reply sent twice — {verdict(run.ok)} ("
        + "; ".join(f"{s.pace.name}: {s.booked} of {s.patients} booked" for s in booked)
        + ")"
    )
    return lines


def why_lines(run: TurnsRun) -> list[str]:
    """What the figures say about where a turn's time goes, in words."""
    cb = run.of(CLINICBOT, AT_ONCE)
    if cb is None or cb.latency is None or not cb.answered:
        return []
    calls = (cb.graph.sends + cb.graph.reads) / cb.answered
    needed = cb.patients / (TARGET_P99_MS / 1000)
    text = (
        f"At once, {cb.patients} patients each answer the moment a turn ends, so a turn waits"
        f" behind everyone else's: a p99 under {TARGET_P99_MS:g} ms needs {cb.patients} turns"
        f" done within {TARGET_P99_MS / 1000:g} s, about {needed:,.0f} turns a second."
        f" clinicbot made {cb.calls_per_second:.1f} Graph API calls a second: its sender holds"
        f" every call to {META_RATE} a second (Meta's default throughput for a number), and"
        f" each turn cost {calls:.1f} calls (the reply, and the read receipt of the patient's"
        f" message). So at most {META_RATE / calls:.0f} turns a second, and each turn waits"
        f" about {cb.patients} ÷ {cb.turns_per_second:.1f} ="
        f" {cb.patients / cb.turns_per_second:.1f} s (Little's law); the measured p50 was"
        f" {ms(cb.latency.p50 / 1000)} s, while the server's CPU was busy only"
        f" {cb.server_cpu / cb.seconds:.0%} of the time: it waited on the limit, not on work."
    )
    rated, bare = run.of(BARE_RATED, AT_ONCE), run.of(BARE, AT_ONCE)
    if rated is not None and rated.latency is not None:
        text += (
            f" The bare baseline held to the same {META_RATE}/s, at one call a turn, waited"
            f" {ms(rated.latency.p50 / 1000)} s at p50: the limit alone costs that much."
        )
    if bare is not None and bare.latency is not None:
        text += (
            f" With no limit at all the bare baseline managed {bare.turns_per_second:.0f}"
            f" turns a second on this machine (p99 {ms(bare.latency.p99 / 1000)} s): at this"
            " load the target is out of reach of any server that answers each turn with a"
            " Graph API call, however little else it does."
        )
    return ["", text, *herd_lines(run)]


def herd_lines(run: TurnsRun) -> list[str]:
    """Why so few patients booked, when the replies say so."""
    cb = run.of(CLINICBOT, AT_ONCE)
    if cb is None or not cb.graph.slot_taken:
        return []
    return [
        "",
        f"Why few patients booked: at once, {cb.graph.slot_taken:,} of clinicbot's"
        f" {cb.graph.sends:,} replies ({cb.graph.slot_taken / cb.graph.sends:.0%}) said the slot"
        " the patient had just chosen was taken. Every patient takes the first option, and"
        " patients choosing at the same time are all offered the same earliest slot: the bot"
        " holds a slot only once it is tapped, so one patient gets it and the others are"
        " offered the nearest free ones, again the same for all. DESIGN.md asks that patients"
        " choosing at the same time not all be offered the same slot.",
    ]


def bookings_lines(run: TurnsRun) -> list[str]:
    lines = []
    for s in run.served:
        g, st = s.graph, s.stored
        refused = ", ".join(f"{n}× {code}" for code, n in sorted(g.refused.items())) or "none"
        answers = sorted(s.webhook_statuses.items())
        statuses = ", ".join(f"{n:,}× {c or 'no answer'}" for c, n in answers)
        text = (
            f"- {s.pace.name}, {DESCRIPTIONS[s.server]}: {s.answered:,} of {s.turns:,} turns"
            f" answered (webhooks: {statuses}), {s.turns_per_patient[0]:.1f} turns a patient on"
            f" average, {s.turns_per_patient[1]} at most; the fake accepted {g.sends:,} messages"
            f" and {g.reads:,} read receipts, refused {refused}; outbox rows sent twice:"
            f" {g.sent_twice}; most messages accepted within one second: {g.peak_per_second}"
            f" ({g.peak_calls_per_second} with read receipts)."
        )
        if st is not None:
            text += (
                f" **{s.booked} of {s.patients} patients booked** (the bot's confirmation"
                f" seen); in the database {st.appointments} confirmed WhatsApp appointments"
                f" for {st.patients_booked} of the bench's patients, {st.overlaps} overlapping"
                f" appointments (every doctor, demo data included), {st.inbound:,} messages"
                f" stored, {st.unprocessed} unprocessed; {g.slot_taken:,} replies said the slot"
                " just chosen had been taken."
            )
        text += "" if checks_pass(s) else " **Check failed.**"
        lines.append(text)
    return lines


def section(run: TurnsRun) -> str:
    m, sc = run.machine, run.scale
    lines = [
        "## WhatsApp turns: webhook in → the last reply at the Graph API",
        "",
        f"Run {run.started} with `{run.command}`, {_duration(run.seconds)} in all.",
        "",
        f"- **Machine**: {m.cpu}, {m.cores} cores, {m.ram_gib:.1f} GiB RAM; {m.system}; "
        f"Python {m.python}; SQLite {m.sqlite}. Shared and noisy (other engineers' tests"
        " ran meanwhile): read the ratios.",
        f"- **Placement**: {run.pinned}.",
        f"- **HTTP server**: {http_stack()}.",
        f'- **Load**: {sc.patients} patients, each booking with the demo clinic: "Hi", then'
        " a tap on the first button or list row of each reply, until the bot confirms a"
        f" booking; a patient gives up after {sc.max_turns} messages. Two paces:",
        *pace_lines(run),
        "",
        "### Targets",
        "",
        *verdicts(run),
        "",
        "### clinicbot against the bare baseline",
        "",
        "Turn latency from just before the signed webhook's first byte to the fake Graph API's"
        " receipt of the turn's last reply, on one clock, in milliseconds; *webhook 200* is the"
        " same start to the webhook's answer. CPU busy: the process's CPU time (all threads)"
        " over the wall time of the load.",
        "",
        *main_table(run),
        "",
        *ratio_table(run),
        *why_lines(run),
        "",
        "### Bookings and correctness",
        "",
        *bookings_lines(run),
        "",
        *METHOD,
        _statuses_line(run),
    ]
    return "\n".join(lines) + "\n"


def _statuses_line(run: TurnsRun) -> str:
    if run.scale.statuses:
        return (
            "- The fake sent each accepted message's status webhooks (sent, delivered, read)"
            " to the server, as Meta does."
        )
    return (
        "- The fake's status webhooks (sent, delivered, read: three a reply) were off: at the"
        " bare baseline's pace the fake, sending them with httpx from one thread, loads the CPU"
        " the load generator runs on and would slow the very measurement. What storing"
        " webhooks costs is the webhook bench's figure."
    )


METHOD = [
    "How it is measured:",
    "",
    "- Each server is a fresh process on CPU 0 with a fresh data directory: clinicbot as"
    " `python -m clinicbot serve --demo --port 0 --webhook-port 0`, the baseline as"
    " `python -m bench.turns_baseline` (an ASGI function on uvicorn: the HMAC check, one"
    " durable autocommitted SQLite insert of the raw body, the 200, then one POST of a fixed"
    " text reply per message; optionally held to 70 replies a second by the same limiter as"
    " clinicbot's sender). Both are pointed at a fresh local fake of Meta's Graph API"
    " (`tests/fakes/whatsapp.py`, real HTTP on loopback) in this process, which checks and"
    " answers each request as Meta does; its own throughput check is lifted so that no server"
    " is refused, and the most messages it accepted within one second is reported instead.",
    "- This process, on CPU 1, plays the patients' side of Meta: each patient has its own"
    " keep-alive connection (raw asyncio streams, reopened when idle for 4 s, before the clock"
    " starts) and posts its next message, Meta-shaped and signed `X-Hub-Signature-256`, when"
    " its previous turn has ended. Posting the patients' webhooks directly rather than through"
    " the fake's retrying delivery keeps the delivery machinery out of the figure and lets the"
    " clock start just before the first byte.",
    "- A clinicbot turn ends at the read receipt of the patient's message: clinicbot writes"
    " it after the turn's replies and sends a patient's rows one at a time in order, so every"
    " reply before it belongs to the turn; its latency runs to the last of those replies,"
    " not to the receipt. A baseline turn ends at its one reply. The"
    " baselines hear exactly the messages clinicbot's patients sent, at the same pace.",
    "- Afterwards one pass over clinicbot's database counts the bench patients' confirmed"
    " WhatsApp appointments, overlapping held appointments of any doctor, and unprocessed"
    " messages; the fake's records give what was accepted twice or refused.",
    "- Targets are reported, never asserted; `tests/test_bench_turns_smoke.py` runs the same"
    " code with a few patients and asserts only that it runs and its checks pass.",
]


def main(options: Options, output: Path | None, log: Log) -> TurnsRun:
    """Run, print the section, and write it into ``output`` unless that is None."""
    result = run(options, log)
    publish(output, SECTION, section(result), log)
    return result
