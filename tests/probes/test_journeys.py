"""Journeys against the lab's e-service (its own lab on 127.0.111.x, the exporter on 127.0.110.1): the
submit-and-check journey succeeds, then fails at `tra-cuu` when the lab's status page breaks; the step is
named in the metrics and in the uptime table. A journey that writes data does not run outside the
environments that allow it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from dvcops.system import stop_process
from lab import Lab
from tests.conftest import ROOT, run_dvcops, start_lab

pytestmark = pytest.mark.slow
EXPORTER = "127.0.110.1:9115"
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def jlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from start_lab(tmp_path_factory, "127.0.111")


def _catalog(lab: Lab, folder: Path) -> Path:
    data = yaml.safe_load(lab.catalog_path.read_text(encoding="utf-8"))
    data["defaults"]["interval"] = "30s"
    for s in data["services"]:
        for j in s.get("journeys", []):
            j["interval"] = "1s"
    path = folder / "catalog.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _metrics() -> str:
    return httpx.get(f"http://{EXPORTER}/metrics", timeout=5).text


def _wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _serve(catalog: Path, state: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "dvcops", "probe", "serve", "--catalog", str(catalog),
                             "--listen", EXPORTER, "--state", str(state), *extra], cwd=ROOT,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, env={**os.environ})


def test_journey_succeeds_then_fails_at_the_status_step(jlab: Lab, tmp_path: Path) -> None:
    catalog = _catalog(jlab, tmp_path)
    state = tmp_path / "state"
    start = datetime.now(TZ) - timedelta(seconds=1)
    serve = _serve(catalog, state, tmp_path / "serve.log", "--environment", "lab")
    try:
        ok = 'probe_journey_success{service="dang-ky-kinh-doanh",agency="so-khdt",level="toan-trinh",' \
             'journey="nop-ho-so"} 1'
        _wait(lambda: ok in _metrics(), 30, "a successful journey")
        text = _metrics()
        for step in ("mo-bieu-mau", "nop-ho-so", "tra-cuu"):
            assert f'probe_journey_step_success{{service="dang-ky-kinh-doanh",agency="so-khdt",level="toan-trinh",' \
                   f'journey="nop-ho-so",step="{step}"}} 1' in text
            assert f'step="{step}"' in text.split("probe_journey_step_duration_seconds", 2)[2]
        assert "probe_journey_failed_step" not in text
        jlab.action("break-status", host="lab-dvc-1")
        try:
            _wait(lambda: 'probe_journey_failed_step{service="dang-ky-kinh-doanh",agency="so-khdt",'
                          'level="toan-trinh",journey="nop-ho-so",step="tra-cuu",reason="status"} 1' in _metrics(),
                  30, "the journey failing at tra-cuu")
            text = _metrics()
            assert ok.replace("} 1", "} 0") in text
            # the first two steps still pass: the failure is the status page's, not the form's
            assert 'journey="nop-ho-so",step="nop-ho-so"} 1' in text
            assert 'journey="nop-ho-so",step="tra-cuu"} 0' in text
            failures = [line for line in text.splitlines() if line.startswith("probe_journey_failures_total")]
            assert any('step="tra-cuu"' in line and not line.endswith(" 0") for line in failures), failures
            assert all(line.endswith(" 0") for line in failures if 'step="tra-cuu"' not in line), failures
            time.sleep(2)
        finally:
            jlab.action("restore", host="lab-dvc-1")
    finally:
        stop_process(serve)
    end = datetime.now(TZ) + timedelta(seconds=1)
    args = ["probe", "uptime", "--catalog", str(catalog), "--from", start.isoformat(), "--to", end.isoformat()]
    rep = run_dvcops(*args, "--json", state=state)
    assert rep.returncode in (0, 1), rep.stderr
    journeys = json.loads(rep.stdout)["journeys"]
    assert [(j["service"], j["id"]) for j in journeys] == [("dang-ky-kinh-doanh", "nop-ho-so")]
    j = journeys[0]
    assert j["failed_step"] == "tra-cuu" and j["incidents"] >= 1 and 0 < j["uptime"] < 1, j
    services = {s["id"]: s for s in json.loads(rep.stdout)["services"]}
    assert services["dang-ky-kinh-doanh"]["incidents"] == 0  # the journey's rows are its own
    table = run_dvcops(*args, "--lang", "en", state=state)
    assert "Journeys" in table.stdout and "tra-cuu" in table.stdout, table.stdout


def test_a_writing_journey_does_not_run_where_it_is_not_allowed(jlab: Lab, tmp_path: Path) -> None:
    catalog = _catalog(jlab, tmp_path)
    log = tmp_path / "serve.log"
    serve = _serve(catalog, tmp_path / "state", log, "--environment", "production")
    try:
        _wait(lambda: "probe_success{" in _metrics(), 30, "the exporter probing")
        time.sleep(2)
        assert "probe_journey" not in _metrics()
    finally:
        stop_process(serve)
    assert "journey dang-ky-kinh-doanh/nop-ho-so writes data and is not allowed in environment 'production'" \
        in log.read_text()
