"""A report for a closed period is reproducible: every read is as of the period's end (issue 15).

Record a drill held on 2025-03-10 with the real CLI, render the 2025-H1 report, then let newer data
arrive (a drill dated 2026-02-01, probe results and ratings after June, a later scan that fixes one
finding and opens another, a waiver, a renewed certificate) and render again: the figures are identical.
"""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from drills.findings import FindingsStore, NewFinding
from drills.policy import Severity
from dvcops.catalog import Catalog
from dvcops.state import StateDir
from probes.history import EndpointRef, History
from probes.models import CertInfo, ProbeResult
from survey import stats
from survey.instruments import load_instruments
from tests.conftest import run_dvcops
from tests.report.conftest import CATALOG, TZ, build_state, t

S2 = EndpointRef(service="s2", agency="so-a", level="toan-trinh", endpoint="https://s2.example/")


def render(state: StateDir, period: str, out: Path) -> dict:
    res = run_dvcops("report", "--catalog", str(CATALOG), "--period", period, "--format", "json", "--out", str(out),
                     state=state.root)
    assert res.returncode == 0, res.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def record(state: StateDir, *args: str) -> subprocess.CompletedProcess[str]:
    res = run_dvcops("drill", "record", "--catalog", str(CATALOG), *args, state=state.root)
    assert res.returncode == 0, res.stderr
    return res


def probe(at: datetime, state: str, expiry: datetime) -> ProbeResult:
    cert = CertInfo(leaf_expiry=expiry, earliest_expiry=expiry, subject="CN=s2.example", verified=True)
    return ProbeResult(service=S2.service, agency=S2.agency, level=S2.level, endpoint=S2.endpoint, kind="http", at=at,
                       success=state == "up", state=state, duration_seconds=0.05, cert=cert,  # type: ignore[arg-type]
                       failure_reason=None if state == "up" else "status", status_code=200 if state == "up" else 503)


def rate(state: StateDir, catalog: Catalog, n: int, day: date, level: str) -> None:
    db = stats.open_database(state=state)
    instrument = load_instruments().instruments[0]
    try:
        for i in range(n):
            stats.record_rating(db, catalog, {
                "service_id": "s1", "dossier_code": f"LATE-{day.isoformat()}-{i}", "instrument": instrument.id,
                "answers": {q.id: level for q in instrument.questions}, "channel": "web"}, rated_on=day)
    finally:
        db.close()


def newer_data_arrives(state: StateDir, catalog: Catalog) -> None:
    """Everything dated after 2025-H1: none of it may change the H1 report."""
    record(state, "--kind", "drill", "--date", "2026-02-01", "--reference", "KH 3/KH-UBND")
    record(state, "--kind", "check", "--date", "2025-07-15", "--reference", "BC 9/2025")
    with History.in_state(state) as h:
        # July: s1 down for a whole day; s2 shows a renewed certificate (the June one leaves the list only later)
        h.backfill(EndpointRef(service="s1", agency="so-a", level="3", endpoint="https://s1.example/"),
                   t(1, month=7), t(8, month=7), outages=[(t(2, month=7), t(3, month=7))])
        h.record([probe(t(10, 9, month=7), "up", datetime(2026, 7, 15, tzinfo=TZ)),
                  probe(datetime.now(TZ) - timedelta(minutes=5), "down", datetime(2027, 7, 15, tzinfo=TZ))])
    rate(state, catalog, 5, date(2025, 7, 2), "khong-hai-long")
    rate(state, catalog, 3, datetime.now(TZ).date(), "khong-hai-long")
    store = FindingsStore(state)
    hosts = {h.name: h for h in catalog.hosts}
    run = store.start_run("check", started=t(1, 10, month=8), hosts=catalog.hosts, roe_name="later",
                          approval_ref="QĐ 9/2025", approver="Giám đốc")
    # the August scan no longer sees db-1's open database port (fixed) and finds a new critical one on app-1
    store.record_findings(run, [NewFinding(host="app-1", address="10.99.0.3", system="he-thong-b", check="ports",
                                           subject="6379/tcp", title="Redis mở", severity=Severity.critical,
                                           evidence="open", remediation="Đóng cổng")],
                          covered={("db-1", "ports"), ("app-1", "ports")}, at=t(1, 10, month=8))
    medium = next(f for f in store.open_findings() if f.severity == Severity.medium)
    store.waive(medium.id, justification="chờ nâng cấp", approver="Trưởng phòng ATTT",
                expires=datetime.now(TZ) + timedelta(days=10))
    assert hosts  # the catalogue hosts the runs covered
    store.close()


@pytest.fixture
def state(tmp_path: Path, catalog: Catalog) -> StateDir:
    state = build_state(tmp_path / "state", catalog)
    # a certificate seen in June that expires on 15/07/2025: within 30 days of the end of H1
    with History.in_state(state) as h:
        h.record([probe(t(20, 12), "up", datetime(2025, 7, 15, tzinfo=TZ))])
    return state


def test_the_h1_report_is_the_same_whatever_arrives_later(state: StateDir, catalog: Catalog, tmp_path: Path) -> None:
    res = record(state, "--kind", "drill", "--date", "2025-03-10", "--reference", "KH 12/KH-NCSC", "--json")
    assert json.loads(res.stdout)["systems"] == ["he-thong-a", "he-thong-b"]
    before = render(state, "2025-H1", tmp_path / "before.json")

    sec = before["security"]
    assert sec["last_drill"].startswith("2025-03-10") and sec["drill_within"] is True
    assert sec["drill_interval"] == "12 tháng" and sec["policy_version"] == "2026-07"      # drills/policy.yml
    assert {s["system"]: (s["drill_ok"], s["drill_reference"]) for s in sec["systems"]} == {
        "he-thong-a": (True, "KH 12/KH-NCSC"), "he-thong-b": (True, "KH 12/KH-NCSC")}
    summary = {h["key"]: h for h in before["summary"]}
    assert summary["drill"]["label"] == "Hệ thống được diễn tập thực chiến trong 12 tháng"
    assert (summary["drill"]["display"], summary["drill"]["status"]) == ("2/2", "green")
    assert any("trong vòng 12 tháng" in m for m in before["methodology"])                 # from the same policy
    assert sec["open_findings"]["critical"] == 1 and sec["waivers_expiring"] == []
    (cert,) = before["availability"]["certificates"]
    assert cert["service"] == "s2" and cert["days_left"] == pytest.approx(14.0)             # counted from 01/07/2025
    assert before["meta"]["as_of"].startswith("2025-07-01T00:00:00")

    newer_data_arrives(state, catalog)
    after = render(state, "2025-H1", tmp_path / "after.json")
    for section in ("security", "availability", "satisfaction", "summary", "methodology", "legal", "roadmap"):
        assert after[section] == before[section], section
    assert {k: v for k, v in after["meta"].items() if k != "generated_at"} == \
        {k: v for k, v in before["meta"].items() if k != "generated_at"}

    # the newer data is really there: the periods it belongs to see it
    july = render(state, "2025-07", tmp_path / "july.json")
    s1 = next(s for s in july["availability"]["services"] if s["id"] == "s1")
    assert s1["downtime_minutes"] == pytest.approx(1440) and july["satisfaction"]["ratings"] == 5
    assert july["security"]["last_check"].startswith("2025-07-15")
    feb = render(state, "2026-02", tmp_path / "feb.json")
    assert feb["security"]["last_drill"].startswith("2026-02-01")
    assert {s["drill_reference"] for s in feb["security"]["systems"]} == {"KH 3/KH-UBND"}
    assert feb["security"]["open_findings"]["critical"] == 1                   # db-1 fixed, app-1 opened
    assert {f["host"] for f in feb["security"]["top_findings"] if f["severity"] == "critical"} == {"app-1"}


def test_the_headline_agrees_with_the_per_system_rows(state: StateDir, tmp_path: Path) -> None:
    """Only system A was drilled in the period: the headline is not met (1/2), as the rows say, and a drill
    dated after the period does not turn it green (the report of issue 15 said red in the headline and OK
    in the row for the same system)."""
    record(state, "--kind", "drill", "--date", "2025-03-10", "--reference", "KH 12", "--system", "he-thong-a")
    for when in ("first", "after a drill dated 2026-02-01"):
        r = render(state, "2025-H1", tmp_path / "h1.json")
        rows = {s["system"]: s["drill_ok"] for s in r["security"]["systems"]}
        assert rows == {"he-thong-a": True, "he-thong-b": False}, when
        head = next(h for h in r["summary"] if h["key"] == "drill")
        assert (head["value"], head["display"], head["status"]) == (1, "1/2", "red"), when
        assert r["security"]["drill_within"] is False and r["security"]["systems_drill_ok"] == 1, when
        check = next(h for h in r["summary"] if h["key"] == "check")
        assert check["status"] == ("green" if all(s["check_ok"] for s in r["security"]["systems"]) else "red")
        record(state, "--kind", "drill", "--date", "2026-02-01", "--reference", "KH 3")
