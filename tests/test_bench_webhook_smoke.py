"""The webhook bench runs end to end at a tiny scale, so that it cannot rot.

Correctness only, never timing: clinicbot and every baseline answer each signed webhook 200,
every acknowledged wamid is in ``inbound_messages`` exactly once (redeliveries add nothing),
the baselines store one row per acknowledged body, and every figure is a number.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.__main__ import build_parser, webhook_options
from bench.report import write_section
from bench.webhook import (
    BASELINE,
    CLINICBOT,
    GROUP,
    QUICK,
    SECTION,
    SERVERS,
    Options,
    WebhookRun,
    run,
    section,
)

SENDERS = (1, 16, 64)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> WebhookRun:
    options = Options(
        senders=SENDERS, scale=QUICK, work_dir=tmp_path_factory.mktemp("bench"), pin=False
    )
    return run(options, log=lambda _: None)


def test_every_webhook_is_acknowledged(tiny_run: WebhookRun) -> None:
    assert {(r.server, r.senders) for r in tiny_run.rates} == {
        (server, n) for server in SERVERS for n in SENDERS
    }
    for rate in tiny_run.rates:
        assert rate.sent == QUICK.requests
        assert rate.statuses == {200: QUICK.requests}, (rate.server, rate.senders)


def test_every_acknowledged_wamid_is_stored_exactly_once(tiny_run: WebhookRun) -> None:
    stored = tiny_run.stored
    assert stored is not None
    timed = sum(r.acked for r in tiny_run.rates if r.server == CLINICBOT)
    warmups = QUICK.rounds * QUICK.warmup * sum(SENDERS)
    assert stored.acked == timed + warmups
    assert stored.stored == stored.acked
    assert (stored.missing, stored.doubled, stored.unacknowledged) == (0, 0, 0)
    assert (stored.wrong_clinic, stored.wrong_text) == (0, 0)
    assert stored.redelivered == stored.redelivery_acked == QUICK.redeliveries
    assert stored.rows_after_redelivery == stored.rows_before_redelivery == stored.acked
    assert stored.ok


def test_the_baselines_store_one_row_per_acknowledged_body(tiny_run: WebhookRun) -> None:
    assert set(tiny_run.baseline_rows) == {BASELINE, GROUP}
    for acked, rows in tiny_run.baseline_rows.values():
        assert acked == rows > 0


def test_every_figure_is_a_number(tiny_run: WebhookRun) -> None:
    assert tiny_run.disk_commits_per_second > 0
    for rate in tiny_run.rates:
        assert rate.seconds > 0 and rate.per_second > 0
        assert 0 < rate.latency.p50 <= rate.latency.p99 <= rate.latency.max
        assert math.isfinite(rate.latency.mean) and rate.cpu_seconds >= 0
    for n in SENDERS:
        assert tiny_run.ratio(n) > 0


def test_the_section_replaces_only_itself(tiny_run: WebhookRun, tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    core = "<!-- bench:core:start -->\ncore figures\n<!-- bench:core:end -->"
    doc.write_text(f"# Benchmarks\n\n{core}\n", encoding="utf-8")
    body = section(tiny_run)
    assert "clinicbot ÷ baseline" in body and "0 missing, 0 stored more than once" in body
    write_section(doc, SECTION, body)
    write_section(doc, SECTION, body.replace("WhatsApp webhook", "WhatsApp webhook again"))
    text = doc.read_text(encoding="utf-8")
    assert core in text
    assert text.count(f"<!-- bench:{SECTION}:start -->") == 1
    assert "WhatsApp webhook again" in text


def test_the_command_line_selects_the_webhook_bench(tmp_path: Path) -> None:
    argv = ["--only", "webhook", "--quick", "--senders", "2,8", "--work-dir", str(tmp_path)]
    args = build_parser().parse_args(argv)
    options = webhook_options(args, argv)
    assert args.only == "webhook"
    assert (options.senders, options.scale, options.work_dir) == ((2, 8), QUICK, tmp_path)
    assert build_parser().parse_args([]).only is None  # no flag: every bench
