"""The after-action report of a compliance check on our own listeners: scope and approval, findings by severity
and host, waivers, changes since the previous run, compliance per system (a drill 13 months old is overdue),
and the incident notification draft with its 5-day deadline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from drillkit import FTP, PREFIX, SSH_92, Listeners, write_catalog, write_roe

from drills.findings import FindingsStore
from dvcops.catalog import load_catalog
from tests.conftest import run_dvcops

pytestmark = pytest.mark.slow
CONG, MOTCUA = f"{PREFIX}.40", f"{PREFIX}.41"


@pytest.fixture(scope="module")
def report_env(listeners: Listeners, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    folder = tmp_path_factory.mktemp("report61")
    listeners.listen(CONG, 20080, FTP)
    listeners.listen(CONG, 20022, SSH_92)  # ssh open to the DMZ: critical
    listeners.reserve(CONG, 20500)
    listeners.listen(MOTCUA, 20080, FTP)
    listeners.reserve(MOTCUA, 20022)
    listeners.listen(MOTCUA, 20500, FTP)  # unexpected, low
    catalog = write_catalog(folder / "catalog.yml", [
        {"name": "cong-1", "address": CONG, "zone": "dmz", "roles": ["web"], "security_level": 3,
         "system": "cong-thong-tin"},
        {"name": "mot-cua-1", "address": MOTCUA, "zone": "app", "roles": ["web"], "security_level": 2,
         "system": "mot-cua"},
    ], {"web": [20080]})
    roe = write_roe(folder / "roe.yml", rules=[{"allow": CONG}, {"allow": MOTCUA}], ports=[20022, 20080, 20500],
                    teams={"red": "PA05", "blue": "Trung tâm CĐS"})
    state = folder / "state"
    # history: the last live drill of the portal system was 13 months ago, on paper
    store = FindingsStore(state)
    cat = load_catalog(catalog)
    store.record_activity("drill", datetime.now(UTC) - timedelta(days=396), [cat.host("cong-1")],
                          note="Diễn tập 2025 (hồ sơ giấy)")
    store.close()
    first = run_dvcops("drill", "run", "--catalog", str(catalog), "--roe", str(roe), state=state)
    assert first.returncode == 1, first.stderr
    fid = json.loads(run_dvcops("drill", "findings", "--json", state=state).stdout)
    low = next(f["id"] for f in fid if f["host"] == "mot-cua-1")
    waived = run_dvcops("drill", "waive", low, "--justification", "Dịch vụ FTP nội bộ tạm thời",
                        "--approver", "Phó Giám đốc Sở", "--expires", "2099-01-01", state=state)
    assert waived.returncode == 0, waived.stderr
    listeners.reserve(CONG, 20080)  # the approved service goes down before the second run
    second = run_dvcops("drill", "run", "--catalog", str(catalog), "--roe", str(roe), state=state)
    assert second.returncode == 1, second.stderr
    out = run_dvcops("drill", "report", "--lang", "both", state=state)
    assert out.returncode == 0, out.stderr
    paths = [Path(p) for p in out.stdout.split()]
    yield {"vi_html": paths[0], "vi_json": paths[1], "en_html": paths[2], "en_json": paths[3], "state": state}
    listeners.listen(CONG, 20080, FTP)


def test_scope_findings_waivers_and_changes(report_env: dict[str, Path]) -> None:
    r = json.loads(report_env["vi_json"].read_text(encoding="utf-8"))
    assert (r["run"]["id"], r["run"]["kind"], r["run"]["exit_code"]) == (3, "check", 1)  # run 1 was the paper drill
    assert (r["scope"]["approval_ref"], r["scope"]["approver"], r["scope"]["ports"]) == (
        "QĐ 99/QĐ-TEST", "Tổ kiểm thử", "20022,20080,20500")
    assert [h["name"] for h in r["scope"]["hosts"]] == ["cong-1", "mot-cua-1"]
    sev = {k: [(f["host"], f["subject"]) for f in v] for k, v in r["findings"].items()}
    assert sev == {"critical": [("cong-1", "20022/tcp")], "high": [], "medium": [("cong-1", "20080/tcp (approved)")],
                   "low": [], "info": []}
    crit = r["findings"]["critical"][0]
    assert crit["title"].startswith("Cổng 20022/tcp mở ngoài danh mục") and "Tắt dịch vụ" in crit["remediation"]
    assert "ssh OpenSSH 9.2p1" in crit["evidence"]
    assert r["by_host"] == {"cong-1": {"critical": 1, "high": 0, "medium": 1, "low": 0, "info": 0}}
    assert [(w["host"], w["waiver"]["approver"]) for w in r["waived"]] == [("mot-cua-1", "Phó Giám đốc Sở")]
    assert r["changes"]["previous_run"] == 2
    assert r["changes"]["scan"] == [f"-cong-1 ({CONG}) 20080/tcp closed: open ftp vsftpd 3.0.3 -> closed"]
    assert [f["subject"] for f in r["changes"]["new"]] == ["20080/tcp (approved)"]


def test_compliance_per_system_and_incident_draft(report_env: dict[str, Path]) -> None:
    r = json.loads(report_env["vi_json"].read_text(encoding="utf-8"))
    rows = {c["system"]: c for c in r["compliance"]}
    assert (rows["cong-thong-tin"]["drill_ok"], rows["cong-thong-tin"]["check_ok"]) == (False, True)  # 13 months
    assert rows["cong-thong-tin"]["status"] == "overdue" and rows["cong-thong-tin"]["last_drill"] is not None
    assert (rows["mot-cua"]["last_drill"], rows["mot-cua"]["status"]) == (None, "overdue")  # never drilled
    assert "116/2025/QH15" in r["legal"]["incidents"]  # the law in force since 1 July 2026
    [draft] = r["incidents"]
    assert draft["finding_id"] == r["findings"]["critical"][0]["id"] and draft["exercise"] is False
    detected = datetime.fromisoformat(draft["detected_at"])
    assert datetime.fromisoformat(draft["deadline"]) == detected + timedelta(days=5)
    assert draft["recipients"][-1].startswith("Cơ quan điều phối quốc gia")
    html = report_env["vi_html"].read_text(encoding="utf-8")
    for vi, en in [("Phạm vi và phê duyệt", "Scope and approval"), ("Phát hiện theo mức độ", "Findings by severity"),
                   ("Tuân thủ theo hệ thống và cấp độ", "Compliance per system and security level"),
                   ("Dự thảo thông báo sự cố", "Draft incident notifications"),
                   ("Thay đổi so với lần trước", "Changes since the previous run")]:
        assert f"{vi} <small>/ {en}</small>" in html
    assert "Hạn báo cáo" in html and "quá hạn" in html and "QĐ 99/QĐ-TEST" in html
    en_html = report_env["en_html"].read_text(encoding="utf-8")
    assert "<h2>Compliance per system and security level</h2>" in en_html and "Phạm vi" not in en_html
    en = json.loads(report_env["en_json"].read_text(encoding="utf-8"))
    assert en["findings"]["critical"][0]["title"].startswith("Unexpected open port 20022/tcp")
