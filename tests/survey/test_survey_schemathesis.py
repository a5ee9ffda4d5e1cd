"""schemathesis (its CLI, as an operator would run it) against the live server's /openapi.json: no 5xx,
and every response matches the schema (status code, content type, headers, body), for anonymous and
admin callers. (Its pytest plugin's lazy fixtures do not run on pytest 9, hence the CLI.)"""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.survey.helpers import ADMIN, PREFIX, LiveServer, make_settings

pytestmark = pytest.mark.slow
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")
AUTH = "Authorization: Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, catalog_path: Path) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("survey-schemathesis")
    settings = make_settings(catalog_path, folder, f"sqlite:///{folder / 'r.sqlite3'}")
    with LiveServer(settings, host=f"{PREFIX}.103") as server:
        yield server


def schemathesis(live: LiveServer, folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).parent / "schemathesis"
    return subprocess.run([str(cli), "run", f"{live.url}/openapi.json", "--checks", CHECKS, "--max-examples", "30",
                           "--seed", "766", "--request-timeout", "10", "--report", "junit",
                           "--report-junit-path", str(folder / "junit.xml"), *extra],
                          capture_output=True, text=True, cwd=folder, timeout=300)


@pytest.mark.parametrize("caller", ["anonymous", "admin"])
def test_schemathesis_finds_no_5xx_and_no_schema_violation(live: LiveServer, tmp_path: Path, caller: str) -> None:
    run = schemathesis(live, tmp_path, *(["-H", AUTH] if caller == "admin" else []))
    summary = run.stdout[run.stdout.rfind("SUMMARY"):]
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Tested: 11" in summary and " passed" in summary and "failure" not in summary
    assert "<testsuite" in (tmp_path / "junit.xml").read_text()


def test_the_schema_documents_every_api_operation(live: LiveServer) -> None:
    raw = httpx.get(f"{live.url}/openapi.json").json()
    operations = {(m.upper(), p) for p, item in raw["paths"].items() for m in item}
    assert operations == {
        ("POST", "/api/v1/ratings"), ("GET", "/api/v1/ratings"), ("GET", "/api/v1/ratings.csv"),
        ("GET", "/api/v1/stats"), ("GET", "/api/v1/services"), ("GET", "/api/v1/instruments"),
        ("GET", "/api/v1/windows"), ("PUT", "/api/v1/windows/{service_id}"), ("DELETE", "/api/v1/windows/{service_id}"),
        ("GET", "/healthz"), ("GET", "/metrics")}
    assert set(raw["paths"]["/api/v1/ratings"]["post"]["responses"]) >= {"201", "409", "413", "422", "429", "503"}
    example = raw["components"]["schemas"]["RatingCreate"]["examples"][0]
    assert httpx.post(f"{live.url}/api/v1/ratings", json=example).status_code in (201, 409)  # the example is valid
    assert httpx.get(f"{live.url}/docs").status_code == 200
