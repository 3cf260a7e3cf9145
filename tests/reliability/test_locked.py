"""The database locked by another program (say "DB Browser for SQLite" left a write
transaction open on clinicbot.db): writes wait the busy timeout and then answer 503 in
words, with nothing half-written; the webhook answers 5xx, so Meta retries; reads keep
working (WAL); once the other program lets go, everything works again. Start-up on a
locked or unwritable database is one clear paragraph and a non-zero exit."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from clinicbot.db import connect
from tests.conftest import STAFF_TOKEN, start_server
from tests.fakes import FakeWhatsApp
from tests.reliability.test_full_disk import QUIET, booking, counts, free_slots
from tests.test_crash import _check_database
from tests.test_whatsapp_durability import accepted_by_row, number, replies_of, wait_sent

pytestmark = pytest.mark.reliability

LOCKED = "The database is locked by another program"
FREE_PORTS = ["--port", "0", "--webhook-port", "0"]
HOLD = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("holding", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def another_program_holds(db: Path) -> Iterator[None]:
    """A second process with ``BEGIN EXCLUSIVE`` open on ``db`` until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield
    finally:
        holder.stdin.close()  # it ends, and its transaction with it
        assert holder.wait(timeout=20) == 0


def test_a_locked_database_is_said_in_words_and_reads_go_on(tmp_path: Path) -> None:
    with FakeWhatsApp(status_delay=0.01, webhook_retry=(0.05, 0.3)) as fake:
        server = start_server(tmp_path, "--demo", env={**fake.env(), **QUIET})
        fake.webhook_url = server.webhook_url
        conn = connect(tmp_path / "clinicbot.db")
        api = server.client()
        try:
            [clinic] = [c["id"] for c in api.get("/api/v1/clinics").json()]
            slots = free_slots(api, clinic)
            first = api.post("/api/v1/appointments", json=booking(clinic, slots.pop(), 11))
            assert first.status_code == 201, first.text
            moving = f"/api/v1/appointments/{first.json()['id']}"
            before = counts(conn)
            patient = number()
            with another_program_holds(tmp_path / "clinicbot.db"), ThreadPoolExecutor(2) as pool:
                refused = pool.submit(
                    api.post, "/api/v1/appointments", json=booking(clinic, slots.pop(), 12)
                )
                moved = pool.submit(api.patch, moving, json={"status": "arrived"})
                hello = fake.patient_says(patient, "Hi", wait=False)
                # Reads are served meanwhile, while the writes wait for the lock.
                assert api.get(moving).json()["status"] == "confirmed"
                assert api.get("/api/v1/status").status_code == 200
                listed = api.get("/api/v1/appointments", params={"clinic_id": clinic})
                assert listed.status_code == 200
                for answer in (refused.result(), moved.result()):
                    assert answer.status_code == 503, answer.text
                    assert answer.json()["detail"].startswith(LOCKED)
                    assert "Nothing was saved" in answer.json()["detail"]
                    assert answer.headers["retry-after"]
                assert hello.delivery is not None
                fake.wait_for(lambda: hello.delivery.attempts, 30, 0.05)  # type: ignore[union-attr]
                assert hello.delivery.attempts[0] == 503  # a 5xx: Meta tries again
                assert counts(conn) == before  # nothing half-written
            # Let go: the same process works again, and Meta's retry is processed once.
            hello.delivery.wait(30)
            rows = fake.wait_for(lambda: replies_of(conn, [hello.wamid]).get(hello.wamid) or [], 30)
            wait_sent(conn, fake, [patient], 30)
            assert [len(accepted_by_row(fake)[row]) for row in rows] == [1] * len(rows)
            assert api.patch(moving, json={"status": "arrived"}).status_code == 200
            again = api.post("/api/v1/appointments", json=booking(clinic, slots.pop(), 13))
            assert again.status_code == 201, again.text
            _check_database(tmp_path / "clinicbot.db")
        finally:
            api.close()
            conn.close()
            assert server.stop() == 0
    assert "Traceback" not in "".join(server.output)


def serve_once(data_dir: Path) -> subprocess.CompletedProcess[str]:
    """``clinicbot serve`` that is expected to refuse to start."""
    return subprocess.run(
        [sys.executable, "-m", "clinicbot", "serve", "--data-dir", str(data_dir), *FREE_PORTS],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CLINICBOT_STAFF_TOKEN": STAFF_TOKEN},
    )


def assert_one_clear_paragraph(done: subprocess.CompletedProcess[str], words: str) -> None:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    assert "clinicbot staff:" not in done.stdout  # it never served
    [paragraph] = [line for line in done.stderr.splitlines() if line.strip()]
    assert paragraph.startswith("clinicbot: cannot start: " + words), paragraph
    assert "clinicbot.db" in paragraph


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """``path`` made read-only: immutable for root (who ignores file modes), else mode 0444."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        try:
            yield
        finally:
            path.chmod(mode)


def test_start_up_on_a_locked_or_unwritable_database_says_so_and_exits(tmp_path: Path) -> None:
    assert start_server(tmp_path, "--demo").stop() == 0
    with another_program_holds(tmp_path / "clinicbot.db"):
        assert_one_clear_paragraph(serve_once(tmp_path), LOCKED)
    with unwritable(tmp_path / "clinicbot.db"):
        assert_one_clear_paragraph(serve_once(tmp_path), "The database file cannot be written")
    server = start_server(tmp_path)  # and with the lock gone, it starts as ever
    assert server.stop() == 0
    with sqlite3.connect(tmp_path / "clinicbot.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
