"""The UI bench runs end to end on a tiny clinic, so that it cannot rot.

Correctness only, never timing: against the real server in Debian's Chromium, the 200
appointments are booked and listed on their day, every figure has its rounds and is a number
(each one reached the state it waits for: the rows, the search results, the drawn charts),
and the section is written with numbers in it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.__main__ import build_parser, ui_options
from bench.build import Scale
from bench.inputs import NAME, PHONE
from bench.report import write_section
from bench.runner import Options as CoreOptions
from bench.ui import (
    ANALYTICS_YEAR,
    FULL_ROUNDS,
    QUICK_ROUNDS,
    ROWS,
    SEARCH_NAME,
    SEARCH_PHONE,
    SECTION,
    TODAY_REFRESH,
    TODAY_SWITCH,
    Options,
    UiRun,
    run,
)
from bench.ui_report import section

TINY = Scale(patients=500, appointments=3000, seed=7)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> UiRun:
    options = Options(
        scale=TINY, rounds=QUICK_ROUNDS, work_dir=tmp_path_factory.mktemp("bench"), pin=False
    )
    return run(options, log=lambda _: None)


def test_the_day_lists_every_booking(tiny_run: UiRun) -> None:
    facts = tiny_run.facts
    assert facts is not None
    assert (facts.patients, facts.appointments) == (TINY.patients, TINY.appointments)
    assert facts.booked == facts.shown == ROWS
    assert facts.day > facts.last_day
    wanted = QUICK_ROUNDS.search + QUICK_ROUNDS.warmup
    assert {kind: len(qs) for kind, qs in facts.searches.items()} == {PHONE: wanted, NAME: wanted}
    assert all(q.isdigit() for q in facts.searches[PHONE])
    assert tiny_run.chromium and tiny_run.chromium[0].isdigit()


def test_every_figure_has_its_rounds_and_is_a_number(tiny_run: UiRun) -> None:
    rounds = {
        TODAY_REFRESH: QUICK_ROUNDS.refresh,
        TODAY_SWITCH: QUICK_ROUNDS.switch,
        SEARCH_PHONE: QUICK_ROUNDS.search,
        SEARCH_NAME: QUICK_ROUNDS.search,
        ANALYTICS_YEAR: QUICK_ROUNDS.analytics,
    }
    assert [m.what for m in tiny_run.figures] == list(rounds)
    for m in tiny_run.figures:
        for figure in (m.work, m.base):
            assert figure.count == rounds[m.what]
            assert 0 < figure.p50 <= figure.p95 <= figure.max
            assert math.isfinite(figure.mean)


def test_the_section_replaces_only_itself(tiny_run: UiRun, tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    turns = "<!-- bench:turns:start -->\nturns figures\n<!-- bench:turns:end -->"
    doc.write_text(f"# Benchmarks\n\n{turns}\n", encoding="utf-8")
    body = section(tiny_run)
    assert "- Today with 200 appointments rendered < 300 ms — p50 **" in body
    assert "- search results after a keystroke < 150 ms — p50 **" in body
    assert "- a year of analytics < 1 s — p50 **" in body
    assert body.count("| < ") == len(tiny_run.figures)
    rows = [line for line in body.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + len(tiny_run.figures)
    assert len({row.count("|") for row in rows}) == 1  # every row has the header's columns
    load = tiny_run.load
    assert f"Load average (1 minute) {load[0]:.1f} at the start, {load[1]:.1f} at the end" in body
    write_section(doc, SECTION, body)
    write_section(doc, SECTION, body.replace("Staff window", "Staff window again"))
    text = doc.read_text(encoding="utf-8")
    assert turns in text
    assert text.count(f"<!-- bench:{SECTION}:start -->") == 1
    assert "Staff window again" in text


def test_the_command_line_selects_the_ui_bench(tmp_path: Path) -> None:
    argv = ["--only", "ui", "--work-dir", str(tmp_path)]
    args = build_parser().parse_args(argv)
    options = ui_options(args, argv)
    assert args.only == "ui"
    assert options.scale == CoreOptions().scale  # the core bench's database
    assert (options.rounds, options.work_dir) == (FULL_ROUNDS, tmp_path)
    quick = ui_options(build_parser().parse_args(["--quick"]), ["--quick"])
    assert quick.rounds == QUICK_ROUNDS
