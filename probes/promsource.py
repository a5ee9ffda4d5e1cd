"""The same history answers from a Prometheus server that scrapes `dvcops probe serve`.

For provinces that already keep metrics in Prometheus (`dvcops probe uptime --source prometheus
--url URL`). Over a period [start, end) it asks, at `end` (or now, if the period has not ended):

- attempts, charged failures and excluded attempts: `increase(...[<period>])` of the counters
  `probe_attempts_total`, `probe_failures_total`, `probe_excluded_total`, rounded to whole attempts;
- latency: `increase()` of the `probe_attempt_duration_seconds` histogram buckets;
- incidents: `probe_failures_total` increasing, per step (60 s for periods of 20 minutes or more,
  at most 10,000 steps over the period; 5 s at least), merged into outages; their start and end
  are exact to one step, and the step must not be shorter than the scrape interval;
- certificates: the latest `probe_ssl_earliest_cert_expiry`.

`increase()` extrapolates to the range's edges, so counts can differ from the SQLite history by an
attempt or two per endpoint, and Prometheus only answers for as long as its retention.
"""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from probes.errors import ProbeError
from probes.rollup import BUCKETS, EndpointPeriod

BY = "service, agency, level, endpoint"
Key = tuple[str, str, str, str]


def _key(metric: dict[str, str]) -> Key:
    return (metric.get("service", ""), metric.get("agency", ""), metric.get("level", ""), metric.get("endpoint", ""))


class PrometheusSource:
    name = "prometheus"

    def __init__(self, url: str, timeout: float = 30.0, step: float | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProbeError(f"--url {url!r}: expected the Prometheus server's address, e.g. http://127.0.0.1:9090")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.step = step

    def _get(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            resp = httpx.get(f"{self.url}{path}", params=params, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ProbeError(f"Prometheus at {self.url}: {exc.__class__.__name__}: {exc}") from None
        try:
            body = resp.json()
        except ValueError:
            raise ProbeError(f"Prometheus at {self.url}: HTTP {resp.status_code}, not a Prometheus API "
                             "answer") from None
        if body.get("status") != "success":
            raise ProbeError(f"Prometheus at {self.url}: {body.get('errorType', 'error')}: {body.get('error', '')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def query(self, expr: str, at: float) -> dict[Key, float]:
        rows = self._get("/api/v1/query", {"query": expr, "time": at})
        return {_key(r["metric"]): float(r["value"][1]) for r in rows}

    def query_by(self, expr: str, at: float, label: str) -> dict[tuple[Key, str], float]:
        return {(_key(r["metric"]), r["metric"].get(label, "")): float(r["value"][1])
                for r in self._get("/api/v1/query", {"query": expr, "time": at})}

    def collect(self, start: float, end: float) -> list[EndpointPeriod]:
        at = min(end, time.time())
        seconds = int(at - start)
        if seconds < 1:
            return []
        rng = f"[{seconds}s]"
        attempts = self.query(f"sum by ({BY}) (increase(probe_attempts_total{rng}))", at)
        failures = self.query(f"sum by ({BY}) (increase(probe_failures_total{rng}))", at)
        excluded = self.query_by(f"sum by ({BY}, cause) (increase(probe_excluded_total{rng}))", at, "cause")
        buckets = self.query_by(f"sum by ({BY}, le) (increase(probe_attempt_duration_seconds_bucket{rng}))", at, "le")
        lat_sum = self.query(f"sum by ({BY}) (increase(probe_attempt_duration_seconds_sum{rng}))", at)
        certs = self.query(f"max by ({BY}) (probe_ssl_earliest_cert_expiry)", at)
        eps: dict[Key, EndpointPeriod] = {}
        for key, n in attempts.items():
            ep = eps[key] = EndpointPeriod(*key)
            c = ep.counts
            c.attempts = round(n)
            c.maintenance = round(excluded.get((key, "maintenance"), 0.0))
            c.unknowns = round(excluded.get((key, "unknown"), 0.0))
            c.successes = max(0, c.charged - round(failures.get(key, 0.0)))
            cumulative = [round(buckets.get((key, "+Inf" if math.isinf(b) else repr(b)), 0.0)) for b in BUCKETS]
            c.buckets = [max(0, n - (cumulative[i - 1] if i else 0)) for i, n in enumerate(cumulative)]
            c.lat_count, c.lat_sum = cumulative[-1], lat_sum.get(key, 0.0)
            if key in certs:
                ep.cert_expiry, ep.cert_seen_at = certs[key], at
        for key, outages in self.outages(start, at).items():
            if key in eps:
                eps[key].outages = outages
        return list(eps.values())

    def outages(self, start: float, end: float) -> dict[Key, list[tuple[float, float, str | None, bool]]]:
        """Steps in which charged failures increased, merged into (start, end, reason, ongoing) runs."""
        span = end - start
        step = self.step or max(math.ceil(span / 10_000), min(60, max(5, math.ceil(span / 20))))
        expr = f"sum by ({BY}, reason) (increase(probe_failures_total[{int(step)}s])) > 0"
        series = self._get("/api/v1/query_range", {"query": expr, "start": min(start + step, end), "end": end,
                                                   "step": step})
        runs: dict[Key, list[tuple[float, float, str | None, bool]]] = {}
        points: dict[Key, dict[float, str]] = {}
        for s in series:
            for t, _ in s["values"]:
                points.setdefault(_key(s["metric"]), {}).setdefault(float(t), s["metric"].get("reason", ""))
        for key, at_reason in points.items():
            merged: list[list[Any]] = []
            for t in sorted(at_reason):
                if merged and t - merged[-1][1] <= step * 2.01:  # one empty step (a missed scrape) is no recovery
                    merged[-1][1] = t
                else:
                    merged.append([max(start, t - step), t, at_reason[t]])
            runs[key] = [(a, b, reason or None, end - b < step) for a, b, reason in merged]
        return runs
