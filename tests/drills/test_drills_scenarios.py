"""Scenarios in the lab (127.0.60): the automated inject happens, the drill sees it, the blue team's log gives
the expected times and score, the after-action report carries them, and the exercise end undoes the inject."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from drillkit import window

from drills.findings import FindingsStore
from lab import Lab
from tests.conftest import run_dvcops, start_lab

pytestmark = pytest.mark.slow
PREFIX = "127.0.60"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from start_lab(tmp_path_factory, PREFIX)


def lab_roe(path: Path, allow: list[str], ports: list[int | str], **extra: Any) -> Path:
    import yaml

    data = {"version": 1, "name": "Diễn tập lab", "approval": {"reference": "KH 07/KH-LAB", "approver": "Sở KH&CN"},
            "window": window(), "rules": [{"allow": a} for a in allow], "ports": ports,
            "resolver": f"{PREFIX}.53:5353", "rate": {"http_per_second": 50}, "scan": {"version_intensity": 0}}
    data.update(extra)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def drill(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return run_dvcops("drill", *args, state=state, timeout=180)


def run_scenario(lab: Lab, roe: Path, scenario: str, state: Path) -> dict[str, Any]:
    res = drill("run", "--catalog", str(lab.catalog_path), "--roe", str(roe), "--scenario", scenario,
                "--lab-state", str(lab.state.root), "--json", state=state)
    assert res.returncode == 1, res.stderr  # the inject is a finding
    return json.loads(res.stdout)


def at(out: dict[str, Any], inject: str, event: str = "inject") -> datetime:
    return next(datetime.fromisoformat(e["at"]) for e in out["timeline"] if e["inject"] == inject
                and e["event"] == event)


def test_exposed_database_port_scenario_end_to_end(lab: Lab, tmp_path: Path) -> None:
    roe = lab_roe(tmp_path / "roe.yml", [f"{PREFIX}.2"], [8080, 8443, 16380], checks=["ports"])
    state = tmp_path / "state"
    out = run_scenario(lab, roe, "lo-cong-csdl", state)

    # the inject happened in the lab, and the drill's own scan saw it with the right severity
    assert f"{PREFIX}.2:16380" in lab.status()["listeners"]
    exposed = next(f for f in out["open"] if f["subject"] == "16380/tcp")
    assert exposed["host"] == "lab-dvc-1" and exposed["severity"] == "critical"  # database class, DMZ, level 3
    assert "class database" in exposed["evidence"] and "-NOAUTH" in exposed["evidence"]
    injected = at(out, "mo-cong-redis")
    assert at(out, "mo-cong-redis", "tool-detect") >= injected

    detected, responded = injected + timedelta(seconds=2), injected + timedelta(seconds=5)
    res = drill("log", "detected", "--run", str(out["run_id"]), "--inject", "mo-cong-redis", "--at",
                detected.isoformat(), "--by", "Đội xanh", state=state)
    assert res.returncode == 0, res.stderr
    assert "TTD 0:00:02" in res.stdout
    res = drill("log", "responded", "--run", str(out["run_id"]), "--inject", "mo-cong-redis", "--at",
                responded.isoformat(), "--by", "Đội xanh", "--note", "đã đóng cổng", "--json", state=state)
    assert res.returncode == 0, res.stderr
    logged = json.loads(res.stdout)
    assert (logged["event"], logged["inject"], logged["ttd_s"], logged["ttr_s"]) == ("responded", "mo-cong-redis", 2, 3)
    assert (logged["score"], logged["max"], logged["percent"]) == (100, 100, 100.0)

    res = drill("log", "end", "--run", str(out["run_id"]), "--lab-state", str(lab.state.root), state=state)
    assert res.returncode == 0 and "close-port lab-dvc-1:16380" in res.stdout
    assert f"{PREFIX}.2:16380" not in lab.status()["listeners"]  # cleanup undid the inject

    res = drill("report", "--run", str(out["run_id"]), state=state)
    assert res.returncode == 0, res.stderr
    html_path, json_path = res.stdout.split()[:2]
    report = json.loads(Path(json_path).read_text(encoding="utf-8"))
    row = report["score"]["injects"][0]
    assert (row["ttd_seconds"], row["ttr_seconds"], row["points"], report["score"]["percent"]) == (2, 3, 100, 100)
    events = [e["event"] for e in report["timeline"]]  # in time order: the tool's scan may finish after +2 s
    assert sorted(events) == ["detected", "end", "inject", "responded", "tool-detect"]
    assert events[0] == "inject" and events[-1] == "end"
    draft = report["incidents"][0]
    assert draft["finding_id"] == exposed["id"] and draft["exercise"] is True
    first_seen = datetime.fromisoformat(draft["detected_at"])
    assert datetime.fromisoformat(draft["deadline"]) - first_seen == timedelta(days=5)
    html = Path(html_path).read_text(encoding="utf-8")
    assert "Thời gian phát hiện, xử lý và điểm" in html and "0:00:02" in html and "0:00:03" in html
    assert "100.0 / 100 (100.0%)" in html and "Hạn báo cáo" in html and "mo-cong-redis" in html


def test_times_and_score_follow_the_log(lab: Lab, tmp_path: Path) -> None:
    """Two injects: the first detected in time and answered late, the second never detected: 75 of 200."""
    scenario = tmp_path / "scenario.yml"
    scenario.write_text("""
version: 1
id: kiem-tra-diem
name: "Kiểm tra cách tính điểm"
targets: [lab-portal]
injects:
  - id: thay-trang
    at: 0s
    title: "Thay trang chủ"
    red: "deface"
    action: {action: deface, host: lab-portal}
    cleanup: [{action: restore, host: lab-portal}]
    expect: {detection: "x", response: "y", detect_within: 10s, respond_within: 4s,
             finding: {check: content, host: lab-portal, subject_contains: "front page"}}
  - id: thu-cong
    at: 1s
    title: "Tình huống thủ công"
    red: "manual"
    expect: {detection: "x", response: "y", detect_within: 10s, respond_within: 10s}
""", encoding="utf-8")
    roe = lab_roe(tmp_path / "roe.yml", [f"{PREFIX}.1"], [8080, 8443], checks=["ports", "content"],
                  scan={"service_detection": False})
    state = tmp_path / "state"
    out = run_scenario(lab, roe, str(scenario), state)
    assert lab.status()["defaced"] == ["lab-portal"]
    defaced = [f for f in out["open"] if f["check"] == "content"]
    assert {f["severity"] for f in defaced} == {"critical"} and "hacked by" in defaced[0]["title_en"].lower()
    a, b = at(out, "thay-trang"), at(out, "thu-cong")
    assert timedelta(seconds=0.9) <= b - a < timedelta(seconds=3)  # the second inject waited for its offset
    run = str(out["run_id"])

    bad = drill("log", "responded", "--run", run, "--inject", "thay-trang", state=state)
    assert bad.returncode == 2 and "log the detection of 'thay-trang' before the response" in bad.stderr
    bad = drill("log", "detected", "--run", run, "--inject", "thay-trang", "--at",
                (a - timedelta(seconds=1)).isoformat(), state=state)
    assert bad.returncode == 2 and "is before the inject" in bad.stderr
    bad = drill("log", "detected", "--run", run, "--inject", "khong-co", state=state)
    assert bad.returncode == 2 and "no inject 'khong-co'" in bad.stderr

    assert drill("log", "detected", "--run", run, "--inject", "thay-trang", "--at",
                 (a + timedelta(seconds=3)).isoformat(), state=state).returncode == 0
    res = drill("log", "responded", "--run", run, "--inject", "thay-trang", "--at",
                (a + timedelta(seconds=9)).isoformat(), state=state)  # 6 s after detection: late, within 2x
    assert res.returncode == 0, res.stderr
    assert "TTD 0:00:03, TTR 0:00:06; score 75/200 (37.5%)" in res.stdout
    assert drill("log", "end", "--run", run, "--lab-state", str(lab.state.root), state=state).returncode == 0
    assert lab.status()["defaced"] == []

    res = drill("report", "--run", run, "--lang", "en", state=state)
    report = json.loads(Path(res.stdout.split()[1]).read_text(encoding="utf-8"))
    rows = {r["inject_id"]: r for r in report["score"]["injects"]}
    assert (rows["thay-trang"]["detect_points"], rows["thay-trang"]["respond_points"]) == (50.0, 25.0)
    assert (rows["thu-cong"]["points"], rows["thu-cong"]["ttd_seconds"]) == (0.0, None)
    assert (report["score"]["total"], report["score"]["max"]) == (75.0, 200)
    html = Path(res.stdout.split()[0]).read_text(encoding="utf-8")
    assert "Time to detect, time to respond and score" in html and "75.0 / 200 (37.5%)" in html
    assert "Phạm vi" not in html  # English only


@pytest.mark.parametrize(("scenario", "allow", "ports", "checks", "check", "undone"), [
    ("chung-chi-het-han", f"{PREFIX}.2", [8443], ["ports", "tls"], "tls",
     lambda st: st["certs"]["lab-dvc-1"] == "valid"),
    ("thay-doi-giao-dien", f"{PREFIX}.1", [8080, 8443], ["ports", "content"], "content",
     lambda st: st["defaced"] == []),
])
def test_shipped_scenarios_run_fully_in_the_lab(lab: Lab, tmp_path: Path, scenario: str, allow: str,
                                                ports: list[int], checks: list[str], check: str, undone: Any) -> None:
    roe = lab_roe(tmp_path / "roe.yml", [allow], ports, checks=checks, scan={"service_detection": False})
    state = tmp_path / "state"
    out = run_scenario(lab, roe, scenario, state)
    events = {e["event"] for e in out["timeline"]}
    assert events == {"inject", "tool-detect"}  # injected, and the drill's own check saw it
    hit = [f for f in out["open"] if f["check"] == check and f["severity"] in ("high", "critical")]
    assert hit, out["open"]
    assert not undone(lab.status())
    assert drill("log", "end", "--run", str(out["run_id"]), "--lab-state", str(lab.state.root),
                 state=state).returncode == 0
    assert undone(lab.status())


def test_a_lab_name_resolving_outside_scope_is_refused(lab: Lab, packets: Any, tmp_path: Path) -> None:
    counter = packets(["127.0.99.1"])
    roe = lab_roe(tmp_path / "roe.yml", [f"{PREFIX}.0/24"], [8080])
    for cmd in ("plan", "run"):
        res = drill(cmd, "--catalog", str(lab.catalog_path), "--roe", str(roe), "--target",
                    "ngoai-pham-vi.lab.dvc.internal", state=tmp_path / "state")
        assert res.returncode == 2
        assert res.stderr.strip() == ("refused: target ngoai-pham-vi.lab.dvc.internal resolves to 127.0.99.1: "
                                      "no rule allows it (denied by default)")
    assert counter.counts() == {"127.0.99.1": 0}
    store = FindingsStore(tmp_path / "state")
    assert store.runs() == []
    store.close()
