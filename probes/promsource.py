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

Several locations (the quorum rules of `dvcops probe rules` loaded): a service's uptime is read from
`probe:service_up:quorum`, one verdict per rule evaluation, instead of from any one prober's
counters. Each service then has one row, endpoint `quorum`, whose attempts are the evaluations in
the period, its successes those the quorum saw up, its outages the runs of evaluations it saw down,
and `locations` the most locations that reported at once. Journeys come from `probe_journey_*`.
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
        quorum = self.collect_quorum(start, at, rng)
        if quorum:
            services = {(k[0], k[1], k[2]) for k in quorum}
            latency = {k: v for k, v in eps.items() if (k[0], k[1], k[2]) in services}
            eps = {k: v for k, v in eps.items() if (k[0], k[1], k[2]) not in services}
            for key, ep in quorum.items():
                for other in latency.values():
                    if other.service == ep.service:
                        _merge_latency(ep, other)
                eps[key] = ep
        eps.update(self.collect_journeys(start, at, rng))
        return list(eps.values())

    # ------------------------------------------------------------------ locations and journeys (issue 19)

    def collect_quorum(self, start: float, at: float, rng: str) -> dict[Key, EndpointPeriod]:
        """Per service, from the quorum series (empty when the quorum rules are not loaded)."""
        by = "service, agency, level"
        samples = self.query(f"sum by ({by}) (count_over_time(probe:service_up:quorum{rng}))", at)
        if not samples:
            return {}
        ups = self.query(f"sum by ({by}) (sum_over_time(probe:service_up:quorum{rng}))", at)
        reporting = self.query(f"max by ({by}) (max_over_time(probe:locations_reporting:count{rng}))", at)
        down = self._runs("probe:service_up:quorum == 0", start, at, by)
        out: dict[Key, EndpointPeriod] = {}
        for key, n in samples.items():
            ep = out[key[:3] + ("quorum",)] = EndpointPeriod(key[0], key[1], key[2], "quorum")
            ep.counts.attempts = round(n)
            ep.counts.successes = round(ups.get(key, 0.0))
            ep.locations = round(reporting[key]) if key in reporting else None
            ep.outages = [(a, b, "quorum", ongoing) for a, b, _, ongoing in down.get(key, [])]
        return out

    def collect_journeys(self, start: float, at: float, rng: str) -> dict[Key, EndpointPeriod]:
        """Journeys' runs, charged failures (reason: the step) and outages, as endpoints `journey:<name>`."""
        by = "service, agency, level, journey"
        attempts = self.query_by(f"sum by ({by}) (increase(probe_journey_attempts_total{rng}))", at, "journey")
        if not attempts:
            return {}
        failures = self.query_by(f"sum by ({by}) (increase(probe_journey_failures_total{rng}))", at, "journey")
        excluded = self.query_by(f"sum by ({by}) (increase(probe_journey_excluded_total{rng}))", at, "journey")
        runs = self._runs(f"sum by ({by}, step) (increase(probe_journey_failures_total[{{step}}s])) > 0", start, at,
                          f"{by}, step", label="journey", reason_label="step")
        out: dict[Key, EndpointPeriod] = {}
        for (key, journey), n in attempts.items():
            ep = EndpointPeriod(key[0], key[1], key[2], f"journey:{journey}")
            c = ep.counts
            c.attempts, c.unknowns = round(n), round(excluded.get((key, journey), 0.0))
            c.successes = max(0, c.charged - round(failures.get((key, journey), 0.0)))
            ep.outages = runs.get(key[:3] + (journey,), [])
            out[(key[0], key[1], key[2], ep.endpoint)] = ep
        return out

    def _runs(self, expr: str, start: float, end: float, by: str, label: str = "endpoint",
              reason_label: str = "") -> dict[Key, list[tuple[float, float, str | None, bool]]]:
        """Steps at which `expr` has a value, merged into (start, end, reason, ongoing) runs per series."""
        span = end - start
        step = self.step or max(math.ceil(span / 10_000), min(60, max(5, math.ceil(span / 20))))
        series = self._get("/api/v1/query_range", {"query": expr.replace("{step}", str(int(step))),
                                                   "start": min(start + step, end), "end": end, "step": step})
        runs: dict[Key, list[tuple[float, float, str | None, bool]]] = {}
        for s in series:
            m = s["metric"]
            last = m.get(label, "") if label != "endpoint" else ""
            key = (m.get("service", ""), m.get("agency", ""), m.get("level", ""), last)
            merged: list[list[Any]] = []
            for t, _ in s["values"]:
                t = float(t)
                if merged and t - merged[-1][1] <= step * 2.01:
                    merged[-1][1] = t
                else:
                    merged.append([max(start, t - step), t, m.get(reason_label) if reason_label else None])
            runs.setdefault(key, []).extend((a, b, r, end - b < step) for a, b, r in merged)
        for v in runs.values():
            v.sort()
        return runs

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


def _merge_latency(into: EndpointPeriod, other: EndpointPeriod) -> None:
    """Latency of a service's endpoints (all locations) onto its quorum row."""
    c, o = into.counts, other.counts
    c.lat_count += o.lat_count
    c.lat_sum += o.lat_sum
    c.buckets = [a + b for a, b in zip(c.buckets, o.buckets, strict=True)]
    if o.lat_min is not None:
        c.lat_min = o.lat_min if c.lat_min is None else min(c.lat_min, o.lat_min)
    if o.lat_max is not None:
        c.lat_max = o.lat_max if c.lat_max is None else max(c.lat_max, o.lat_max)
    if other.cert_expiry is not None:
        into.cert_expiry = other.cert_expiry if into.cert_expiry is None else min(into.cert_expiry, other.cert_expiry)
        into.cert_seen_at = other.cert_seen_at
