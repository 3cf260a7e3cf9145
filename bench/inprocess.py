"""In-process measurements: clinicbot's own read functions on a reader connection, each in a
read transaction as ``Database.read`` runs them, beside ``SELECT 1`` run the same way."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from bench.inputs import SEARCH_KINDS, SearchQuery, SlotQuery
from bench.results import IN_PROCESS, SEARCH, SELECT_1, SLOTS, STATS, Latency
from bench.timing import pair_of, sample_pairs
from clinicbot.db.database import transaction
from clinicbot.services.booking import doctor_slots
from clinicbot.services.patients import clinic_stats
from clinicbot.store.patients import list_patients

T = TypeVar("T")
SEARCH_LIMIT = 50  # the route's default page


def _read(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    with transaction(conn, immediate=False):
        return fn(conn)


def _select_1(conn: sqlite3.Connection) -> Callable[[], object]:
    return lambda: _read(conn, lambda c: c.execute("SELECT 1").fetchone())


def _latency(what: str, detail: str, samples: Sequence[tuple[int, int]]) -> Latency:
    return Latency(what, detail, IN_PROCESS, SELECT_1, pair_of(samples))


def measure_slots(conn: sqlite3.Connection, queries: list[SlotQuery], warmup: int) -> Latency:
    def work(q: SlotQuery) -> object:
        now = datetime.now(UTC)
        return _read(conn, lambda c: doctor_slots(c, q.doctor_id, q.day, q.service_id, now))

    return _latency(SLOTS, "", sample_pairs(work, _select_1(conn), queries, warmup=warmup))


def measure_search(
    conn: sqlite3.Connection, clinic_id: str, queries: list[SearchQuery], warmup: int
) -> list[Latency]:
    """Search for each kind of fragment, then for all of them together."""

    def work(q: SearchQuery) -> object:
        return _read(conn, lambda c: list_patients(c, clinic_id, q=q.q, limit=SEARCH_LIMIT))

    samples = sample_pairs(work, _select_1(conn), queries, warmup=warmup)
    return split_by_kind(queries[warmup:], samples, _latency)


def split_by_kind(
    queries: list[SearchQuery],
    samples: list[tuple[int, int]],
    make: Callable[[str, str, Sequence[tuple[int, int]]], Latency],
) -> list[Latency]:
    """One Latency per kind of search fragment, and one for every fragment."""
    rows = [
        make(SEARCH, kind, [s for q, s in zip(queries, samples, strict=True) if q.kind == kind])
        for kind in SEARCH_KINDS
    ]
    return [*rows, make(SEARCH, "all kinds", samples)]


def measure_stats(conn: sqlite3.Connection, clinic_id: str, count: int, warmup: int) -> Latency:
    def work(_: int) -> object:
        now = datetime.now(UTC)
        return _read(conn, lambda c: clinic_stats(c, clinic_id, now))

    rounds = list(range(count + warmup))
    return _latency(STATS, "", sample_pairs(work, _select_1(conn), rounds, warmup=warmup))
