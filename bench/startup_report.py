"""The start-up bench's section of docs/BENCHMARKS.md, and its entry point: run, print, write."""

from __future__ import annotations

from pathlib import Path

from bench.report import FIGURE_HEADER, FIGURE_RULE, figure_row, ms, publish, verdict
from bench.startup import (
    BASELINES,
    IDLE_TARGET_MB,
    SECTION,
    TARGETS_MS,
    BundleSize,
    Footprint,
    Log,
    Memory,
    Options,
    Start,
    StartupRun,
    run,
)

COMMANDS = {
    "from source": "`python -m clinicbot serve`",
    "frozen": "`dist/clinicbot/clinicbot serve`",
}


def _mb(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _idle(result: StartupRun) -> list[Footprint]:
    """The idle servers' figures after their time alone (what the target is about)."""
    return [f for f in result.footprints if f.what.startswith("`serve") and "idle" in f.when]


def verdicts(result: StartupRun) -> list[str]:
    lines = []
    for s in result.starts:
        target = TARGETS_MS[s.what]
        lines.append(
            f"- cold start to the first API answer, {s.what} < {target / 1000:g} s — "
            f"p50 {verdict(s.met('p50'))} ({ms(s.work.p50)} ms); "
            f"p95 {verdict(s.met('p95'))} ({ms(s.work.p95)} ms)"
        )
    idle = _idle(result)
    if idle:
        figures = "; ".join(f"{f.what.split(', ')[-1]} RSS {f.memory.rss:.1f} MB" for f in idle)
        met = all(f.memory.rss < IDLE_TARGET_MB for f in idle)
        lines.append(f"- idle server memory < {IDLE_TARGET_MB:g} MB — {verdict(met)} ({figures})")
    return lines


def start_table(starts: list[Start]) -> list[str]:
    lines = [
        FIGURE_HEADER + " first start (empty data dir, `--demo`) |",
        FIGURE_RULE + " ---: |",
    ]
    for s in starts:
        row = figure_row(COMMANDS[s.what], s.work, s.base, BASELINES[s.what], s.target)
        lines.append(f"{row} {ms(s.first_ms)} |")
    return lines


def memory_table(footprints: list[Footprint]) -> list[str]:
    lines = [
        "| process | when | processes | RSS | PSS | USS |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for f in footprints:
        m: Memory = f.memory
        lines.append(
            f"| {f.what} | {f.when} | {m.processes} | {m.rss:.1f} | {_mb(m.pss)} | {_mb(m.uss)} |"
        )
    return lines


def bundle_lines(b: BundleSize) -> list[str]:
    built = (
        f"built by this run in {b.built_seconds:.0f} s"
        if b.built_seconds is not None
        else "built before this run"
    )
    parts = ", ".join(f"`{name}` {mb:.0f} MB" for name, mb in b.parts)
    return [
        f"- `{b.path}/` ({built}): **{b.mb:.0f} MB** in {b.files:,} files; zipped "
        f"(deflate, symlinks kept as links, like the workflow's artifact) **{b.zip_mb:.0f} MB** "
        f"({b.zip_seconds:.0f} s to zip).",
        f"- Largest parts: {parts}. Qt WebEngine (a whole Chromium) is most of it on Linux;"
        " the Windows and macOS bundles use the system's WebView2 or WebKit instead and carry"
        " no browser.",
    ]


def section(result: StartupRun) -> str:
    m = result.machine
    lines = [
        "## Start-up, idle memory and bundle size",
        "",
        f"Run {result.started} with `{result.command}`, {result.seconds / 60:.1f} minutes in all.",
        "",
        f"- **Machine**: {m.cpu}, {m.cores} cores, {m.ram_gib:.1f} GiB RAM; {m.system}; "
        f"Python {m.python}; SQLite {m.sqlite}. Shared and noisy: read the ratios. Load average"
        f" (1 minute) {result.load[0]:.1f} at the start, {result.load[1]:.1f} at the end, on"
        f" {m.cores} cores.",
        "",
        "### Targets",
        "",
        *verdicts(result),
        "",
        "### Spawn to the first `GET /api/v1/health` 200 (milliseconds)",
        "",
        *start_table(result.starts),
        "",
        "### Memory (MB = 10^6 bytes)",
        "",
        *memory_table(result.footprints),
        "",
        "### The bundle",
        "",
        *(bundle_lines(result.bundle) if result.bundle else []),
        "",
        *METHOD,
    ]
    return "\n".join(lines) + "\n"


METHOD = [
    "How it is measured:",
    "",
    "- **Start**: from just before the process is spawned to the first 200 answer of"
    " `GET /api/v1/health` (with the staff token), polled every 5 ms on a port chosen"
    " beforehand; then SIGTERM and a wait for exit code 0. The data directory already holds"
    " the demo clinic (an ordinary morning); the last column is the very first start on an"
    " empty one with `--demo` (migrations and the demo clinic), once. Each round starts the"
    " baseline and then clinicbot, so the machine's noise falls on both; ×p50 and ×p95 say"
    " what clinicbot adds to the bare framework's start. The OS file cache is warm (untimed"
    " starts come first): after a reboot the files are read from disk as well.",
    "- **Memory**: read from `/proc/PID/smaps_rollup` of the process and all its"
    " descendants, summed. RSS counts shared pages in every process; PSS shares them out;"
    " USS is the memory only that process holds (what ending it gives back). The idle server"
    " is `serve --demo` on an empty data directory (the demo clinic loaded), once it answers"
    " and again after its time alone. The desktop window runs on Qt's offscreen platform"
    " (software rendering, no display): the server and Qt WebEngine's browser, GPU and"
    " renderer processes; on a real display the figures differ.",
    "- **Bundle**: every file under the folder (apparent sizes; symlinks not counted), and the"
    " folder zipped with deflate by Python's zipfile, symlinks stored as links.",
]


def main(options: Options, output: Path | None, log: Log) -> StartupRun:
    result = run(options, log)
    publish(output, SECTION, section(result), log)
    return result
