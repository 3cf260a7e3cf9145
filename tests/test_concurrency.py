"""Concurrent bookings over real HTTP: one slot is never given twice, different slots all
succeed, and partly overlapping bookings never both hold their time."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import RunningServer
from tests.factories import TestClinic as Clinic
from tests.factories import make_clinic_api, next_weekday

API = "/api/v1"
HELD = {"confirmed", "arrived", "completed", "no_show"}


async def _book_all(server: RunningServer, bodies: list[dict[str, object]]) -> list[httpx.Response]:
    """POST every body at once, each on its own connection, and collect the answers."""
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    headers = {"Authorization": f"Bearer {server.token}"}
    async with httpx.AsyncClient(
        base_url=server.staff_url.rstrip("/"), headers=headers, limits=limits, timeout=60
    ) as client:
        start = asyncio.Event()

        async def book(body: dict[str, object]) -> httpx.Response:
            await start.wait()
            return await client.post(f"{API}/appointments", json=body)

        tasks = [asyncio.create_task(book(body)) for body in bodies]
        await asyncio.sleep(0)  # every task is waiting on the start line
        start.set()
        return await asyncio.gather(*tasks)


def _body(clinic: Clinic, doctor: str, service: str, starts_at: str, i: int) -> dict[str, object]:
    return {
        "clinic_id": clinic.id,
        "doctor_id": doctor,
        "service_id": service,
        "starts_at": starts_at,
        "patient_name": f"Racer {i}",
        "patient_phone": f"+9193{i:08d}",
    }


def _held(api: httpx.Client, clinic: Clinic) -> list[dict[str, Any]]:
    r = api.get(f"{API}/appointments", params={"clinic_id": clinic.id, "limit": 1000})
    assert r.status_code == 200, r.text
    return [a for a in r.json() if a["status"] in HELD]


def _overlapping(appointments: list[dict[str, Any]]) -> list[tuple[str, str]]:
    clashes = []
    for a, b in itertools.combinations(appointments, 2):
        if a["doctor_id"] != b["doctor_id"]:
            continue
        a_start, a_end = (
            datetime.fromisoformat(a["starts_at"]),
            datetime.fromisoformat(a["ends_at"]),
        )
        b_start, b_end = (
            datetime.fromisoformat(b["starts_at"]),
            datetime.fromisoformat(b["ends_at"]),
        )
        if a_start < b_end and b_start < a_end:
            clashes.append((a["starts_at"], b["starts_at"]))
    return clashes


@pytest.fixture
def monday() -> date:
    return next_weekday(date.today())


def test_fifty_racers_for_one_slot_one_wins(
    server: RunningServer, api: httpx.Client, monday: date
) -> None:
    clinic = make_clinic_api(api, name="Race")
    when = f"{monday}T10:00:00"
    bodies = [_body(clinic, clinic.doctor, clinic.service, when, i) for i in range(50)]
    answers = asyncio.run(_book_all(server, bodies))
    codes = Counter(r.status_code for r in answers)
    assert codes == {201: 1, 409: 49}, {c: n for c, n in codes.items()}
    winner = next(r.json() for r in answers if r.status_code == 201)

    held = _held(api, clinic)
    assert [a["id"] for a in held] == [winner["id"]]
    assert held[0]["starts_at"] == f"{monday}T10:00:00+05:30"
    # The losers left nothing behind: no appointment, and no events of one.
    everything = api.get(f"{API}/appointments", params={"clinic_id": clinic.id}).json()
    assert len(everything) == 1
    events = api.get(f"{API}/appointments/{winner['id']}/events").json()
    assert [e["kind"] for e in events] == ["created"]
    patients = api.get(f"{API}/patients", params={"clinic_id": clinic.id, "limit": 500}).json()
    assert [p["id"] for p in patients] == [winner["patient_id"]]


def test_fifty_different_slots_all_succeed(
    server: RunningServer, api: httpx.Client, monday: date
) -> None:
    clinic = make_clinic_api(api, doctors=2, name="Spread")
    times = [f"{h:02d}:{m:02d}" for h in (9, 10, 11, 12) for m in (0, 15, 30, 45)]
    slots = [
        (doctor, f"{day}T{t}")
        for day in (monday, monday + timedelta(days=1))
        for doctor in clinic.doctor_ids
        for t in times
    ][:50]
    bodies = [_body(clinic, d, clinic.service, when, i) for i, (d, when) in enumerate(slots)]
    answers = asyncio.run(_book_all(server, bodies))
    failures = [
        (b["starts_at"], r.status_code, r.text)
        for b, r in zip(bodies, answers, strict=True)
        if r.status_code != 201
    ]
    assert failures == []
    held = _held(api, clinic)
    assert len(held) == 50
    assert len({a["id"] for a in held}) == 50
    assert _overlapping(held) == []


def test_partly_overlapping_racers_never_both_hold(
    server: RunningServer, api: httpx.Client, monday: date
) -> None:
    """A 30-minute visit at :00 and a 15-minute one at :15 share a quarter hour: per hour,
    exactly one of them may win, whoever comes first."""
    clinic = make_clinic_api(api, name="Overlap")
    consult, follow_up = clinic.service_ids  # 15 and 30 minutes
    hours = [9, 10, 11, 14, 15, 16]
    bodies = []
    for hour in hours:
        for copy in range(3):
            bodies.append(_body(clinic, clinic.doctor, follow_up, f"{monday}T{hour:02d}:00", 0))
            bodies.append(_body(clinic, clinic.doctor, consult, f"{monday}T{hour:02d}:15", 0))
            # A quarter past the half hour overlaps neither: it always gets through, once.
            if copy == 0:
                bodies.append(_body(clinic, clinic.doctor, consult, f"{monday}T{hour:02d}:30", 0))
    for i, body in enumerate(bodies):
        body["patient_phone"] = f"+9192{i:08d}"
    answers = asyncio.run(_book_all(server, bodies))
    codes = Counter(r.status_code for r in answers)
    assert set(codes) <= {201, 409}, codes

    held = _held(api, clinic)
    assert _overlapping(held) == []
    assert len(held) == codes[201]
    by_hour = Counter(int(a["starts_at"][11:13]) for a in held)
    # One of the :00/:15 pair, plus the :30 one, in every hour.
    assert by_hour == dict.fromkeys(hours, 2)
    half_past = [a for a in held if a["starts_at"][14:16] == "30"]
    assert len(half_past) == len(hours)
