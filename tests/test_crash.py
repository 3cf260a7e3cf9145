"""kill -9 in the middle of a storm of bookings: what was acknowledged survives, nothing doubles."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from clinicbot.db import connect
from clinicbot.store.patients import recount
from tests.conftest import RunningServer, start_server
from tests.factories import make_clinic_api, next_weekday

pytestmark = pytest.mark.reliability

GRID = [f"{h:02d}:{m:02d}" for h in (9, 10, 11, 12, 14, 15, 16, 17) for m in (0, 15, 30, 45)]


def _attempts(days: list[date], doctors: list[str], n: int, seed: int) -> list[tuple[str, str]]:
    """(doctor, starts_at) pairs; about a fifth repeat an earlier slot, to race for it."""
    rng = random.Random(seed)
    slots = [(d, f"{day}T{t}") for day in days for d in doctors for t in GRID]
    rng.shuffle(slots)
    picks = slots[: n * 4 // 5]
    picks += [rng.choice(picks) for _ in range(n - len(picks))]
    rng.shuffle(picks)
    return picks


async def _storm(
    server: RunningServer, clinic: str, service: str, picks: list[tuple[str, str]], kill_after: int
) -> dict[int, httpx.Response]:
    answered: dict[int, httpx.Response] = {}
    limits = httpx.Limits(max_connections=32)
    headers = {"Authorization": f"Bearer {server.token}"}
    async with httpx.AsyncClient(
        base_url=server.staff_url, headers=headers, limits=limits, timeout=30
    ) as client:
        gate = asyncio.Semaphore(32)

        async def book(i: int, doctor: str, starts_at: str) -> None:
            async with gate:
                body = {
                    "clinic_id": clinic,
                    "doctor_id": doctor,
                    "service_id": service,
                    "starts_at": starts_at,
                    "patient_name": f"Crash {i}",
                    "patient_phone": f"+9198{i:08d}",
                }
                try:
                    answered[i] = await client.post("/api/v1/appointments", json=body)
                except httpx.HTTPError:
                    return  # in flight when the process died: outcome unknown, either is fine
                if len(answered) == kill_after:
                    os.kill(server.process.pid, signal.SIGKILL)

        await asyncio.gather(*(book(i, d, s) for i, (d, s) in enumerate(picks)))
    return answered


def _check_database(path: Path) -> list[str]:
    conn = connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        overlaps = conn.execute(
            "SELECT count(*) FROM appointments a JOIN appointments b"
            " ON a.doctor_id = b.doctor_id AND a.id < b.id AND a.start_ts < b.end_ts"
            " AND b.start_ts < a.end_ts WHERE a.status != 'cancelled' AND b.status != 'cancelled'"
        ).fetchone()[0]
        assert overlaps == 0
        for row in conn.execute("SELECT * FROM patients"):
            want = recount(conn, row["id"])
            assert {k: row[k] for k in want} == want
        return [r[0] for r in conn.execute("SELECT id FROM appointments")]
    finally:
        conn.close()


def test_kill_during_bookings_loses_nothing_acknowledged(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    with server.client() as api:
        clinic = make_clinic_api(api, doctors=2)
    first = next_weekday(date.today(), 0)
    days = [first + timedelta(days=i) for i in range(4)]
    acknowledged: set[str] = set()
    for round_, kill_after in enumerate((40, 90)):
        picks = _attempts(days, clinic.doctor_ids, 160, seed=round_)
        answered = asyncio.run(_storm(server, clinic.id, clinic.service, picks, kill_after))
        assert server.process.wait(timeout=20) == -signal.SIGKILL
        created = {r.json()["id"] for r in answered.values() if r.status_code == 201}
        assert created, "the storm booked nothing before the kill"
        assert all(r.status_code in (201, 409) for r in answered.values())
        acknowledged |= created

        stored = set(_check_database(tmp_path / "clinicbot.db"))
        assert acknowledged <= stored
        server = start_server(tmp_path)  # the lock of the killed process is gone with it
        with server.client() as api:
            for appointment_id in sorted(created)[:20]:
                assert api.get(f"/api/v1/appointments/{appointment_id}").status_code == 200
    assert server.stop() == 0
    final = sqlite3.connect(tmp_path / "clinicbot.db")
    assert final.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert final.execute("SELECT count(*) FROM appointments").fetchone()[0] >= len(acknowledged)
