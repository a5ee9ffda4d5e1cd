"""Helpers for the survey tests (imported as tests.survey.helpers): addresses, valid rating bodies,
settings, a fresh database per test, and a survey server on a loopback address.

Addresses (the survey's prefix is 127.0.40; PostgreSQL for tests on 127.0.41):
127.0.40.100 API servers · .101 browser · .102 crash test · .103 schemathesis · .104 CLI ·
.150-.199 client source addresses (rate limits are per client) · .1-.8/.53/.254 a lab · 127.0.41.1 PostgreSQL.
"""

from __future__ import annotations

import itertools
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from dvcops.catalog import Catalog
from survey.core.config import SurveySettings, load_settings
from survey.instruments import load_instruments
from survey.main import create_app
from survey.schemas import RatingCreate
from survey.validation import NewRating, prepare
from tests.pg import PostgresServer, free_port

PREFIX = "127.0.40"
API_HOST = f"{PREFIX}.100"
PG_HOST = "127.0.41.1"
HMAC_KEY = "k" * 16 + "test-key-not-secret-0123456789"
ADMIN = ("admin", "mật-khẩu-thử-nghiệm-123")
Q3 = ["tiep-can", "thu-tuc", "cong-chuc", "ket-qua", "phan-anh"]
Q5 = ["tiep-can", "thu-tuc", "cong-chuc-thai-do", "cong-chuc-huong-dan", "ket-qua", "phan-anh"]
_schemas = itertools.count(1)


def rating(code: str, level: str = "hai-long", service: str = "dang-ky-kinh-doanh", instrument: str = "3-muc",
           **extra: Any) -> dict[str, Any]:
    """A valid API rating body with every answer at `level` (override with answers=...)."""
    questions = Q3 if instrument == "3-muc" else Q5
    return {"service_id": service, "dossier_code": code, "instrument": instrument,
            "answers": {q: level for q in questions}, "channel": "api", **extra}


def new_database(kind: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """A fresh, empty database URL: a new SQLite file, or a new schema in the test PostgreSQL."""
    if kind == "sqlite":
        return f"sqlite:///{folder / 'ratings.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("pg")
    return server.create_schema("postgres", f"t{next(_schemas)}")


def make_settings(catalog_path: Path, state: Path, database_url: str, **overrides: Any) -> SurveySettings:
    values: dict[str, Any] = {"catalog": catalog_path, "state": state, "database_url": database_url,
                              "hmac_key": HMAC_KEY, "admin_user": ADMIN[0], "admin_password": ADMIN[1],
                              "rate_limit_per_minute": 100_000}
    return load_settings(**{**values, **overrides})


class LiveServer:
    """A survey app served by uvicorn in a thread on a loopback address: real sockets, real HTTP."""

    def __init__(self, settings: SurveySettings, host: str = API_HOST) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.host, self.port = host, free_port(host)
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning", access_log=False,
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("survey test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    def client(self, source: str | None = None, **kw: Any) -> httpx.Client:
        """An HTTP client; `source` binds it to a client address (rate limits are per address)."""
        transport = httpx.HTTPTransport(local_address=source) if source else None
        return httpx.Client(base_url=self.url, timeout=10, transport=transport, **kw)


def new_rating(catalog: Catalog, dossier: str, service: str = "dang-ky-kinh-doanh") -> NewRating:
    """A rating prepared for survey.batch.write_batch (validated and derived, as the API would)."""
    body = RatingCreate.model_validate({
        "service_id": service, "dossier_code": dossier, "instrument": "3-muc", "channel": "api",
        "answers": {"tiep-can": "rat-hai-long", "thu-tuc": "hai-long", "cong-chuc": "hai-long",
                    "ket-qua": "rat-hai-long", "phan-anh": "khong-hai-long"}})
    return prepare(body, {s.id: s for s in catalog.services}, load_instruments(), b"k" * 32, date(2026, 11, 22))
