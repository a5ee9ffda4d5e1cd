"""`dvcops drill record` (exercises held elsewhere) and the drills' reads as of a date (drills.compliance)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from drillkit import write_catalog

from drills.compliance import security_as_of
from drills.db import SCHEMA
from drills.findings import FindingsStore, NewFinding
from drills.policy import Severity
from dvcops.catalog import load_catalog
from dvcops.state import StateDir
from tests.conftest import run_dvcops

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HOSTS = [
    {"name": "web", "address": "127.0.61.10", "zone": "dmz", "roles": [], "security_level": 3,
     "system": "cong-thong-tin"},
    {"name": "app", "address": "127.0.61.11", "zone": "app", "roles": [], "security_level": 2, "system": "mot-cua"},
]


@pytest.fixture
def cat(tmp_path: Path) -> Path:
    return write_catalog(tmp_path / "cat.yml", HOSTS, {})


def record(state: Path, cat: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_dvcops("drill", "record", "--catalog", str(cat), *args, state=state)


def test_record_a_national_drill_and_a_contractor_audit(tmp_path: Path, cat: Path) -> None:
    state = tmp_path / "state"
    res = record(state, cat, "--kind", "drill", "--date", "2025-03-10", "--reference", "KH 12/KH-NCSC",
                 "--note", "Diễn tập quốc gia", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert (out["kind"], out["date"], out["reference"]) == ("drill", "2025-03-10", "KH 12/KH-NCSC")
    assert out["systems"] == ["cong-thong-tin", "mot-cua"]          # no --system: every system
    assert out["at"] == "2025-03-10T00:00:00+07:00"                  # the province's local date
    res = record(state, cat, "--kind", "check", "--date", "2025-04-02", "--reference", "BC 7/2025 (nhà thầu)",
                 "--system", "mot-cua")
    assert res.returncode == 0, res.stderr
    assert "recorded check" in res.stdout and "held on 2025-04-02" in res.stdout

    catalog = load_catalog(cat)
    june = datetime(2025, 6, 30, tzinfo=TZ)
    rows = {s.system: s for s in security_as_of(StateDir(state), catalog, june).systems}
    assert rows["cong-thong-tin"].drill_ok and rows["cong-thong-tin"].drill_reference == "KH 12/KH-NCSC"
    assert not rows["cong-thong-tin"].check_ok and rows["cong-thong-tin"].last_check is None
    assert rows["mot-cua"].check_ok and rows["mot-cua"].check_reference == "BC 7/2025 (nhà thầu)"
    # 12 calendar months (drills/policy.yml): due on 10/03/2026, overdue from that moment
    due = datetime(2026, 3, 10, tzinfo=TZ)
    assert rows["mot-cua"].drill_due == due
    before, after = (security_as_of(StateDir(state), catalog, due + d) for d in (-timedelta(seconds=1), timedelta()))
    assert before.drill_ok and not after.drill_ok
    store = FindingsStore(state)
    (run,) = store.runs("drill")
    assert run.status == "recorded" and run.approval_ref == "KH 12/KH-NCSC" and run.note == "Diễn tập quốc gia"
    (activity, *_) = store.activities("drill")
    assert activity.recorded_at is not None and activity.recorded_at > activity.at   # entered after the fact
    store.close()


def test_a_later_drill_does_not_change_compliance_as_of_an_earlier_date(tmp_path: Path, cat: Path) -> None:
    """The bug of issue 15: the row took the newest drill even when it was held after the date asked."""
    state = tmp_path / "state"
    catalog = load_catalog(cat)
    end_h1 = datetime(2025, 7, 1, tzinfo=TZ)
    assert record(state, cat, "--kind", "drill", "--date", "2024-05-15", "--reference", "KH 1").returncode == 0
    first = security_as_of(StateDir(state), catalog, end_h1)
    assert not first.drill_ok and all(s.last_drill == datetime(2024, 5, 15, tzinfo=TZ) for s in first.systems)
    assert record(state, cat, "--kind", "drill", "--date", "2026-02-01", "--reference", "KH 2").returncode == 0
    again = security_as_of(StateDir(state), catalog, end_h1)
    assert again == first
    now = security_as_of(StateDir(state), catalog, datetime(2026, 3, 1, tzinfo=TZ))
    assert now.drill_ok and {s.drill_reference for s in now.systems} == {"KH 2"}


@pytest.mark.parametrize(("args", "message"), [
    (["--kind", "drill", "--date", "2025-02-30", "--reference", "x"], "--date '2025-02-30': expected a date like"),
    (["--kind", "drill", "--date", "10/03/2025", "--reference", "x"], "--date '10/03/2025': expected a date like"),
    (["--kind", "drill", "--date", "20250310", "--reference", "x"], "--date '20250310': expected a date like"),
    (["--kind", "drill", "--date", (date.today() + timedelta(days=2)).isoformat(), "--reference", "x"],
     "in the future"),
    (["--kind", "drill", "--date", "2025-03-10", "--reference", "x", "--system", "cong-thong-tin",
      "--system", "khong-co"], "--system 'khong-co': not a system of"),
    (["--kind", "audit", "--date", "2025-03-10", "--reference", "x"], "--kind 'audit': expected drill or check"),
    (["--kind", "drill", "--date", "2025-03-10", "--reference", "  "], "--reference: give the approval reference"),
])
def test_bad_input_is_one_line_and_stores_nothing(tmp_path: Path, cat: Path, args: list[str], message: str) -> None:
    state = tmp_path / "state"
    assert record(state, cat, "--kind", "check", "--date", "2025-01-02", "--reference", "ok").returncode == 0
    res = record(state, cat, *args)
    assert res.returncode == 2 and message in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    store = FindingsStore(state)
    assert [r.kind for r in store.runs()] == ["check"]
    store.close()


def finding(subject: str, severity: Severity) -> NewFinding:
    return NewFinding(host="web", address="127.0.61.10", system="cong-thong-tin", zone="dmz", security_level=3,
                      check="ports", subject=subject, title=subject, severity=severity, evidence="open",
                      remediation="close")


def test_open_findings_and_waivers_as_of_a_date(tmp_path: Path) -> None:
    """Status, severity and waivers as they stood then: later runs (fix, reopen, re-rating) change nothing."""
    store = FindingsStore(tmp_path / "state")
    t = [datetime(2025, m, 1, tzinfo=UTC) for m in (3, 4, 5, 6, 7)]
    covered = {("web", "ports")}
    for i, found in enumerate([[finding("22/tcp", Severity.high)],          # March: opened
                               [],                                          # April: fixed
                               [finding("22/tcp", Severity.critical)],      # May: reopened, re-rated
                               [finding("22/tcp", Severity.critical), finding("23/tcp", Severity.low)]]):
        run = store.start_run("check", started=t[i], hosts=[], roe_name="t", approval_ref="x", approver="y")
        store.record_findings(run, found, covered, t[i])

    def state_at(when: datetime) -> list[tuple[str, str, str]]:
        return [(f.subject, f.status, f.severity.value) for f in store.findings(status=None, as_of=when)]

    assert state_at(t[0] - timedelta(days=1)) == []
    assert state_at(t[0] + timedelta(days=1)) == [("22/tcp", "open", "high")]
    assert state_at(t[1] + timedelta(days=1)) == [("22/tcp", "fixed", "high")]
    assert state_at(t[2] + timedelta(days=1)) == [("22/tcp", "open", "critical")]
    assert state_at(t[4]) == [("22/tcp", "open", "critical"), ("23/tcp", "open", "low")]
    fid = finding("23/tcp", Severity.low).id
    store.waive(fid, justification="chờ gỡ", approver="Trưởng phòng", expires=t[4] + timedelta(days=10), now=t[4])
    assert [f.status for f in store.findings(status=None, as_of=t[4] + timedelta(days=1))] == ["open", "waived"]
    assert [f.status for f in store.findings(status=None, as_of=t[3] + timedelta(days=1))] == ["open", "open"]
    assert store.waivers_expiring(timedelta(days=30), now=t[3] + timedelta(days=1)) == []   # not yet created
    store.close()


def test_a_store_of_the_previous_release_gets_its_history(tmp_path: Path) -> None:
    """A drills.db written before runs.recorded_at and finding_status existed opens, and reads as of a date."""
    path = tmp_path / "state" / "drills" / "drills.db"
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)
    old.executescript(SCHEMA.migrations[0].sql)  # the first release's tables, no version
    old.execute("INSERT INTO runs (id, kind, status, started, finished, summary_json) VALUES "
                "(1, 'check', 'done', '2025-03-01T00:00:00.000000+00:00', '2025-03-01T01:00:00.000000+00:00', '{}')")
    old.execute("INSERT INTO run_hosts VALUES (1, 'web', '127.0.61.10', 'cong-thong-tin', 'dmz', 3)")
    old.execute("INSERT INTO findings (id, host, system, check_name, subject, title, severity, evidence, remediation, "
                "first_seen, last_seen, status, fixed_at) VALUES ('F-1', 'web', 'cong-thong-tin', 'ports', '22/tcp', "
                "'ssh', 'high', 'open', 'close', '2025-03-01T01:00:00.000000+00:00', "
                "'2025-03-01T01:00:00.000000+00:00', 'fixed', '2025-05-01T00:00:00.000000+00:00')")
    old.commit()
    old.close()
    store = FindingsStore(tmp_path / "state")
    (activity,) = store.activities()
    assert activity.recorded_at == datetime(2025, 3, 1, tzinfo=UTC)
    assert [f.status for f in store.findings(status=None, as_of=datetime(2025, 4, 1, tzinfo=UTC))] == ["open"]
    assert [f.status for f in store.findings(status=None, as_of=datetime(2025, 6, 1, tzinfo=UTC))] == ["fixed"]
    store.close()
    store = FindingsStore(tmp_path / "state")  # opening again migrates nothing twice
    assert len(store.conn.execute("SELECT * FROM finding_status").fetchall()) == 2
    store.close()
