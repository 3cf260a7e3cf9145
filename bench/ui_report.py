"""The UI bench's section of docs/BENCHMARKS.md, and its entry point: run, print, write."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bench.report import FIGURE_HEADER, FIGURE_RULE, figure_row, ms, publish, verdict
from bench.ui import (
    ANALYTICS_YEAR,
    BASELINES,
    SEARCH_NAME,
    SEARCH_PHONE,
    SECTION,
    TODAY_REFRESH,
    TODAY_SWITCH,
    Facts,
    Log,
    Measured,
    Options,
    UiRun,
    run,
)

GOALS = (  # what the issue asks, and the rows that answer it
    ("Today with 200 appointments rendered", 300.0, (TODAY_REFRESH, TODAY_SWITCH)),
    ("search results after a keystroke", 150.0, (SEARCH_PHONE, SEARCH_NAME)),
    ("a year of analytics", 1000.0, (ANALYTICS_YEAR,)),
)
SHOWN = 6  # search fragments listed per kind

SHORT = {
    TODAY_REFRESH: "refresh",
    TODAY_SWITCH: "change of day",
    SEARCH_PHONE: "phone",
    SEARCH_NAME: "name",
    ANALYTICS_YEAR: "a year",
}


def _before(load: float) -> str:
    """Words for a load the bench did not make: it was there before the bench started."""
    return ": other work shared the machine" if load > 1.0 else ""


def _limit(target_ms: float) -> str:
    return f"{target_ms / 1000:g} s" if target_ms >= 1000 else f"{target_ms:g} ms"


def verdicts(result: UiRun) -> list[str]:
    """Each target, judged on the median and on p95 (the machine is shared: read both)."""
    lines = []
    for goal, target, rows in GOALS:
        found = [m for m in (result.of(what) for what in rows) if m is not None]
        if not found:
            continue
        judged = []
        for statistic in ("p50", "p95"):
            figures = ", ".join(
                f"{SHORT[m.what]} {ms(getattr(m.work, statistic))} ms" for m in found
            )
            judged.append(
                f"{statistic} {verdict(all(m.met(statistic) for m in found))} ({figures})"
            )
        lines.append(f"- {goal} < {_limit(target)} — {'; '.join(judged)}")
    return lines


def table(figures: list[Measured]) -> list[str]:
    lines = [FIGURE_HEADER, FIGURE_RULE]
    for m in figures:
        lines.append(figure_row(m.what, m.work, m.base, BASELINES[m.what], m.target))
    return lines


def _facts_lines(f: Facts) -> list[str]:
    weekday = date.fromisoformat(f.day).strftime("%A")
    searches = "; ".join(
        f"{kind}: {', '.join(f'`{q}`' for q in qs[:SHOWN])}{', …' if len(qs) > SHOWN else ''}"
        for kind, qs in f.searches.items()
    )
    return [
        f"- **Database**: the core bench's, {f.patients:,} patients and {f.appointments:,} "
        f"appointments ({f.first_day} to {f.last_day}), copied fresh; then {f.booked} "
        f"appointments booked through the API on {f.day}, a {weekday} after all the generated "
        f"ones, which Today lists ({f.shown} rows).",
        f"- **Analytics range**: {f.year[0]} to {f.year[1]} (365 days).",
        f"- **Search fragments typed**, {sum(map(len, f.searches.values()))} in all, drawn from"
        f" real patients' names and phones with the core bench's generator: {searches}.",
    ]


def section(result: UiRun) -> str:
    m = result.machine
    lines = [
        "## Staff window in Chromium: Today, search, analytics",
        "",
        f"Run {result.started} with `{result.command}`, {result.seconds / 60:.1f} minutes in all.",
        "",
        f"- **Machine**: {m.cpu}, {m.cores} cores, {m.ram_gib:.1f} GiB RAM; {m.system}; "
        f"Python {m.python}; SQLite {m.sqlite}. Shared and noisy: read the ratios. Load average"
        f" (1 minute) {result.load[0]:.1f} at the start, {result.load[1]:.1f} at the end, on"
        f" {m.cores} cores{_before(result.load[0])}.",
        f"- **Browser**: Debian's Chromium {result.chromium}, headless, driven by Playwright; "
        "1366×768, en-IN, Asia/Kolkata.",
        *(_facts_lines(result.facts) if result.facts else []),
        f"- **Placement**: {result.pinned}.",
        "",
        "### Targets",
        "",
        *verdicts(result),
        "",
        "### Latency (milliseconds)",
        "",
        *table(result.figures),
        "",
        *METHOD,
    ]
    return "\n".join(lines) + "\n"


METHOD = [
    "How it is measured:",
    "",
    "- One Chromium window signed in to the real server (`python -m clinicbot serve`) on the"
    " database above. Every time is taken inside the page, on its own clock: from"
    " `performance.now()` at the navigation (or the key event's time stamp) to the first DOM"
    " change after which the awaited state holds, seen by a `MutationObserver`. Playwright's"
    " round trips never count. Each round measures the work and then its baseline, so the"
    " machine's noise falls on both; ×p50 and ×p95 are the work over its baseline.",
    "- **Today, refresh**: a reload of `#/today?date=<the day>`, from navigation start"
    " (the app's modules, the clinic, its doctors and services, then the day's appointments) to"
    " the 200 rows in the DOM. Baseline: a page of 200 such rows with no script, from the same"
    " origin (served by Playwright), from navigation start to its rows in the DOM.",
    "- **Today, change of day**: from an empty day to the day, as ← and → do (the route"
    " changes), to the 200 rows in the DOM. Baseline: that day's `GET /appointments`, fetched"
    " and parsed by the page.",
    "- **Search**: `/`, the fragment but its last character typed and its results shown, then"
    " the last key; from that key's event to the listbox listing that fragment's patients"
    " (each fragment is one whose last character changes the list). The search box waits"
    " 60 ms after the last key before asking, so that typing does not send a request per"
    " letter: that wait is in the figure. Baseline: the same `GET /patients?q=…&limit=8`,"
    " fetched and parsed by the page.",
    "- **Analytics**: from Today to `#/analytics?from=…&to=…` (a year), to all five charts"
    " drawn by uPlot and the five statistics cards filled. Baseline: the screen's one API call,"
    " `GET /analytics` for the year (which carries the clinic statistics), from the page.",
    "- Each target is judged on the median (p50) and on p95.",
]


def main(options: Options, output: Path | None, log: Log) -> UiRun:
    result = run(options, log)
    publish(output, SECTION, section(result), log)
    return result
