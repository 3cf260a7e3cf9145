"""The turns bench runs end to end with a few patients, so that it cannot rot.

Correctness only, never timing: against the real ``clinicbot serve --demo`` and both bare
baselines, every turn of every conversation is answered, every patient ends up booked (given
the patience to get past slots taken meanwhile), nothing overlaps or goes out twice, and the
section is written with numbers in it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import build_parser, turns_options
from bench.report import write_section
from bench.turns import (
    AT_ONCE,
    BARE,
    BARE_RATED,
    CLINICBOT,
    FULL,
    QUICK,
    SECTION,
    SERVERS,
    Options,
    Plan,
    Scale,
    TurnsRun,
    checks_pass,
    run,
)
from bench.turns_report import section

PATIENTS = 5
# Five patients at once all want the earliest slot: the losers are offered the next ones, so
# give them room to book; the bench itself gives up at DESIGN.md's 8 messages.
SCALE = Scale(PATIENTS, (Plan(AT_ONCE),), max_turns=40, turn_timeout=30.0)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> TurnsRun:
    options = Options(scale=SCALE, work_dir=tmp_path_factory.mktemp("bench"), pin=False)
    return run(options, log=lambda _: None)


def test_every_server_answers_every_turn(tiny_run: TurnsRun) -> None:
    assert [s.server for s in tiny_run.served] == list(SERVERS)
    for served in tiny_run.served:
        assert served.turns >= 6 * PATIENTS  # "Hi", book, service, doctor, slot, confirm
        assert served.answered == served.turns, served.server
        assert served.webhook_statuses == {200: served.turns}, served.server
        assert served.graph.refused == {} and served.graph.sent_twice == 0


def test_the_baselines_hear_what_clinicbot_heard(tiny_run: TurnsRun) -> None:
    clinicbot = tiny_run.of(CLINICBOT, AT_ONCE)
    assert clinicbot is not None
    for name in (BARE, BARE_RATED):
        baseline = tiny_run.of(name, AT_ONCE)
        assert baseline is not None
        assert baseline.turns == clinicbot.turns
        assert baseline.graph.sends == baseline.turns and baseline.graph.reads == 0


def test_every_patient_is_booked_once_without_overlap(tiny_run: TurnsRun) -> None:
    clinicbot = tiny_run.of(CLINICBOT, AT_ONCE)
    assert clinicbot is not None and clinicbot.stored is not None
    stored = clinicbot.stored
    assert clinicbot.booked == PATIENTS
    assert stored.appointments == stored.patients_booked == PATIENTS
    assert stored.overlaps == 0 and stored.unprocessed == 0
    assert stored.inbound == clinicbot.turns
    # One reply and one read receipt a turn, each accepted once.
    assert clinicbot.graph.sends == clinicbot.graph.reads == clinicbot.turns
    assert all(checks_pass(s) for s in tiny_run.served) and tiny_run.ok


def test_every_figure_is_a_number(tiny_run: TurnsRun) -> None:
    for served in tiny_run.served:
        assert served.latency is not None and served.ack is not None
        assert 0 < served.latency.p50 <= served.latency.p99 <= served.latency.max
        assert 0 < served.ack.p50 <= served.ack.p99
        assert served.seconds > 0 and served.turns_per_second > 0
        assert served.server_cpu >= 0 and served.bench_cpu > 0
        assert served.graph.peak_per_second >= 1


def test_the_section_replaces_only_itself(tiny_run: TurnsRun, tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    webhook = "<!-- bench:webhook:start -->\nwebhook figures\n<!-- bench:webhook:end -->"
    doc.write_text(f"# Benchmarks\n\n{webhook}\n", encoding="utf-8")
    body = section(tiny_run)
    assert "p99 ms" in body and "clinicbot ÷ bare" in body
    assert f"**{PATIENTS} of {PATIENTS} patients booked**" in body
    assert "0 overlapping appointments" in body and "Check failed" not in body
    write_section(doc, SECTION, body)
    write_section(doc, SECTION, body.replace("WhatsApp turns", "WhatsApp turns again"))
    text = doc.read_text(encoding="utf-8")
    assert webhook in text
    assert text.count(f"<!-- bench:{SECTION}:start -->") == 1
    assert "WhatsApp turns again" in text


def test_the_command_line_selects_the_turns_bench(tmp_path: Path) -> None:
    argv = ["--only", "turns", "--booking-patients", "7", "--work-dir", str(tmp_path)]
    args = build_parser().parse_args(argv)
    options = turns_options(args, argv)
    assert args.only == "turns"
    assert (options.scale.patients, options.scale.plans) == (7, FULL.plans)
    assert options.work_dir == tmp_path
    quick = turns_options(build_parser().parse_args(["--quick"]), ["--quick"])
    assert quick.scale == QUICK
