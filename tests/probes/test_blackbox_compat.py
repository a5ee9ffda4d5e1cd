"""`dvcops probe serve` as a drop-in for blackbox_exporter: an existing Prometheus configuration with
blackbox's multi-target relabelling works unchanged (only the exporter's address differs) and gives the
same probe_success as Debian's real blackbox_exporter for the same http and tcp targets (127.0.90.2x)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from dvcops.system import require_program, stop_process, wait_until_answers
from probes.blackbox import Modules
from tests.conftest import ROOT
from tests.probes.oncall_servers import switchable_service

pytestmark = pytest.mark.slow
BLACKBOX = "127.0.90.30:9115"
DVCOPS = "127.0.90.31:9115"
PROMETHEUS = "127.0.90.32:9090"
HTTP_TARGETS = {"http://127.0.90.20:8080/": 1, "http://127.0.90.21:8080/": 0, "http://127.0.90.22:8081/": 0}
TCP_TARGETS = {"127.0.90.20:8080": 1, "127.0.90.22:8081": 0}
MODULES = {"modules": {
    "http_2xx": {"prober": "http", "timeout": "5s", "http": {"preferred_ip_protocol": "ip4"}},
    "tcp_connect": {"prober": "tcp", "timeout": "5s", "tcp": {"preferred_ip_protocol": "ip4"}},
}}


def existing_jobs(exporter: str, prefix: str) -> list[dict[str, object]]:
    """What a province running blackbox_exporter has today (the pattern from blackbox's README)."""
    def job(name: str, module: str, targets: list[str]) -> dict[str, object]:
        return {"job_name": f"{prefix}-{name}", "metrics_path": "/probe", "params": {"module": [module]},
                "static_configs": [{"targets": targets}],
                "relabel_configs": [
                    {"source_labels": ["__address__"], "target_label": "__param_target"},
                    {"source_labels": ["__param_target"], "target_label": "instance"},
                    {"target_label": "__address__", "replacement": exporter}]}
    return [job("http", "http_2xx", list(HTTP_TARGETS)), job("tcp", "tcp_connect", list(TCP_TARGETS))]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("blackbox-compat")
    (tmp / "blackbox.yml").write_text(yaml.safe_dump(MODULES))
    (tmp / "catalog.yml").write_text('version: 1\nprovince: {code: BB, name: "Tỉnh", reviewer: "Sở KH&CN"}\n',
                                     encoding="utf-8")
    (tmp / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": existing_jobs(BLACKBOX, "blackbox") + existing_jobs(DVCOPS, "dvcops"),
    }))
    with switchable_service("127.0.90.20", 8080), switchable_service("127.0.90.21", 8080) as down:
        down.up = False
        procs = [
            subprocess.Popen([str(require_program("prometheus-blackbox-exporter")),
                              f"--config.file={tmp / 'blackbox.yml'}", f"--web.listen-address={BLACKBOX}"],
                             stdout=(tmp / "blackbox.log").open("wb"), stderr=subprocess.STDOUT),
            subprocess.Popen([sys.executable, "-m", "dvcops", "probe", "serve", "--catalog", str(tmp / "catalog.yml"),
                              "--listen", DVCOPS, "--no-record", "--blackbox-config", str(tmp / "blackbox.yml")],
                             cwd=ROOT, stdout=(tmp / "dvcops.log").open("wb"), stderr=subprocess.STDOUT),
            subprocess.Popen([str(require_program("prometheus")), f"--config.file={tmp / 'prometheus.yml'}",
                              f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address={PROMETHEUS}"],
                             stdout=(tmp / "prometheus.log").open("wb"), stderr=subprocess.STDOUT),
        ]
        try:
            for url, proc in ((f"http://{BLACKBOX}/", procs[0]), (f"http://{DVCOPS}/-/healthy", procs[1]),
                              (f"http://{PROMETHEUS}/-/ready", procs[2])):
                assert wait_until_answers(url, 30, proc), f"{url} did not answer; see {tmp}"
            yield PROMETHEUS
        finally:
            for proc in reversed(procs):
                stop_process(proc)


def _success(prom: str) -> dict[tuple[str, str], float]:
    body = httpx.get(f"http://{prom}/api/v1/query", params={"query": "probe_success"}, timeout=5).json()
    return {(r["metric"]["job"], r["metric"]["instance"]): float(r["value"][1]) for r in body["data"]["result"]}


def test_same_probe_success_as_blackbox_exporter_through_the_same_relabelling(prometheus: str) -> None:
    want = 2 * (len(HTTP_TARGETS) + len(TCP_TARGETS))
    deadline = time.monotonic() + 40
    got: dict[tuple[str, str], float] = {}
    while time.monotonic() < deadline and len(got) < want:
        time.sleep(1)
        got = _success(prometheus)
    assert len(got) == want, got
    for kind, targets in (("http", HTTP_TARGETS), ("tcp", TCP_TARGETS)):
        for target, expected in targets.items():
            assert got[(f"blackbox-{kind}", target)] == expected, (kind, target, got)
            assert got[(f"dvcops-{kind}", target)] == got[(f"blackbox-{kind}", target)], (kind, target, got)
    ups = httpx.get(f"http://{prometheus}/api/v1/query", params={"query": 'up{job=~"dvcops-.*"}'}, timeout=5).json()
    assert {float(r["value"][1]) for r in ups["data"]["result"]} == {1.0}


def test_probe_answers_as_blackbox_for_bad_requests(prometheus: str) -> None:
    assert httpx.get(f"http://{DVCOPS}/probe", params={"module": "http_2xx"}, timeout=5).status_code == 400
    unknown = httpx.get(f"http://{DVCOPS}/probe", params={"target": "127.0.90.20:8080", "module": "nope"}, timeout=5)
    assert unknown.status_code == 400 and "Unknown module" in unknown.text
    ok = httpx.get(f"http://{DVCOPS}/probe", params={"target": "127.0.90.20:8080", "module": "http_2xx"}, timeout=5)
    lines = dict(line.split(" ", 1) for line in ok.text.splitlines() if not line.startswith("#"))
    assert lines["probe_success"] == "1.0" and lines["probe_http_status_code"] == "200.0"
    assert 'probe_http_duration_seconds{phase="connect"}' in lines
    done = subprocess.run([str(require_program("promtool")), "check", "metrics"], input=ok.text, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_unsupported_modules_are_named_not_guessed(tmp_path: Path) -> None:
    (tmp_path / "bb.yml").write_text("modules:\n  icmp: {prober: icmp}\n  post: {prober: http, http: {method: POST}}\n"
                                     "  ok: {prober: tcp}\n")
    modules = Modules.load(tmp_path / "bb.yml")
    assert set(modules.usable) == {"ok"}
    assert modules.unusable["icmp"].endswith("modules.icmp.prober: 'icmp' is not allowed: expected 'http', 'tcp' or "
                                             "'dns'")
    assert f"{tmp_path / 'bb.yml'}:3: modules.post.http.method" in modules.unusable["post"]
