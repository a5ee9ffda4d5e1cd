"""/metrics (survey_ratings_total{service,level} and the latency histogram) and /healthz."""

from __future__ import annotations

import re
import uuid

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.survey.helpers import LiveServer, rating


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for fam in text_string_to_metric_families(text)
            for s in fam.samples if s.name == name}


def test_ratings_counter_follows_the_database(api: httpx.Client, server: LiveServer) -> None:
    server.app.state.metrics.ratings.ttl = 0  # read the database at every scrape (normally cached 5 s)

    def count() -> float:
        found = samples(api.get("/metrics").text, "survey_ratings_total")
        return found.get((("level", "rat-khong-hai-long"), ("service", "giay-phep-lai-xe")), 0.0)

    before = count()
    for _ in range(3):
        body = rating(f"M-{uuid.uuid4().hex[:10]}", instrument="5-muc", level="rat-khong-hai-long",
                      service="giay-phep-lai-xe")
        assert api.post("/api/v1/ratings", json=body).status_code == 201
    assert count() == before + 3


def test_latency_histogram_is_labelled_by_route_template(api: httpx.Client) -> None:
    api.get("/danh-gia/cong-thong-tin", params={"ma_ho_so": "SECRET-CODE-42"})
    api.get("/khong-ton-tai/12345")
    text = api.get("/metrics").text
    buckets = samples(text, "survey_http_request_duration_seconds_bucket")
    routes = {dict(k)["route"] for k in buckets}
    assert "/danh-gia/{service_id}" in routes and "/api/v1/ratings" in routes and "unmatched" in routes
    assert "SECRET-CODE-42" not in text and "12345" not in text  # no raw paths, no dossier codes
    le = sorted({float(dict(k)["le"]) for k in buckets})
    assert 0.05 in le and le[-1] == float("inf")


def test_healthz_reports_the_database(api: httpx.Client) -> None:
    resp = api.get("/healthz")
    assert resp.status_code == 200 and resp.json() == {"status": "ok", "database": "ok"}
    assert re.match(r"application/json", resp.headers["content-type"])


def test_group_commits_are_measured(api: httpx.Client) -> None:
    def totals() -> tuple[float, float, float]:
        text = api.get("/metrics").text
        return (samples(text, "survey_write_batch_ratings_sum").get((), 0.0),
                samples(text, "survey_write_batch_duration_seconds_count").get((), 0.0),
                samples(text, "survey_write_batch_duration_seconds_sum").get((), 0.0))

    ratings, batches, seconds = totals()
    for _ in range(4):
        assert api.post("/api/v1/ratings", json=rating(f"B-{uuid.uuid4().hex[:10]}")).status_code == 201
    after = totals()
    assert after[0] == ratings + 4  # every committed rating is in exactly one batch
    assert batches + 1 <= after[1] <= batches + 4 and after[2] > seconds
