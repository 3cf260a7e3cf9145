"""Measurements over HTTP against the real server: read latencies beside ``GET /health`` on
the same server, and bookings per second from concurrent clients beside health checks per
second at the same concurrency."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

import httpx

from bench.inprocess import split_by_kind
from bench.inputs import SearchQuery, SlotQuery
from bench.results import HEALTH, OVER_HTTP, SLOTS, STATS, Latency, Throughput
from bench.server import ServerProcess
from bench.timing import pair_of, sample_pairs, summarize

API = "/api/v1"
TIMEOUT = 60.0


class UnexpectedAnswer(RuntimeError):
    """The server answered something other than what the benchmark expected."""


def staff_client(server: ServerProcess) -> httpx.Client:
    return httpx.Client(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=TIMEOUT,
    )


def _get(client: httpx.Client, path: str, params: dict[str, str] | None = None) -> None:
    response = client.get(API + path, params=params)
    if response.status_code != 200:
        raise UnexpectedAnswer(f"GET {path} {params}: {response.status_code} {response.text}")


def _health(client: httpx.Client) -> Callable[[], object]:
    return lambda: _get(client, "/health")


def _latency(what: str, detail: str, samples: Sequence[tuple[int, int]]) -> Latency:
    return Latency(what, detail, OVER_HTTP, HEALTH, pair_of(samples))


def measure_slots(client: httpx.Client, queries: list[SlotQuery], warmup: int) -> Latency:
    def work(q: SlotQuery) -> None:
        params = {"date": q.day.isoformat(), "service_id": q.service_id}
        _get(client, f"/doctors/{q.doctor_id}/slots", params)

    return _latency(SLOTS, "", sample_pairs(work, _health(client), queries, warmup=warmup))


def measure_search(
    client: httpx.Client, clinic_id: str, queries: list[SearchQuery], warmup: int
) -> list[Latency]:
    def work(q: SearchQuery) -> None:
        _get(client, "/patients", {"clinic_id": clinic_id, "q": q.q})

    samples = sample_pairs(work, _health(client), queries, warmup=warmup)
    return split_by_kind(queries[warmup:], samples, _latency)


def measure_stats(client: httpx.Client, clinic_id: str, count: int, warmup: int) -> Latency:
    def work(_: int) -> None:
        _get(client, f"/patients/stats/clinic/{clinic_id}")

    rounds = list(range(count + warmup))
    return _latency(STATS, "", sample_pairs(work, _health(client), rounds, warmup=warmup))


Request = tuple[str, str, dict[str, object] | None]  # method, path, JSON body
Outcome = tuple[int, int]  # status, nanoseconds


async def _worker(client: httpx.AsyncClient, requests: Iterator[Request]) -> list[Outcome]:
    outcomes = []
    for method, path, body in requests:  # shared iterator: each request is sent once
        started = time.perf_counter_ns()
        response = await client.request(method, API + path, json=body)
        outcomes.append((response.status_code, time.perf_counter_ns() - started))
    return outcomes


def _client(server: ServerProcess) -> httpx.AsyncClient:
    """One keep-alive connection per client, as each WhatsApp worker or browser tab has.

    Not one shared pool: at 64 connections httpx's shared pool, not the server, would be
    the limit (about 200 health checks a second here, against 1,700 with a client each).
    """
    return httpx.AsyncClient(
        base_url=server.base_url,
        headers={"Authorization": f"Bearer {server.token}"},
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        timeout=TIMEOUT,
    )


async def _load(
    server: ServerProcess, requests: list[Request], concurrency: int
) -> tuple[list[Outcome], float]:
    """Send ``requests`` from ``concurrency`` keep-alive clients; (outcomes, seconds)."""
    clients = [_client(server) for _ in range(concurrency)]
    try:
        await asyncio.gather(*(client.get(API + "/health") for client in clients))  # connect
        shared = iter(requests)
        started = time.perf_counter()
        done = await asyncio.gather(*(_worker(client, shared) for client in clients))
        seconds = time.perf_counter() - started
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))
    return [o for outcomes in done for o in outcomes], seconds


def health_per_second(server: ServerProcess, count: int, concurrency: int) -> float:
    outcomes, seconds = asyncio.run(_load(server, [("GET", "/health", None)] * count, concurrency))
    if any(status != 200 for status, _ in outcomes):
        raise UnexpectedAnswer(f"health checks answered {Counter(s for s, _ in outcomes)}")
    return len(outcomes) / seconds


def book_all(
    server: ServerProcess, bodies: list[dict[str, object]], concurrency: int
) -> tuple[list[Outcome], float]:
    """POST every body to /appointments from ``concurrency`` clients; (outcomes, seconds)."""
    requests: list[Request] = [("POST", "/appointments", body) for body in bodies]
    return asyncio.run(_load(server, requests, concurrency))


def measure_bookings(
    server: ServerProcess, bodies: list[dict[str, object]], concurrency: int, health_count: int
) -> Throughput:
    """Book every body (each a distinct free slot); 201s per second, beside health/s."""
    health = health_per_second(server, health_count, concurrency)
    outcomes, seconds = book_all(server, bodies, concurrency)
    statuses = Counter(status for status, _ in outcomes)
    return Throughput(
        concurrency=concurrency,
        attempted=len(bodies),
        created=statuses.get(201, 0),
        statuses=dict(statuses),
        seconds=seconds,
        latency=summarize([ns for _, ns in outcomes]),
        health_per_second=health,
    )
