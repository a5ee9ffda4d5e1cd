"""Three probers as three locations on loopback, Debian's Prometheus scraping them with the rendered config
and loading the rendered quorum rules:

- `ttpv` has lost its uplink: its canary and its resolver fail, so it sees everything down; it is left out
  of the quorum: no outage, no page, only a canary warning naming it;
- `huyen`'s resolver does not know the database's name: the database is unreachable from there only, a
  reachability warning naming `huyen`, not an outage;
- the portal defaced (down for every location that reports): one outage alert, one incident;
- a central Prometheus federating two location Prometheus servers answers the same uptime as the single one.

Lab on 127.0.113.x, probers 127.0.110.1-3, huyen's resolver 127.0.110.53, Prometheus servers 127.0.110.21-24.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from dvcops.system import require_program, stop_process
from lab import Lab
from lab.dns import start_dns
from tests.conftest import ROOT, run_dvcops, start_lab, wait_for

pytestmark = pytest.mark.slow
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PROBERS = {"dc": "127.0.110.1:9115", "ttpv": "127.0.110.2:9115", "huyen": "127.0.110.3:9115"}
HUYEN_DNS = ("127.0.110.53", 5353)
DEAD = "127.0.110.99"
SINGLE, LOC1, LOC2, CENTRAL = (f"127.0.110.{n}:9090" for n in (21, 22, 23, 24))


@dataclass
class Stack:
    catalog: Path
    tmp: Path
    marks: dict[str, datetime] = field(default_factory=dict)




def _query(server: str, expr: str) -> list[dict[str, Any]]:
    body = httpx.get(f"http://{server}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _by(server: str, expr: str, *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(r["metric"].get(x, "") for x in labels): float(r["value"][1]) for r in _query(server, expr)}


def _firing(server: str) -> list[dict[str, str]]:
    return [r["metric"] for r in _query(server, 'ALERTS{alertstate="firing"}')]


def _dns_thread(stop: threading.Event, lab_prefix: str) -> threading.Thread:
    """huyen's resolver: it knows the portal, not the database."""

    async def main() -> None:
        transport = await start_dns(*HUYEN_DNS, {"portal.lab.dvc.internal": f"{lab_prefix}.1"})
        while not stop.is_set():
            await asyncio.sleep(0.2)
        transport.close()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    return thread


def _prometheus(tmp: Path, name: str, listen: str, args: list[str]) -> subprocess.Popen[bytes]:
    config = tmp / f"{name}.yml"
    done = run_dvcops("probe", "config", "prometheus", "--catalog", str(tmp / "catalog.yml"), "--scrape-interval",
                      "1s", "--out", str(config), *args)
    assert done.returncode == 0, done.stderr
    check = subprocess.run([str(require_program("promtool")), "check", "config", str(config)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    return subprocess.Popen([str(require_program("prometheus")), f"--config.file={config}",
                             f"--storage.tsdb.path={tmp / (name + '-tsdb')}", f"--web.listen-address={listen}"],
                            stdout=(tmp / f"{name}.log").open("wb"), stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def llab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from start_lab(tmp_path_factory, "127.0.113")


@pytest.fixture(scope="module")
def stack(llab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("locations")
    prefix = llab.spec.prefix
    catalog = tmp / "catalog.yml"
    catalog.write_text(yaml.safe_dump({
        "version": 1, "province": {"code": "LAB", "name": "Tỉnh Phòng Thí Nghiệm", "reviewer": "Sở KH&CN"},
        "defaults": {"interval": "1s", "timeout": "2s", "slo": 0.99},
        "agencies": [{"id": "so-khcn", "name": "Sở Khoa học và Công nghệ", "kind": "department"}],
        "locations": [{"name": "dc", "title": "Trung tâm dữ liệu tỉnh"},
                      {"name": "ttpv", "title": "Trung tâm Phục vụ hành chính công"},
                      {"name": "huyen", "title": "Bộ phận một cửa huyện"}],
        "services": [
            {"id": "cong-thong-tin", "name": "Cổng Dịch vụ công", "agency": "so-khcn", "level": "2", "endpoints": [
                {"url": "http://portal.lab.dvc.internal:8080/",
                 "conditions": ["[STATUS] == 200", "[BODY] == pat(*Dịch vụ công*)"]}]},
            {"id": "co-so-du-lieu", "name": "Cơ sở dữ liệu", "agency": "so-khcn", "level": "1", "endpoints": [
                {"url": "tcp://db.lab.dvc.internal:15432"}]},
        ],
    }, allow_unicode=True, sort_keys=False), encoding="utf-8")
    rules = run_dvcops("probe", "rules", "--catalog", str(catalog), "--quorum-for", "0s", "--quorum-warmup", "5s",
                       "--out", str(tmp / "rules.yml"))
    assert rules.returncode == 0, rules.stderr
    check = subprocess.run([str(require_program("promtool")), "check", "rules", str(tmp / "rules.yml")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    stop_dns = threading.Event()
    dns = _dns_thread(stop_dns, prefix)
    good_canary = f"tcp://{prefix}.7:15432"
    setup = {"dc": (f"{prefix}.53:5353", good_canary), "ttpv": (f"{DEAD}:5353", f"tcp://{DEAD}:9"),
             "huyen": (f"{HUYEN_DNS[0]}:{HUYEN_DNS[1]}", good_canary)}
    env = {**os.environ, "DVCOPS_PROBE_CANARY_INTERVAL": "0.5", "DVCOPS_PROBE_JITTER": "0.2"}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for name, (resolver, canary) in setup.items():
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dvcops", "probe", "serve", "--catalog", str(catalog), "--listen",
                 PROBERS[name], "--location", name, "--resolver", resolver, "--canary", canary,
                 "--state", str(tmp / f"state-{name}")],
                cwd=ROOT, env=env, stdout=(tmp / f"serve-{name}.log").open("wb"), stderr=subprocess.STDOUT))
        everyone = ",".join(f"{n}={a}" for n, a in PROBERS.items())
        procs.append(_prometheus(tmp, "single", SINGLE, ["--locations", everyone, "--rules", str(tmp / "rules.yml")]))
        procs.append(_prometheus(tmp, "loc1", LOC1, ["--locations", f"dc={PROBERS['dc']}"]))
        procs.append(_prometheus(tmp, "loc2", LOC2, ["--locations",
                                                     f"ttpv={PROBERS['ttpv']},huyen={PROBERS['huyen']}"]))
        procs.append(_prometheus(tmp, "central", CENTRAL, ["--federate", f"dc=http://{LOC1},huyen-ttpv=http://{LOC2}",
                                                           "--rules", str(tmp / "rules.yml")]))
        for server in (SINGLE, LOC1, LOC2, CENTRAL):
            wait_for(lambda s=server: httpx.get(f"http://{s}/-/ready", timeout=2).status_code == 200, 30, server)
        yield Stack(catalog, tmp)
    finally:
        for p in reversed(procs):
            stop_process(p)
        stop_dns.set()
        dns.join(timeout=5)


def _uptime(stack: Stack, server: str, start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    done = run_dvcops("probe", "uptime", "--catalog", str(stack.catalog), "--from", start.isoformat(), "--to",
                      end.isoformat(), "--json", "--source", "prometheus", "--url", f"http://{server}")
    assert done.returncode in (0, 1), done.stderr
    return {s["id"]: s for s in json.loads(done.stdout)["services"]}


def test_1_a_location_without_uplink_is_left_out_and_one_location_only_is_reachability(stack: Stack) -> None:
    # every location's view is in Prometheus, and the quorum has settled: dc and huyen report, ttpv does not
    # on the central server too: federation adds a scrape of lag, and a location counts only after its warm-up
    for server in (SINGLE, CENTRAL):
        wait_for(lambda s=server: _by(s, "probe:locations_reporting:count", "service")
              == {("cong-thong-tin",): 2.0, ("co-so-du-lieu",): 2.0}, 40, f"two locations reporting on {server}")
    stack.marks["steady"] = datetime.now(TZ)
    time.sleep(8)
    # ttpv sees both services down (its resolver fails) but its canary is down too: not charged
    success = _by(SINGLE, "probe_success", "location", "service")
    assert success[("ttpv", "cong-thong-tin")] == 0 and success[("ttpv", "co-so-du-lieu")] == 0
    assert _by(SINGLE, "probe_charged", "location", "service")[("ttpv", "co-so-du-lieu")] == 0
    assert success[("huyen", "co-so-du-lieu")] == 0 and success[("dc", "co-so-du-lieu")] == 1
    assert _by(SINGLE, "probe:service_up:quorum", "service") == {("cong-thong-tin",): 1.0, ("co-so-du-lieu",): 1.0}
    firing = _firing(SINGLE)
    assert not [a for a in firing if a.get("severity") == "page"], firing
    reach = [a for a in firing if a["alertname"] == "ProbeServiceUnreachableFrom"]
    assert [(a["service"], a["location"], a["severity"]) for a in reach] == [("co-so-du-lieu", "huyen", "warning")]
    canary = [a for a in firing if a["alertname"] == "ProbeLocationCanaryDown"]
    assert [a["location"] for a in canary] == ["ttpv"]
    stack.marks["steady_end"] = datetime.now(TZ)
    # every series carries its location, the prober's own ones included
    assert {k[0] for k in _by(SINGLE, "dvcops_probe_targets", "location")} == {"dc", "ttpv", "huyen"}


def test_2_down_for_every_location_is_one_outage(stack: Stack, llab: Lab) -> None:
    llab.action("deface", host="lab-portal")
    stack.marks["deface"] = datetime.now(TZ)
    try:
        wait_for(lambda: [a for a in _firing(SINGLE) if a["alertname"] == "ProbeServiceDownQuorum"], 30,
              "the outage alert")
        time.sleep(14)
        firing = _firing(SINGLE)
        outage = [a for a in firing if a["alertname"] == "ProbeServiceDownQuorum"]
        assert [(a["service"], a["severity"]) for a in outage] == [("cong-thong-tin", "page")]  # once, not per location
        assert not [a for a in firing if a["alertname"] == "ProbeServiceUnreachableFrom"
                    and a["service"] == "cong-thong-tin"]
        assert _by(SINGLE, "probe:locations_down:count", "service")[("cong-thong-tin",)] == 2
        stack.marks["outage_end"] = datetime.now(TZ)
    finally:
        llab.action("restore", host="lab-portal")
    wait_for(lambda: _by(SINGLE, "probe:service_up:quorum", "service")[("cong-thong-tin",)] == 1, 30, "recovery")
    time.sleep(3)
    stack.marks["after"] = datetime.now(TZ)


def test_3_uptime_reads_the_quorum_and_federation_answers_the_same(stack: Stack) -> None:
    m = stack.marks
    assert {"steady", "steady_end", "deface", "outage_end", "after"} <= set(m), "runs after tests 1 and 2"
    wait_for(lambda: _by(CENTRAL, "probe:locations_reporting:count", "service"), 30, "central rules")
    steady = (m["steady"] + timedelta(seconds=4), m["steady_end"])
    outage = (m["deface"] + timedelta(seconds=6), m["outage_end"] - timedelta(seconds=1))
    whole = (m["steady"] + timedelta(seconds=4), m["after"])
    for server in (SINGLE, CENTRAL):
        up = _uptime(stack, server, *steady)
        # ttpv saw everything down and huyen the database: neither is an outage
        assert up["cong-thong-tin"]["uptime"] == 1 and up["co-so-du-lieu"]["uptime"] == 1, (server, up)
        assert up["cong-thong-tin"]["locations"] == 2 and up["co-so-du-lieu"]["locations"] == 2, (server, up)
        down = _uptime(stack, server, *outage)
        assert down["cong-thong-tin"]["uptime"] == 0 and down["co-so-du-lieu"]["uptime"] == 1, (server, down)
        assert down["cong-thong-tin"]["incidents"] == 1
        full = _uptime(stack, server, *whole)
        assert full["cong-thong-tin"]["incidents"] == 1 and 0 < full["cong-thong-tin"]["uptime"] < 1, (server, full)
        assert full["co-so-du-lieu"]["incidents"] == 0
    single, central = _uptime(stack, SINGLE, *whole), _uptime(stack, CENTRAL, *whole)
    a, b = single["cong-thong-tin"], central["cong-thong-tin"]
    assert a["downtime_minutes"] == pytest.approx(b["downtime_minutes"], abs=0.1), (a, b)  # within 6 s
    assert a["uptime"] == pytest.approx(b["uptime"], abs=0.05), (a, b)
    table = run_dvcops("probe", "uptime", "--catalog", str(stack.catalog), "--from", whole[0].isoformat(), "--to",
                       whole[1].isoformat(), "--source", "prometheus", "--url", f"http://{CENTRAL}", "--lang", "en",
                       env={"COLUMNS": "160"})
    assert "Locations" in table.stdout and "by quorum of locations" in table.stdout, table.stdout
