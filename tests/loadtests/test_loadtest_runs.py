"""`dvcops loadtest run` end to end against real servers on 127.0.51.x (the issue's "Must show" list).

One profile and one thresholds file; a fast server passes, a slow one and one failing 5% of requests
exit 1 naming each missed threshold with its observed value, an out-of-scope target exits 2 before
any connection, and distributed runs add up.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.runner import free_port
from loadtests.verdict import Verdict
from tests.conftest import ROOT, run_dvcops
from tests.loadtests.servers import TEST_PREFIX, Listener, TargetServer, target_server, write_catalog

pytestmark = pytest.mark.slow

PROFILE = """\
users: 10
spawn_rate: 10
duration: 4s
mix: {portal: 2, submit: 1, status: 1}
think_time: {min: 0.05s, max: 0.15s}
"""
THRESHOLDS = """\
thresholds:
  http_req_duration: ["p(95)<800", "avg<300", "max<5000"]
  http_req_failed: ["rate<0.01"]
  http_reqs: ["rps>5"]
  http_req_duration{name:portal.search}: ["p(95)<800"]
"""
NAMES = {"portal.home", "portal.search", "portal.service", "dossier.submit", "dossier.status"}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("loadtest-files")
    (d / "profile.yml").write_text(PROFILE)
    (d / "thresholds.yml").write_text(THRESHOLDS)
    return {"profile": d / "profile.yml", "thresholds": d / "thresholds.yml", "dir": d}


@pytest.fixture(scope="module")
def fast() -> Iterator[TargetServer]:
    with target_server(f"{TEST_PREFIX}.1", "fast") as server:
        yield server


def catalog_for(server: TargetServer, folder: Path, name: str) -> Path:
    return write_catalog(folder / f"{name}.yml", server.url)


def loadtest(files: dict[str, Path], catalog: Path, state: Path, *extra: str,
             profile: Path | None = None) -> tuple[subprocess.CompletedProcess[str], Verdict | None, Path | None]:
    out = state / "run"
    proc = run_dvcops("loadtest", "run", "--catalog", str(catalog), "--profile", str(profile or files["profile"]),
                      "--thresholds", str(files["thresholds"]), "--out", str(out), *extra, state=state, timeout=120)
    verdict = Verdict.read(out) if (out / "verdict.json").exists() else None
    return proc, verdict, out if out.exists() else None


def test_a_run_against_a_fast_server_passes(files: dict[str, Path], fast: TargetServer, tmp_path: Path) -> None:
    before = fast.requests
    proc, verdict, out = loadtest(files, catalog_for(fast, tmp_path, "fast"), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert verdict is not None and out is not None
    assert verdict.verdict == "pass" and verdict.missed == [] and verdict.stopped_by == "duration"
    assert all(r.ok for r in verdict.thresholds) and len(verdict.thresholds) == 6
    assert {r.name for r in verdict.requests} == NAMES
    assert verdict.totals.failures == 0 and verdict.exceptions == []
    # what the server received is what Locust counted (give or take requests cut off at the stop)
    received = fast.requests - before
    assert verdict.totals.requests <= received <= verdict.totals.requests + 10
    assert verdict.achieved_rps > 5
    assert "ĐẠT / PASS (exit 0)" in proc.stdout
    for report in ("report.html", "locust_stats.csv", "locust_failures.csv", "locust.json", "plan.json"):
        assert (out / report).stat().st_size > 0, report
    stats = json.loads((out / "locust.json").read_text())
    assert sum(e["num_requests"] for e in stats) == verdict.totals.requests


def test_the_same_thresholds_against_a_slow_server_exit_1_naming_each_miss(files: dict[str, Path],
                                                                           tmp_path: Path) -> None:
    with target_server(f"{TEST_PREFIX}.2", "slow", delay=1.0) as slow:
        proc, verdict, _ = loadtest(files, catalog_for(slow, tmp_path, "slow"), tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert verdict is not None and verdict.verdict == "fail"
    missed = {r.threshold: r for r in verdict.thresholds if not r.ok}
    assert {"http_req_duration: p(95)<800", "http_req_duration: avg<300",
            "http_req_duration{name:portal.search}: p(95)<800"} <= set(missed)
    for r in missed.values():
        if r.metric == "http_req_duration":
            assert r.observed is not None and r.observed >= 1000
            assert f"{r.threshold} — observed {r.observed_text}: MISSED" in verdict.missed
            assert f"✗ {r.threshold} — observed {r.observed_text}: MISSED" in proc.stdout
    assert {r.threshold for r in verdict.thresholds if r.ok} >= {"http_req_failed: rate<0.01",
                                                                  "http_req_duration: max<5000"}


def test_the_same_thresholds_against_a_server_failing_5_percent_exit_1(files: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    with target_server(f"{TEST_PREFIX}.3", "errors") as failing:
        proc, verdict, _ = loadtest(files, catalog_for(failing, tmp_path, "errors"), tmp_path)
        served_errors = failing.errors
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert verdict is not None
    [missed] = [r for r in verdict.thresholds if not r.ok]
    assert missed.threshold == "http_req_failed: rate<0.01"
    assert missed.observed is not None and 0.03 <= missed.observed <= 0.07
    assert verdict.missed == [missed.message] and "observed 0.0" in missed.message
    assert served_errors - 2 <= verdict.totals.failures <= served_errors  # less any cut off at the stop
    assert any("500" in e for e in verdict.errors)


def test_a_target_outside_the_catalogue_exits_2_and_sees_no_connection(files: dict[str, Path], fast: TargetServer,
                                                                        tmp_path: Path) -> None:
    outside = Listener(f"{TEST_PREFIX}.9")
    before = fast.requests
    try:
        catalog = catalog_for(fast, tmp_path, "fast")
        for option in ("--host", "--survey"):
            proc, verdict, out = loadtest(files, catalog, tmp_path, option, outside.url)
            assert proc.returncode == 2, proc.stdout + proc.stderr
            [line] = proc.stderr.strip().splitlines()
            assert line.startswith(f"{option} {outside.url}: outside the load-test scope")
            assert verdict is None and out is None
        time.sleep(0.5)
        assert outside.connections == 0
        assert fast.requests == before  # refused before a single request, to any target
    finally:
        outside.close()


def test_an_unreachable_target_exits_2_before_locust_starts(files: dict[str, Path], fast: TargetServer,
                                                             tmp_path: Path) -> None:
    closed = free_port(f"{TEST_PREFIX}.6")  # bound then released: nothing listens there
    extra = [{"id": "tam-tru", "name": "Đăng ký tạm trú", "agency": "so-tttt", "level": 4,
              "endpoints": [{"url": f"http://{TEST_PREFIX}.6:{closed}/dv/tam-tru"}]}]
    catalog = write_catalog(tmp_path / "down.yml", fast.url, extra_services=extra)
    proc, verdict, _ = loadtest(files, catalog, tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"target http://{TEST_PREFIX}.6:{closed}/dv/tam-tru is unreachable: "
                                   "connection refused; nothing was sent")
    assert verdict is None


def test_a_malformed_thresholds_file_exits_2_naming_file_and_line(files: dict[str, Path], fast: TargetServer,
                                                                   tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("thresholds:\n  http_req_duration:\n    - p(95)<800\n    - p(95) < fast\n")
    before = fast.requests
    proc = run_dvcops("loadtest", "run", "--catalog", str(catalog_for(fast, tmp_path, "fast")), "--profile",
                      str(files["profile"]), "--thresholds", str(bad), state=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"{bad}:4: thresholds.http_req_duration[1]: 'p(95) < fast' is not a threshold: "
                                   "expected AGGREGATION OPERATOR NUMBER, e.g. p(95)<800 or rate<0.01")
    assert fast.requests == before


def test_two_local_workers_complete_and_the_total_is_the_sum_over_workers(files: dict[str, Path],
                                                                          fast: TargetServer, tmp_path: Path) -> None:
    before = fast.requests
    proc, verdict, out = loadtest(files, catalog_for(fast, tmp_path, "fast"), tmp_path, "--workers", "2",
                                  "--master-bind-host", f"{TEST_PREFIX}.10")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert verdict is not None and out is not None
    own = [json.loads(p.read_text()) for p in sorted((out / "workers").glob("*.json"))]
    assert len(own) == 2 and all(w["requests"] > 0 for w in own)
    assert len({w["pid"] for w in own}) == 2
    assert verdict.totals.requests == sum(w["requests"] for w in own)  # what each worker counted itself
    assert verdict.totals.requests == sum(w.requests for w in verdict.workers)  # what they reported
    assert {w.worker for w in verdict.workers} == {w["worker"] for w in own}
    received = fast.requests - before
    assert verdict.totals.requests <= received <= verdict.totals.requests + 10
    assert "Workers: 2" in proc.stdout


def test_abort_on_fail_stops_the_run_early(files: dict[str, Path], tmp_path: Path) -> None:
    long = tmp_path / "long.yml"
    long.write_text(PROFILE.replace("duration: 4s", "duration: 30s"))
    (tmp_path / "abort.yml").write_text(
        "thresholds:\n  http_req_failed:\n    - {threshold: rate<0.01, abortOnFail: true, delayAbortEval: 1s}\n")
    with target_server(f"{TEST_PREFIX}.4", "errors") as failing:
        proc = run_dvcops("loadtest", "run", "--catalog", str(catalog_for(failing, tmp_path, "errors")),
                          "--profile", str(long), "--thresholds", str(tmp_path / "abort.yml"), "--out",
                          str(tmp_path / "run"), state=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    v = Verdict.read(tmp_path / "run")
    assert v.stopped_by.startswith("abortOnFail: http_req_failed: rate<0.01 — observed")
    assert v.duration_s < 15


def test_the_request_cap_bounds_a_run(files: dict[str, Path], fast: TargetServer, tmp_path: Path) -> None:
    capped = tmp_path / "capped.yml"
    capped.write_text(PROFILE.replace("duration: 4s", "duration: 30s") + "max_requests: 40\n")
    before = fast.requests
    proc, verdict, _ = loadtest(files, catalog_for(fast, tmp_path, "fast"), tmp_path, profile=capped)
    assert verdict is not None, proc.stdout + proc.stderr
    assert verdict.stopped_by == "request cap (40 requests)" and verdict.request_cap == 40
    assert verdict.totals.requests <= 40 and fast.requests - before <= 40
    assert verdict.duration_s < 15


def _master(files: dict[str, Path], catalog: Path, state: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "dvcops", "loadtest", "run", "--catalog", str(catalog), "--profile",
           str(files["profile"]), "--thresholds", str(files["thresholds"]), "--master", "--expect-workers", "1",
           "--master-bind-host", f"{TEST_PREFIX}.11", "--master-port", str(port), "--out", str(state / "run"),
           "--state", str(state), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _worker(files: dict[str, Path], catalog: Path, state: Path, port: int) -> subprocess.CompletedProcess[str]:
    return run_dvcops("loadtest", "run", "--catalog", str(catalog), "--profile", str(files["profile"]), "--worker",
                      "--master-host", f"{TEST_PREFIX}.11", "--master-port", str(port), "--expect-workers-wait", "20s",
                      "--out", str(state / "worker"), state=state, timeout=90)


def test_master_and_worker_processes_across_machines(files: dict[str, Path], fast: TargetServer,
                                                     tmp_path: Path) -> None:
    port = free_port(f"{TEST_PREFIX}.11")
    catalog = catalog_for(fast, tmp_path, "fast")
    master = _master(files, catalog, tmp_path, port, "--expect-workers-wait", "30s")
    try:
        worker = _worker(files, catalog, tmp_path, port)
        out, err = master.communicate(timeout=90)
    finally:
        master.kill()
    assert master.returncode == 0, out + err
    assert worker.returncode == 0, worker.stdout + worker.stderr
    v = Verdict.read(tmp_path / "run")
    [w] = v.workers
    assert w.requests == v.totals.requests > 0


def test_a_remote_worker_refuses_a_plan_outside_its_own_catalogue(files: dict[str, Path], fast: TargetServer,
                                                                   tmp_path: Path) -> None:
    port = free_port(f"{TEST_PREFIX}.11")
    before = fast.requests
    other = write_catalog(tmp_path / "other.yml", f"http://{TEST_PREFIX}.12:8080")  # does not list the fast server
    master = _master(files, catalog_for(fast, tmp_path, "fast"), tmp_path, port, "--expect-workers-wait", "30s")
    try:
        worker = _worker(files, other, tmp_path, port)
        out, err = master.communicate(timeout=90)
    finally:
        master.kill()
    assert master.returncode == 2, out + err
    assert worker.returncode == 2
    v = Verdict.read(tmp_path / "run")
    assert v.verdict == "refused" and v.stopped_by == "refused by a worker"
    [reason] = v.refused
    assert f"portal {fast.url}: outside the load-test scope — not an endpoint of {other}" in reason
    assert v.totals.requests == 0 and fast.requests == before


def test_a_master_whose_workers_never_come_exits_2(files: dict[str, Path], fast: TargetServer,
                                                    tmp_path: Path) -> None:
    port = free_port(f"{TEST_PREFIX}.11")
    proc = run_dvcops("loadtest", "run", "--catalog", str(catalog_for(fast, tmp_path, "fast")), "--profile",
                      str(files["profile"]), "--master", "--expect-workers", "2", "--expect-workers-wait", "2s",
                      "--master-bind-host", f"{TEST_PREFIX}.11", "--master-port", str(port), state=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("workers did not connect within 2s (expected 2); nothing was sent")
    with socket.socket() as s:  # the master is gone: its port is free again
        s.bind((f"{TEST_PREFIX}.11", port))


def test_a_worker_whose_master_never_answers_exits_2(files: dict[str, Path], fast: TargetServer,
                                                      tmp_path: Path) -> None:
    port = free_port(f"{TEST_PREFIX}.11")
    t0 = time.monotonic()
    proc = run_dvcops("loadtest", "run", "--catalog", str(catalog_for(fast, tmp_path, "fast")), "--profile",
                      str(files["profile"]), "--worker", "--master-host", f"{TEST_PREFIX}.11", "--master-port",
                      str(port), "--expect-workers-wait", "2s", state=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"master {TEST_PREFIX}.11:{port} did not answer within 2s; nothing was sent"
    assert time.monotonic() - t0 < 20


def test_a_target_arrival_rate_is_reported_against_what_was_achieved(files: dict[str, Path], fast: TargetServer,
                                                                      tmp_path: Path) -> None:
    paced = tmp_path / "paced.yml"
    paced.write_text("users: 5\nspawn_rate: 5\nduration: 5s\nmix: {portal: 1}\narrival_rate: 20\n")
    proc, verdict, _ = loadtest(files, catalog_for(fast, tmp_path, "fast"), tmp_path, profile=paced)
    assert verdict is not None and verdict.arrival is not None, proc.stdout + proc.stderr
    assert verdict.arrival.target_rps == 20
    assert 14 <= verdict.arrival.achieved_rps <= 22  # 5 users paced at 4 tasks/s each, less the ramp-up
    assert verdict.arrival.ratio == round(verdict.arrival.achieved_rps / 20, 3)
    assert f"Arrival rate: target 20 req/s, achieved {verdict.arrival.achieved_rps:.1f}" in proc.stdout
