"""A full disk under a running server (a real process, its data directory on an 8 MB tmpfs):
every write says so in words (staff API: 507, never a 500; the webhook: a 5xx, so Meta
keeps retrying and nothing is acknowledged that was not stored), nothing is half-written,
reads and the status keep answering, and once space is freed the same process works again
and the webhooks Meta retried are processed once. Backups on a full disk fail cleanly."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from clinicbot.db import connect
from tests.conftest import RunningServer, start_server
from tests.fakes import FakeWhatsApp
from tests.reliability.disk import fill, fill_disk, size_limited_dir
from tests.test_crash import _check_database
from tests.test_whatsapp_durability import FAST, accepted_by_row, number, replies_of, wait_sent

pytestmark = pytest.mark.reliability

QUIET = {**FAST, "CLINICBOT_BACKUP_DELAY": "3600", "CLINICBOT_REMINDER_INTERVAL": "3600"}
TABLES = ("clinics", "patients", "appointments", "inbound_messages", "outbox", "message_statuses")
DISK_FULL = "The disk is full: free space on the PC"


@pytest.fixture
def small_disk(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path | None]:
    with size_limited_dir(tmp_path, request.node.nodeid) as disk:
        yield disk


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # noqa: S608


def free_slots(api: httpx.Client, clinic: str) -> list[dict[str, Any]]:
    """Bookings the desk could make in the coming days (doctor, service, start)."""
    doctors = api.get("/api/v1/doctors", params={"clinic_id": clinic}).json()
    services = api.get("/api/v1/services", params={"clinic_id": clinic}).json()
    found = []
    for offset in (2, 3, 4):
        day = (date.today() + timedelta(days=offset)).isoformat()
        for doctor in doctors:
            for service in services:
                answer = api.get(
                    f"/api/v1/doctors/{doctor['id']}/slots",
                    params={"date": day, "service_id": service["id"], "staff": "true"},
                )
                found += [
                    {
                        "doctor_id": doctor["id"],
                        "service_id": service["id"],
                        "starts_at": s["start"],
                    }
                    for s in (answer.json() if answer.status_code == 200 else [])
                ]
    return found


def booking(clinic: str, slot: dict[str, Any], n: int) -> dict[str, Any]:
    return {
        "clinic_id": clinic,
        **slot,
        "patient_name": f"Disk {n}",
        "patient_phone": f"+9196{n:08d}",
    }


def quiet(conn: sqlite3.Connection, fake: FakeWhatsApp) -> None:
    """Nothing left to do: every webhook acknowledged, every message answered and sent."""
    fake.wait_for(lambda: all(d.done.is_set() for d in fake.deliveries), 30, 0.05, "deliveries")
    fake.wait_for(
        lambda: (
            conn.execute(
                "SELECT count(*) FROM outbox WHERE status IN ('queued', 'sending')"
            ).fetchone()[0]
            + conn.execute(
                "SELECT count(*) FROM inbound_messages WHERE processed_at IS NULL"
            ).fetchone()[0]
            == 0
        ),
        30,
        0.05,
        "the server to have nothing left to do",
    )


def test_a_full_disk_is_said_in_words_and_nothing_is_half_written(
    small_disk: Path | None,
) -> None:
    if small_disk is None:
        return  # it ran, and passed, inside a namespace that could mount the tmpfs
    data = small_disk / "data"
    with FakeWhatsApp(status_delay=0.01, webhook_retry=(0.05, 0.3)) as fake:
        server = start_server(data, "--demo", env={**fake.env(), **QUIET})
        fake.webhook_url = server.webhook_url
        conn = connect(data / "clinicbot.db")
        try:
            with server.client() as api:
                run_out_of_disk(server, fake, conn, api, small_disk / "ballast")
        finally:
            conn.close()
            server.stop()
    assert "Traceback" not in "".join(server.output)


def run_out_of_disk(
    server: RunningServer,
    fake: FakeWhatsApp,
    conn: sqlite3.Connection,
    api: httpx.Client,
    ballast: Path,
) -> None:
    [clinic] = [c["id"] for c in api.get("/api/v1/clinics").json()]
    slots = free_slots(api, clinic)
    first = api.post("/api/v1/appointments", json=booking(clinic, slots.pop(), 1))
    assert first.status_code == 201, first.text
    early = number()
    fake.patient_says(early, "Hi")
    wait_sent(conn, fake, [early], 30)
    quiet(conn, fake)

    fill_disk(conn, ballast)
    before = counts(conn)
    refused = api.post("/api/v1/appointments", json=booking(clinic, slots.pop(), 2))
    assert refused.status_code == 507, refused.text
    assert refused.json()["detail"].startswith(DISK_FULL)
    assert "Nothing was saved" in refused.json()["detail"]
    moved = api.patch(f"/api/v1/appointments/{first.json()['id']}", json={"status": "arrived"})
    assert moved.status_code == 507, moved.text
    new_patient = {"clinic_id": clinic, "name": "Disk Full", "phone": "+919600000099"}
    assert api.post("/api/v1/patients", json=new_patient).status_code == 507

    late = number()
    hello = fake.patient_says(late, "Hi", wait=False)
    assert hello.delivery is not None
    fake.wait_for(lambda: len(hello.delivery.attempts) >= 3, 30, 0.05, "Meta's retries")  # type: ignore[union-attr]
    assert not hello.delivery.done.is_set()
    assert {a for a in hello.delivery.attempts} == {507}  # a 5xx: Meta tries again later

    status = api.get("/api/v1/status")
    assert status.status_code == 200
    assert status.json()["disk_low"] is True
    assert status.json()["disk_free_bytes"] < 64 * 1024
    assert api.get(f"/api/v1/appointments/{first.json()['id']}").json()["status"] == "confirmed"
    backup = api.post("/api/v1/backups")
    assert backup.status_code == 503 and "full" in backup.json()["detail"], backup.text
    assert list((ballast.parent / "data" / "backups").glob("*")) == []  # no .part left
    assert "full" in api.get("/api/v1/backups").json()["last_error"]  # the health view says it

    assert counts(conn) == before  # nothing half-written
    _check_database(server.data_dir / "clinicbot.db")  # integrity, no overlap, recounts

    ballast.unlink()  # space again: the same process carries on
    hello.delivery.wait(30)
    rows = fake.wait_for(lambda: replies_of(conn, [hello.wamid]).get(hello.wamid) or [], 30)
    wait_sent(conn, fake, [late], 30)
    assert [len(accepted_by_row(fake)[row]) for row in rows] == [1] * len(rows)
    stored = conn.execute(
        "SELECT count(*) FROM inbound_messages WHERE wa_message_id = ?", [hello.wamid]
    ).fetchone()[0]
    assert stored == 1
    again = api.post("/api/v1/appointments", json=booking(clinic, slots.pop(), 3))
    assert again.status_code == 201, again.text
    moved = api.patch(f"/api/v1/appointments/{first.json()['id']}", json={"status": "arrived"})
    assert moved.status_code == 200, moved.text
    _check_database(server.data_dir / "clinicbot.db")


def test_a_backup_on_a_full_disk_fails_cleanly_and_says_why(small_disk: Path | None) -> None:
    if small_disk is None:
        return  # it ran, and passed, inside a namespace that could mount the tmpfs
    data = small_disk / "data"
    first = start_server(data, "--demo", env=QUIET)
    assert first.stop() == 0
    size = (data / "clinicbot.db").stat().st_size
    ballast = small_disk / "ballast"
    os.truncate(ballast, fill(ballast) - size // 2)  # room to start, not for a copy
    server = start_server(data, env={**QUIET, "CLINICBOT_BACKUP_DELAY": "0"})
    try:
        with server.client() as api:
            failed = FakeWhatsApp.wait_for(
                lambda: api.get("/api/v1/backups").json()["last_error"], 30, 0.05, "the backup"
            )
            assert "full" in failed, failed
            assert api.get("/api/v1/status").json()["backup_error"] == failed
            assert api.get("/api/v1/backups").json()["backups"] == []
    finally:
        assert server.stop() == 0
    assert sorted(p.name for p in (data / "backups").iterdir()) == []  # no .part left
    with closing(sqlite3.connect(data / "clinicbot.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
