"""drills/findings.py, the read API the DoIC report uses: lifecycle, waivers, dated drills and checks, compliance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from drillkit import write_catalog

from drills.errors import DrillError
from drills.findings import FindingsStore, NewFinding, add_months
from drills.policy import SEVERITIES, Severity
from dvcops.catalog import Catalog, load_catalog

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def finding(host: str = "web", subject: str = "20022/tcp", severity: Severity = Severity.high,
            check: str = "ports") -> NewFinding:
    return NewFinding(host=host, address="127.0.61.10", system="cong-thong-tin", zone="dmz", security_level=3,
                      check=check, subject=subject, title=f"Cổng {subject}", title_en=f"Port {subject}",
                      severity=severity, evidence="nmap: open", remediation="Đóng cổng", remediation_en="Close it")


@pytest.fixture
def store(tmp_path: Path) -> FindingsStore:
    s = FindingsStore(tmp_path / "state")
    yield s
    s.close()


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return load_catalog(write_catalog(tmp_path / "cat.yml", [
        {"name": "web", "address": "127.0.61.10", "zone": "dmz", "roles": [], "security_level": 3,
         "system": "cong-thong-tin"},
        {"name": "web-2", "address": "127.0.61.13", "zone": "dmz", "roles": [], "security_level": 4,
         "system": "cong-thong-tin"},
        {"name": "app", "address": "127.0.61.11", "zone": "app", "roles": [], "security_level": 2,
         "system": "mot-cua"},
    ], {}))


def test_same_problem_keeps_its_id_is_fixed_then_reopened(store: FindingsStore, catalog: Catalog) -> None:
    run1 = store.start_run("check", started=T0, hosts=catalog.hosts, roe_name="r", approval_ref="a", approver="b")
    store.record_findings(run1, [finding(), finding(subject="20500/tcp", severity=Severity.low)],
                          {("web", "ports")}, T0)
    ids = [f.id for f in store.open_findings(now=T0)]
    assert len(ids) == 2 and ids[0] == finding().id  # high before low

    t1 = T0 + timedelta(days=1)
    run2 = store.start_run("check", started=t1, hosts=catalog.hosts, roe_name="r", approval_ref="a", approver="b")
    store.record_findings(run2, [finding()], {("web", "ports")}, t1)
    fixed = store.findings(status="fixed", now=t1)
    assert [(f.subject, f.fixed_at) for f in fixed] == [("20500/tcp", t1)]
    store.record_findings(run2, [], {("web", "tls")}, t1)  # a check that never saw the port finding fixes nothing
    assert [f.subject for f in store.open_findings(now=t1)] == ["20022/tcp"]

    t2 = T0 + timedelta(days=2)
    run3 = store.start_run("check", started=t2, hosts=catalog.hosts, roe_name="r", approval_ref="a", approver="b")
    store.record_findings(run3, [finding(subject="20500/tcp", severity=Severity.low)], {("web", "ports")}, t2)
    back = store.finding(finding(subject="20500/tcp").id, now=t2)
    assert (back.status, back.first_seen, back.last_seen, back.fixed_at) == ("open", T0, t2, None)
    assert [f.subject for f in store.findings(run_id=run3, status=None, now=t2)] == ["20500/tcp"]


def test_waivers_hide_until_expiry_and_are_listed_when_expiring(store: FindingsStore, catalog: Catalog) -> None:
    run = store.start_run("check", started=T0, hosts=catalog.hosts, roe_name="r", approval_ref="a", approver="b")
    store.record_findings(run, [finding(), finding(subject="20500/tcp")], {("web", "ports")}, T0)
    fid = finding().id
    expires = T0 + timedelta(days=20)
    w = store.waive(fid, justification="Cổng quản trị tạm mở để di chuyển hệ thống", approver="Giám đốc TT",
                    expires=expires, now=T0)
    before = store.finding(fid, now=expires - timedelta(seconds=1))
    assert before.status == "waived" and before.waiver == w
    assert [f.subject for f in store.open_findings(now=expires - timedelta(seconds=1))] == ["20500/tcp"]
    assert store.finding(fid, now=expires).status == "open"  # an expired waiver no longer hides it
    assert store.waivers_expiring(timedelta(days=30), now=T0) == [w]
    assert store.waivers_expiring(timedelta(days=7), now=T0) == []
    assert store.waivers(active=False, now=expires) == [w]
    with pytest.raises(DrillError, match="is not in the future"):
        store.waive(fid, justification="x", approver="y", expires=T0 - timedelta(days=1), now=T0)
    with pytest.raises(DrillError, match="needs a time zone"):
        store.waive(fid, justification="x", approver="y", expires=datetime(2027, 1, 1), now=T0)


def test_grouping_by_severity_and_host(store: FindingsStore, catalog: Catalog) -> None:
    run = store.start_run("check", started=T0, hosts=catalog.hosts, roe_name="r", approval_ref="a", approver="b")
    store.record_findings(run, [finding(), finding(host="app", subject="x", severity=Severity.medium, check="tls")],
                          set(), T0)
    by_sev = store.by_severity(now=T0)
    assert list(by_sev) == SEVERITIES and [len(v) for v in by_sev.values()] == [0, 1, 1, 0, 0]
    assert sorted(store.by_host(now=T0)) == ["app", "web"]
    assert store.findings(severity=Severity.medium, now=T0)[0].host == "app"
    assert store.findings(host="web", now=T0)[0].title_en == "Port 20022/tcp"


def test_dated_drills_and_checks_give_compliance_per_system(store: FindingsStore, catalog: Catalog) -> None:
    today = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)
    web, web2, app = catalog.hosts
    store.record_activity("drill", today - timedelta(days=396), [web, web2], note="13 months ago, on paper")
    store.record_activity("check", today - timedelta(days=30), [web, web2])
    store.record_activity("drill", today - timedelta(days=60), [app])
    store.record_activity("check", today - timedelta(days=60), [app])
    rows = {c.system: c for c in store.compliance(catalog, at=today)}
    web_sys = rows["cong-thong-tin"]
    assert (web_sys.security_level, web_sys.hosts) == (4, ["web", "web-2"])  # the system's highest level
    assert (web_sys.drill_ok, web_sys.check_ok, web_sys.status) == (False, True, "overdue")
    assert web_sys.last_drill == today - timedelta(days=396)
    assert web_sys.drill_due == add_months(today - timedelta(days=396), 12)
    assert rows["mot-cua"].status == "ok" and rows["mot-cua"].check_due == add_months(today - timedelta(days=60), 12)
    assert store.last_activity("drill", by="host")["app"].at == today - timedelta(days=60)
    never = FindingsStore(store.state.root / "other")
    assert {c.system: c.status for c in never.compliance(catalog, at=today)} == {"cong-thong-tin": "overdue",
                                                                                "mot-cua": "overdue"}
    never.close()
    # without a catalogue, the systems come from history
    assert {c.system for c in store.compliance(at=today)} == {"cong-thong-tin", "mot-cua"}
    with pytest.raises(DrillError, match="a time zone is needed"):
        store.record_activity("drill", datetime(2025, 1, 1), [web])
    with pytest.raises(DrillError, match="expected drill or check"):
        store.record_activity("exercise", today, [web])  # type: ignore[arg-type]


def test_add_months_keeps_the_day_or_the_month_end() -> None:
    assert add_months(datetime(2025, 10, 31, tzinfo=UTC), 12) == datetime(2026, 10, 31, tzinfo=UTC)
    assert add_months(datetime(2024, 2, 29, tzinfo=UTC), 12) == datetime(2025, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
