"""Samples and their summaries: count, mean, p50, p99; and measuring an operation in pairs
with its baseline, alternately, so that the noise of a shared machine hits both alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Summary:
    """Latencies in milliseconds."""

    count: int
    mean: float
    p50: float
    p99: float
    max: float


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted values (``q`` in 0..100)."""
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def summarize(samples_ns: Sequence[int]) -> Summary:
    ordered = sorted(ns / 1e6 for ns in samples_ns)
    return Summary(
        count=len(ordered),
        mean=sum(ordered) / len(ordered),
        p50=percentile(ordered, 50),
        p99=percentile(ordered, 99),
        max=ordered[-1],
    )


@dataclass(frozen=True)
class Figure:
    """Milliseconds over measured runs (UI rounds, starts): count, mean, p50, p95, max."""

    count: int
    mean: float
    p50: float
    p95: float
    max: float


def figure(values: Sequence[float]) -> Figure:
    ordered = sorted(values)
    return Figure(
        count=len(ordered),
        mean=sum(ordered) / len(ordered),
        p50=percentile(ordered, 50),
        p95=percentile(ordered, 95),
        max=ordered[-1],
    )


@dataclass(frozen=True)
class Pair:
    """An operation's latencies next to its baseline's, taken alternately."""

    work: Summary
    base: Summary

    @property
    def p50_ratio(self) -> float:
        return self.work.p50 / self.base.p50

    @property
    def p99_ratio(self) -> float:
        return self.work.p99 / self.base.p99


def pair_of(samples: Sequence[tuple[int, int]]) -> Pair:
    """The Pair of ``(work_ns, base_ns)`` samples."""
    return Pair(summarize([w for w, _ in samples]), summarize([b for _, b in samples]))


def sample_pairs(
    work: Callable[[T], object],
    base: Callable[[], object],
    inputs: Sequence[T],
    *,
    warmup: int,
) -> list[tuple[int, int]]:
    """``(work_ns, base_ns)``: ``base()`` then ``work(x)`` for each input after the first
    ``warmup``, which run untimed first."""
    clock = time.perf_counter_ns
    for x in inputs[:warmup]:
        base()
        work(x)
    samples = []
    for x in inputs[warmup:]:
        started = clock()
        base()
        middle = clock()
        work(x)
        samples.append((clock() - middle, middle - started))
    return samples
