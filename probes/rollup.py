"""Counts that add up: attempts by outcome and a latency histogram, per hour, per day or per period.

Uptime is attempt-weighted (successes / charged attempts, as Gatus and Uptime Kuma compute it):
`unknown` attempts (the prober's own connectivity failed) and attempts inside a maintenance window
are kept but charged to nobody. Latency is that of successful attempts; p95 is estimated from the
histogram like Prometheus's histogram_quantile, then clamped to the smallest and largest seen.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field

BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)
"""Upper bounds (seconds) of the latency buckets: Prometheus's default buckets plus +Inf."""


def bucket_of(latency: float) -> int:
    """Index of the first bucket whose upper bound is >= latency."""
    return min(bisect_left(BUCKETS, latency), len(BUCKETS) - 1)


@dataclass
class Counts:
    attempts: int = 0
    successes: int = 0
    unknowns: int = 0
    maintenance: int = 0
    lat_count: int = 0
    lat_sum: float = 0.0
    lat_min: float | None = None
    lat_max: float | None = None
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    """Non-cumulative: buckets[i] counts latencies in (BUCKETS[i-1], BUCKETS[i]]."""

    @property
    def charged(self) -> int:
        """Attempts that count towards uptime."""
        return self.attempts - self.unknowns - self.maintenance

    @property
    def failures(self) -> int:
        return self.charged - self.successes

    @property
    def uptime(self) -> float | None:
        return self.successes / self.charged if self.charged else None

    def add(self, state: str, latency: float | None = None, n: int = 1) -> None:
        """Count `n` attempts in `state` (up, down, unknown, maintenance); `latency` for up attempts."""
        self.attempts += n
        if state == "up":
            self.successes += n
            if latency is not None:
                self.add_latency(latency, n)
        elif state == "unknown":
            self.unknowns += n
        elif state == "maintenance":
            self.maintenance += n

    def add_latency(self, latency: float, n: int = 1) -> None:
        self.lat_count += n
        self.lat_sum += latency * n
        self.lat_min = latency if self.lat_min is None else min(self.lat_min, latency)
        self.lat_max = latency if self.lat_max is None else max(self.lat_max, latency)
        self.buckets[bucket_of(latency)] += n

    def merge(self, other: Counts) -> None:
        self.attempts += other.attempts
        self.successes += other.successes
        self.unknowns += other.unknowns
        self.maintenance += other.maintenance
        if other.lat_count:
            self.lat_count += other.lat_count
            self.lat_sum += other.lat_sum
            for bound in (other.lat_min, other.lat_max):
                if bound is not None:
                    self.lat_min = bound if self.lat_min is None else min(self.lat_min, bound)
                    self.lat_max = bound if self.lat_max is None else max(self.lat_max, bound)
            buckets = self.buckets
            for i, n in enumerate(other.buckets):
                if n:
                    buckets[i] += n

    @property
    def mean_latency(self) -> float | None:
        return self.lat_sum / self.lat_count if self.lat_count else None

    def quantile(self, q: float) -> float | None:
        """Latency quantile estimated from the histogram (linear within a bucket), clamped to min..max."""
        total = sum(self.buckets)
        if not total:
            return None
        rank = q * total
        cumulative = 0
        for i, n in enumerate(self.buckets):
            if n and cumulative + n >= rank:
                lower = BUCKETS[i - 1] if i else 0.0
                upper = BUCKETS[i] if math.isfinite(BUCKETS[i]) else (self.lat_max or lower)
                estimate = lower + (upper - lower) * (rank - cumulative) / n
                break
            cumulative += n
        else:  # pragma: no cover - rank <= total always lands in a bucket
            estimate = self.lat_max or 0.0
        if self.lat_min is not None:
            estimate = max(estimate, self.lat_min)
        if self.lat_max is not None:
            estimate = min(estimate, self.lat_max)
        return estimate


@dataclass(frozen=True)
class Outage:
    """One endpoint's incident as stored: failures from `start` until the first good attempt at `end`."""

    start: float
    end: float | None
    """None while it lasts."""
    last_failure: float
    failures: int
    reason: str | None = None


@dataclass
class EndpointPeriod:
    """Everything a source knows about one endpoint over one period; history.py rolls these up."""

    service: str
    agency: str
    level: str
    endpoint: str
    counts: Counts = field(default_factory=Counts)
    outages: list[tuple[float, float, str | None, bool]] = field(default_factory=list)
    """(start, end, reason, ongoing), clipped to the period, in time order."""
    cert_expiry: float | None = None
    cert_seen_at: float | None = None
    cert_subject: str | None = None
    last_at: float | None = None
    locations: int | None = None
    """How many locations reported (read from the quorum series); None for one prober's own history."""
