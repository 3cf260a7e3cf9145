"""What a run measured, and the targets it is held against (reported, never asserted)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.timing import Pair, Summary

SLOTS, SEARCH, STATS = "free slots, one doctor-day", "patient search", "clinic statistics"
IN_PROCESS, OVER_HTTP = "in-process", "HTTP"
SELECT_1, HEALTH = "SELECT 1", "GET /api/v1/health"

# p99 latency targets in milliseconds, and bookings per second.
P99_TARGETS = {SLOTS: 5.0, SEARCH: 20.0, STATS: 50.0}
BOOKINGS_TARGET = 300.0


@dataclass(frozen=True)
class Latency:
    """One operation's latencies beside its baseline's, taken alternately in the same run."""

    what: str
    detail: str  # e.g. the kind of search fragment; "" for none
    where: str
    baseline: str
    pair: Pair

    @property
    def target(self) -> float:
        return P99_TARGETS[self.what]

    @property
    def met(self) -> bool:
        return self.pair.work.p99 < self.target


@dataclass(frozen=True)
class Throughput:
    """Bookings at one concurrency, beside health checks at the same concurrency."""

    concurrency: int
    attempted: int
    created: int  # answered 201
    statuses: dict[int, int]
    seconds: float
    latency: Summary
    health_per_second: float

    @property
    def per_second(self) -> float:
        return self.created / self.seconds

    @property
    def ratio(self) -> float:
        return self.per_second / self.health_per_second


@dataclass
class Results:
    latencies: list[Latency] = field(default_factory=list)
    bookings: list[Throughput] = field(default_factory=list)
    warmup_bookings: int = 0  # 201s of the untimed bookings before the measured ones
    overlaps: int = -1  # held appointments overlapping another of the same doctor
    booked_rows: int = -1  # rows the bookings left in the database
    counter_mismatches: int = -1  # sampled patients whose counters differ from a recount

    def bookings_met(self) -> bool:
        return (
            bool(self.bookings)
            and self.overlaps == 0
            and all(t.per_second >= BOOKINGS_TARGET for t in self.bookings)
        )
