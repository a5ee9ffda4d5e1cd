"""A real Prometheus (Debian package) scrapes `dvcops probe serve` probing the lab: its HTTP API returns
probe_success for the lab's services, the rules load, SIGHUP reloads without resetting counters,
and `dvcops probe uptime --source prometheus` answers from it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from dvcops.system import require_program, stop_process
from lab import Lab
from tests.conftest import ROOT, run_dvcops, wait_for

pytestmark = pytest.mark.slow
EXPORTER = "127.0.31.100:9115"
PROMETHEUS = "127.0.31.101:9090"






@pytest.fixture(scope="module")
def stack(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    tmp = tmp_path_factory.mktemp("prom")
    data = yaml.safe_load(lab.catalog_path.read_text(encoding="utf-8"))
    data["defaults"]["interval"] = "1s"  # probe every second so the test is short
    catalog = tmp / "catalog.yml"
    catalog.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    state = tmp / "state"
    serve_log = (tmp / "serve.log").open("wb")
    serve = subprocess.Popen([sys.executable, "-m", "dvcops", "probe", "serve", "--catalog", str(catalog),
                              "--listen", EXPORTER, "--state", str(state)], cwd=ROOT, stdout=serve_log,
                             stderr=subprocess.STDOUT, env={**os.environ, "DVCOPS_PROBE_JITTER": "0.2"})
    (tmp / "rules.yml").write_text(run_dvcops("probe", "rules", "--catalog", str(catalog)).stdout, encoding="utf-8")
    (tmp / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(tmp / "rules.yml")],
        "scrape_configs": [{"job_name": "dvcops_prober", "static_configs": [{"targets": [EXPORTER]}]}],
    }))
    prom = subprocess.Popen([str(require_program("prometheus")), f"--config.file={tmp / 'prometheus.yml'}",
                             f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address={PROMETHEUS}"],
                            stdout=(tmp / "prometheus.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: httpx.get(f"http://{EXPORTER}/-/healthy", timeout=2).status_code == 200, 30, "the exporter")
        wait_for(lambda: httpx.get(f"http://{PROMETHEUS}/-/ready", timeout=2).status_code == 200, 30, "Prometheus")
        yield {"catalog": catalog, "state": state, "tmp": tmp, "serve_pid": Path(str(serve.pid))}
    finally:
        stop_process(prom)
        stop_process(serve)
        serve_log.close()


def _query(expr: str) -> list[dict[str, object]]:
    body = httpx.get(f"http://{PROMETHEUS}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert body["status"] == "success", body
    result: list[dict[str, object]] = body["data"]["result"]
    return result


def _metrics() -> str:
    return httpx.get(f"http://{EXPORTER}/metrics", timeout=5).text


def test_prometheus_api_returns_probe_success_for_the_lab_services(stack: dict[str, Path]) -> None:
    def success() -> dict[str, float]:
        rows = _query("min by (service) (probe_success)")
        return {str(r["metric"]["service"]): float(r["value"][1]) for r in rows if len(rows) >= 7}  # type: ignore[index]

    by_service = wait_for(success, 40, "probe_success for every lab service")
    assert isinstance(by_service, dict)
    assert by_service["cong-thong-tin"] == 1 and by_service["co-so-du-lieu"] == 1
    assert by_service["tam-tru-tam-vang"] == 0 and by_service["giay-phep-xay-dung"] == 0
    rows = _query('probe_failures_total{service="tam-tru-tam-vang", reason="connect"}')
    assert rows and float(rows[0]["value"][1]) >= 1  # type: ignore[index]


def test_metrics_pass_promtool_and_rules_load(stack: dict[str, Path]) -> None:
    done = subprocess.run([str(require_program("promtool")), "check", "metrics"], input=_metrics(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr

    def rules_ok() -> bool:
        groups = httpx.get(f"http://{PROMETHEUS}/api/v1/rules", timeout=5).json()["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return bool(rules) and all(r["health"] == "ok" for r in rules) and any(
            r.get("lastEvaluation", "").startswith("20") for r in rules)

    wait_for(rules_ok, 30, "rules loaded and evaluated without error")
    wait_for(lambda: _query('probe:sli_error:ratio_rate5m{service="tam-tru-tam-vang"}'), 30, "the SLI recording rule")


def test_uptime_from_prometheus_matches_the_sqlite_history(stack: dict[str, Path]) -> None:
    """Over the last 10 seconds (Prometheus cannot know attempts made before its first scrape)."""
    wait_for(lambda: _query("probe_attempts_total offset 12s"), 30, "12 s of scrapes")
    end = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) - timedelta(seconds=1)
    start = end - timedelta(seconds=10)
    args = ["probe", "uptime", "--catalog", str(stack["catalog"]), "--from", start.isoformat(), "--to", end.isoformat(),
            "--json"]
    prom = run_dvcops(*args, "--source", "prometheus", "--url", f"http://{PROMETHEUS}")
    assert prom.returncode == 1, prom.stderr  # services below their SLO
    sqlite = run_dvcops(*args, state=stack["state"])
    p = {s["id"]: s for s in json.loads(prom.stdout)["services"]}
    q = {s["id"]: s for s in json.loads(sqlite.stdout)["services"]}
    assert json.loads(prom.stdout)["source"] == "prometheus"
    assert p["tam-tru-tam-vang"]["uptime"] == 0 and q["tam-tru-tam-vang"]["uptime"] == 0
    assert p["cong-thong-tin"]["uptime"] == 1 and q["cong-thong-tin"]["uptime"] == 1
    assert p["tam-tru-tam-vang"]["incidents"] >= 1
    for sid in ("cong-thong-tin", "co-so-du-lieu"):  # the same attempts, give or take increase()'s extrapolation
        assert p[sid]["attempts"] == pytest.approx(q[sid]["attempts"], rel=0.2, abs=3), (sid, p[sid], q[sid])


def _attempts(service: str) -> float:
    for line in _metrics().splitlines():
        if line.startswith("probe_attempts_total{") and f'service="{service}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise KeyError(service)


def test_sighup_reload_keeps_counters_and_a_bad_catalogue_is_refused(stack: dict[str, Path]) -> None:
    pid = int(str(stack["serve_pid"]))
    catalog = stack["catalog"]
    good = catalog.read_text(encoding="utf-8")
    wait_for(lambda: _attempts("cong-thong-tin") >= 3, 20, "a few attempts")
    before = _attempts("cong-thong-tin")
    try:
        catalog.write_text(good.replace("version: 1", "version: 7"), encoding="utf-8")
        os.kill(pid, signal.SIGHUP)
        wait_for(lambda: "dvcops_probe_config_last_reload_successful 0.0" in _metrics(), 10, "the refused reload")
        assert _attempts("cong-thong-tin") >= before  # still probing with the old catalogue
        log = (stack["tmp"] / "serve.log").read_text()
        assert log.count("catalogue reload failed, keeping the previous one") == 1
        data = yaml.safe_load(good)
        data["services"] = [s for s in data["services"] if s["id"] != "tam-tru-tam-vang"]
        catalog.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        os.kill(pid, signal.SIGHUP)
        wait_for(lambda: "dvcops_probe_config_last_reload_successful 1.0" in _metrics(), 10, "the good reload")
        assert "dvcops_probe_targets 9.0" in _metrics()
        assert 'service="tam-tru-tam-vang"' not in _metrics()
        assert _attempts("cong-thong-tin") >= before  # not reset
    finally:
        catalog.write_text(good, encoding="utf-8")
        os.kill(pid, signal.SIGHUP)
