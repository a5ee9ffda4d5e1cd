"""When PostgreSQL goes away the server stays up: ratings get 503 with Retry-After (never a false 201),
the citizen's form says the rating was not recorded, /healthz says "degraded" at once, and both answer
quickly; when the database is back, ratings are accepted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.pg import PostgresServer
from tests.survey.helpers import LiveServer, make_settings, rating
from tests.survey.test_survey_form import FORM, answers, csrf_of

pytestmark = pytest.mark.slow


def test_a_database_outage_is_503_and_degraded_not_a_hang(tmp_path: Path, catalog_path: Path) -> None:
    pg = PostgresServer("127.0.41.3").start()
    try:
        url = pg.create_database("outage")
        with LiveServer(make_settings(catalog_path, tmp_path, url)) as live, live.client() as client:
            assert client.post("/api/v1/ratings", json=rating("OUT-1")).status_code == 201
            token = csrf_of(client.get(FORM).text)  # a citizen opened the form before the outage
            pg.stop(keep=True)
            time.sleep(1.1)  # the health check's cached database state expires
            t0 = time.monotonic()
            refused = client.post("/api/v1/ratings", json=rating("OUT-2"))
            health = client.get("/healthz")
            assert time.monotonic() - t0 < 15
            assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
            assert health.status_code == 503 and health.json() == {"status": "degraded", "database": "unreachable"}
            assert client.get("/api/v1/instruments").status_code == 200  # what needs no database still works
            sent = client.post(FORM, data={"csrf": token, "ma_ho_so": "OUT-3", "instrument": "3-muc",
                                           **answers()})
            assert sent.status_code == 503 and "đánh giá chưa được ghi nhận" in sent.text  # not "invalid value"
            pg.start()  # the same cluster, address and port
            time.sleep(1.1)
            assert client.get("/healthz").status_code == 200
            assert client.post("/api/v1/ratings", json=rating("OUT-2")).status_code == 201  # pool reconnects
    finally:
        pg.stop()
