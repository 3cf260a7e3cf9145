"""The benchmark suite runs end to end on a tiny clinic, so that it cannot rot.

Correctness only, never timing: the database builds through the migrations and is reused
from its cache, every patient's counters equal a recount, no doctor is double-booked, every
booking of a free slot is accepted and stored, and every measurement is a number.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.build import Scale, cache_dir, ensure_database
from bench.checks import count_mismatches, counter_mismatches, overlaps, sample_patients
from bench.report import SECTION, Run, section, write_section
from bench.runner import QUICK, Options, run
from clinicbot.db import connect

TINY = Scale(patients=500, appointments=3000, seed=7)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    options = Options(
        patients=TINY.patients,
        appointments=TINY.appointments,
        seed=TINY.seed,
        rounds=QUICK,
        work_dir=tmp_path_factory.mktemp("bench"),
        pin=False,
    )
    return run(options, log=lambda _: None)


def test_the_database_has_the_scale_asked_for(tiny_run: Run) -> None:
    db = tiny_run.database
    assert (db.patients, db.appointments) == (TINY.patients, TINY.appointments)
    assert db.built_this_run
    assert set(db.statuses) == {"completed", "cancelled", "no_show", "confirmed"}


def test_counters_equal_a_recount_and_nothing_overlaps(tmp_path: Path) -> None:
    built, fresh = ensure_database(tmp_path, TINY, rebuild=False, log=lambda _: None)
    assert fresh
    conn = connect(cache_dir(tmp_path, TINY) / "clinicbot.db", read_only=True)
    try:
        everyone = sample_patients(conn, TINY.patients, seed=1)
        assert len(everyone) == TINY.patients
        assert counter_mismatches(conn, everyone) == []
        assert count_mismatches(conn) == []
        assert overlaps(conn) == 0
        visits = conn.execute("SELECT sum(total_visits) FROM patients").fetchone()[0]
        assert (
            visits
            == conn.execute(
                "SELECT count(*) FROM appointments WHERE status = 'completed'"
            ).fetchone()[0]
        )
    finally:
        conn.close()
    again, fresh = ensure_database(tmp_path, TINY, rebuild=False, log=lambda _: None)
    assert (again, fresh) == (built, False)
    _, fresh = ensure_database(tmp_path, TINY, rebuild=True, log=lambda _: None)
    assert fresh


def test_bookings_are_all_accepted_stored_and_never_overlap(tiny_run: Run) -> None:
    results = tiny_run.results
    assert [t.concurrency for t in results.bookings] == [16, 64]
    for throughput in results.bookings:
        assert throughput.created == throughput.attempted == QUICK.bookings
        assert throughput.per_second > 0 and throughput.health_per_second > 0
    assert results.warmup_bookings == QUICK.warmup
    assert results.booked_rows == results.warmup_bookings + sum(t.created for t in results.bookings)
    assert results.overlaps == 0
    assert results.counter_mismatches == 0


def test_every_measurement_is_a_number(tiny_run: Run) -> None:
    rows = {(r.what, r.detail, r.where) for r in tiny_run.results.latencies}
    assert len(rows) == 12  # slots, 4 search rows and statistics; in-process and HTTP
    for row in tiny_run.results.latencies:
        for summary in (row.pair.work, row.pair.base):
            assert summary.count > 0
            assert 0 < summary.p50 <= summary.p99 <= summary.max
            assert math.isfinite(summary.mean)


def test_the_section_replaces_only_itself(tiny_run: Run, tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARKS.md"
    other = "<!-- bench:webhook:start -->\nwebhook figures\n<!-- bench:webhook:end -->"
    doc.write_text(f"# Benchmarks\n\n{other}\n", encoding="utf-8")
    body = section(tiny_run)
    assert "free slots" in body and "bookings" in body
    write_section(doc, SECTION, body)
    write_section(doc, SECTION, body.replace("Clinic core", "Clinic core again"))
    text = doc.read_text(encoding="utf-8")
    assert other in text
    assert text.count(f"<!-- bench:{SECTION}:start -->") == 1
    assert "Clinic core again" in text
