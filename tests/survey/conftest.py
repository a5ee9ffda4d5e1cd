"""Survey test fixtures: the lab's catalogue, SQLite and a real PostgreSQL, survey servers on loopback
(helpers and addresses: tests/survey/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from dvcops.catalog import Catalog, load_catalog
from lab import LabSpec
from tests.pg import PostgresServer
from tests.survey.helpers import ADMIN, PG_HOST, PREFIX, LiveServer, make_settings, new_database


@pytest.fixture(scope="session")
def catalog_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab's catalogue (7 services, 5 agencies) on the survey's prefix, as a file."""
    path = tmp_path_factory.mktemp("survey-catalog") / "lab.yml"
    path.write_text(yaml.safe_dump(LabSpec(prefix=PREFIX).catalog("ca.pem"), allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def catalog(catalog_path: Path) -> Catalog:
    return load_catalog(catalog_path)


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    """One real PostgreSQL for the whole session (started only if a test asks for it)."""
    with PostgresServer(PG_HOST) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return new_database(request.param, request, tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, catalog_path: Path
           ) -> Iterator[LiveServer]:
    """A survey server per database kind, shared by a module's tests (they use distinct dossier codes)."""
    folder = tmp_path_factory.mktemp(f"survey-{request.param}")
    url = new_database(request.param, request, folder)
    with LiveServer(make_settings(catalog_path, folder / "state", url)) as live:
        yield live


@pytest.fixture
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with server.client(auth=ADMIN) as client:
        yield client
