"""Prometheus metrics: `survey_ratings_total{service,level}`, a request latency histogram, and how long each
group commit took and how many ratings it held (a durable commit waits for the disk's flush: when the
latency's tail grows, `survey_write_batch_duration_seconds` says whether the disk is why).

The ratings counter is read from the database at scrape time (cached a few seconds), so it is exact
across server processes and restarts. The histograms live in each process; with --workers N the
server sets PROMETHEUS_MULTIPROC_DIR and /metrics merges the processes' files.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from survey.models import Rating

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500)


class RatingsCollector(Collector):
    def __init__(self, engine: Engine, ttl: float = 5.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._lock = threading.Lock()
        self._at = -ttl
        self._counts: list[tuple[str, str, int]] = []

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("survey_ratings", "Ratings committed, by service and level (the rating's "
                                     "worst answer)", labels=["service", "level"])
        for service, level, n in self._read():
            family.add_metric([service, level], n)
        yield family

    def _read(self) -> list[tuple[str, str, int]]:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                t = Rating.__table__
                with self.engine.connect() as conn:
                    rows = conn.execute(select(t.c.service_id, t.c.level, func.count())
                                        .group_by(t.c.service_id, t.c.level).order_by(t.c.service_id, t.c.level))
                    self._counts = [(s, lv, n) for s, lv, n in rows]
                self._at = time.monotonic()
            return self._counts


class Metrics:
    """One app's metrics (its own registry, so several apps can live in one test process)."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        registry = None if self.multiprocess else self.registry
        self.latency = Histogram("survey_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=registry)
        self.commit_seconds = Histogram("survey_write_batch_duration_seconds", "Time to commit one batch of "
                                        "ratings durably (waiting for the write lock and the disk's flush included)",
                                        buckets=COMMIT_BUCKETS, registry=registry)
        self.batch_size = Histogram("survey_write_batch_ratings", "Ratings per committed batch (group commit)",
                                    buckets=BATCH_BUCKETS, registry=registry)
        self.ratings = RatingsCollector(engine)
        self.registry.register(self.ratings)

    def observe_commit(self, seconds: float, ratings: int) -> None:
        self.commit_seconds.observe(seconds)
        self.batch_size.observe(ratings)

    def exposition(self) -> bytes:
        if not self.multiprocess:
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged)
        merged.register(self.ratings)
        return generate_latest(merged)


class MetricsMiddleware:
    """Observe each request's latency, labelled by route template (never the raw path: bounded labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.histogram = metrics.latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.histogram.labels(scope["method"], route, str(status)).observe(time.perf_counter() - start)
