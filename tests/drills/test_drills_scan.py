"""Real nmap against ports these tests opened on 127.0.61.x: findings, diff, scope, window, waivers, nmap errors.

Every listed port is ours: listening (open) or bound without listening (closed). Packets are
counted with nftables (a SYN scan never completes a connection, so an accept counter alone could
not fail), and each "nothing was sent" assertion has a positive control showing the counters work.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nmap
import pytest
from drillkit import FTP, PREFIX, SSH_92, SSH_96, Listeners, window, write_catalog, write_roe

from drills.findings import FindingsStore
from drills.roe import load_roe
from drills.runner import run_drill
from dvcops.catalog import load_catalog
from dvcops.state import StateDir
from tests.conftest import run_dvcops

pytestmark = pytest.mark.slow

WEB, APP, FW, OUT = f"{PREFIX}.10", f"{PREFIX}.11", f"{PREFIX}.12", f"{PREFIX}.200"
PORTS = [20022, 20080, 20443, 20500]


@pytest.fixture(scope="module")
def lab61(listeners: Listeners, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Our hosts and ports, and a catalogue describing them; yields the catalogue path."""
    layout = {
        WEB: {20022: SSH_92, 20080: FTP, 20443: None, 20500: None},  # 20022 unexpected ssh; 20443 approved, closed
        APP: {20022: None, 20080: FTP, 20443: None, 20500: FTP},  # 20500 unexpected ftp
        FW: {20022: None, 20080: FTP, 20443: None, 20500: None},
        OUT: {p: FTP for p in PORTS},  # out of scope: must never see a packet
    }
    for addr, ports in layout.items():
        for port, banner in ports.items():
            if banner is None:
                listeners.reserve(addr, port)
            else:
                listeners.listen(addr, port, banner)
    folder = tmp_path_factory.mktemp("scan61")
    yield write_catalog(folder / "catalog.yml", [
        {"name": "web-dmz", "address": WEB, "zone": "dmz", "roles": ["web"], "security_level": 3,
         "system": "cong-thong-tin"},
        {"name": "app-2", "address": APP, "zone": "app", "roles": ["app"], "security_level": 2, "system": "mot-cua"},
        {"name": "fw-test", "address": FW, "zone": "app", "roles": ["app"], "security_level": 3, "system": "mot-cua"},
        {"name": "outside", "address": OUT, "zone": "dmz", "roles": ["web"], "security_level": 3},
    ], {"web": [20080, 20443], "app": [20080]})


def drill(*args: str, state: Path) -> subprocess.CompletedProcess[str]:
    return run_dvcops("drill", *args, state=state)


def run_json(catalog: Path, roe: Path, state: Path, *targets: str) -> tuple[int, dict[str, Any]]:
    args = ["run", "--catalog", str(catalog), "--roe", str(roe), "--json"]
    for t in targets:
        args += ["--target", t]
    res = drill(*args, state=state)
    assert res.returncode in (0, 1), res.stderr
    return res.returncode, json.loads(res.stdout)


def test_unapproved_open_port_found_with_severity_and_closed_approved_port_reported(lab61: Path,
                                                                                    tmp_path: Path) -> None:
    roe = write_roe(tmp_path / "roe.yml")
    code, out = run_json(lab61, roe, tmp_path / "state", "web-dmz", "app-2")
    assert code == 1
    got = {(f["host"], f["subject"], f["severity"]) for f in out["open"]}
    assert got == {
        ("web-dmz", "20022/tcp", "critical"),  # ssh in the DMZ: remote admin, level 3
        ("web-dmz", "20443/tcp (approved)", "medium"),  # approved port closed
        ("app-2", "20500/tcp", "low"),  # an unknown-class service on an app host, level 2: medium - 1
    }
    ssh = next(f for f in out["open"] if f["subject"] == "20022/tcp")
    assert "ssh OpenSSH 9.2p1" in ssh["evidence"] and "class remote-admin" in ssh["evidence"]
    closed = next(f for f in out["open"] if f["subject"] == "20443/tcp (approved)")
    assert "20443/tcp closed (reset)" in closed["evidence"]

    store = FindingsStore(tmp_path / "state")
    run = store.run(out["run_id"])
    scan = run.summary["scan"]
    assert scan["scan_type"] == "syn" and scan["privileged"] is True and scan["nmap_version"].startswith("7.")
    assert f"-p {','.join(map(str, PORTS))}" in scan["command_line"] and " -Pn " in scan["command_line"]
    xml = Path(scan["xml"])
    assert xml.is_relative_to(tmp_path / "state") and 'scanner="nmap"' in xml.read_text()
    store.close()


def test_second_run_diff_shows_exactly_the_change(lab61: Path, listeners: Listeners, tmp_path: Path) -> None:
    roe = write_roe(tmp_path / "roe.yml")
    state = tmp_path / "state"
    code, first = run_json(lab61, roe, state, "web-dmz", "app-2")
    assert first["diff"] is None  # nothing to compare with yet
    try:
        listeners.listen(WEB, 20500, FTP)  # opened
        listeners.reserve(APP, 20500)  # closed
        listeners.set_banner(WEB, 20022, SSH_96)  # service changed
        code, second = run_json(lab61, roe, state, "web-dmz", "app-2")
    finally:
        listeners.reserve(WEB, 20500)
        listeners.listen(APP, 20500, FTP)
        listeners.set_banner(WEB, 20022, SSH_92)
    assert sorted(second["diff"]) == sorted([
        f"+web-dmz ({WEB}) 20500/tcp opened: closed -> open ftp vsftpd 3.0.3",
        f"-app-2 ({APP}) 20500/tcp closed: open ftp vsftpd 3.0.3 -> closed",
        f"~web-dmz ({WEB}) 20022/tcp service: ssh OpenSSH 9.2p1 Debian 2 (protocol 2.0) -> "
        "ssh OpenSSH 9.6p1 Debian 5 (protocol 2.0)",
    ])
    # the findings follow: app-2's port is fixed, web-dmz's new port is open
    store = FindingsStore(state)
    fixed = {(f.host, f.subject) for f in store.findings(status="fixed")}
    assert ("app-2", "20500/tcp") in fixed
    assert ("web-dmz", "20500/tcp") in {(f.host, f.subject) for f in store.open_findings()}
    store.close()


def test_out_of_scope_address_and_name_are_refused_and_see_no_packet(lab61: Path, listeners: Listeners,
                                                                     test_dns: str, packets: Any,
                                                                     tmp_path: Path) -> None:
    roe = write_roe(tmp_path / "roe.yml", resolver=test_dns)
    state = tmp_path / "state"
    counter = packets([WEB, APP, OUT])
    before = dict(listeners.accepted)

    res = drill("run", "--catalog", str(lab61), "--roe", str(roe), "--target", "web-dmz", "--target", OUT,
                state=state)
    assert res.returncode == 2
    assert res.stderr.strip() == f"refused: target {OUT}: denied by rule 2 (deny {OUT})"

    res = drill("run", "--catalog", str(lab61), "--roe", str(roe), "--target", "outside.drill.test", state=state)
    assert res.returncode == 2
    assert res.stderr.strip() == f"refused: target outside.drill.test resolves to {OUT}: denied by rule 2 (deny {OUT})"

    res = drill("run", "--catalog", str(lab61), "--roe", str(roe), "--target", "outside", state=state)
    assert res.returncode == 2
    assert res.stderr.strip() == f"refused: target outside ({OUT}): denied by rule 2 (deny {OUT})"

    assert counter.counts() == {WEB: 0, APP: 0, OUT: 0}
    assert dict(listeners.accepted) == before
    assert not (state / "drills" / "runs").exists()  # refused before a run was even recorded

    # positive control: the same counters do see an allowed run reached through a name
    code, _ = run_json(lab61, roe, state, "web.drill.test")
    assert code == 1
    counts = counter.counts()
    assert counts[WEB] > 0 and counts[OUT] == 0 and counts[APP] == 0
    assert listeners.accepted[(WEB, 20022)] > before.get((WEB, 20022), 0)


def test_run_outside_the_roe_window_is_refused(lab61: Path, packets: Any, tmp_path: Path) -> None:
    counter = packets([WEB, APP, FW])
    past = write_roe(tmp_path / "past.yml", window={"start": "2026-01-05T08:00:00+07:00",
                                                    "end": "2026-01-09T17:00:00+07:00"})
    res = drill("run", "--catalog", str(lab61), "--roe", str(past), state=tmp_path / "state")
    assert res.returncode == 2
    assert res.stderr.startswith("refused: RoE 'Diễn tập kiểm thử' window ended 2026-01-09T17:00:00+07:00; it is ")
    assert res.stderr.strip().endswith("the authorisation has expired")
    soon = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    future = write_roe(tmp_path / "future.yml", window={"start": soon.isoformat(),
                                                        "end": (soon + timedelta(days=2)).isoformat()})
    res = drill("run", "--catalog", str(lab61), "--roe", str(future), state=tmp_path / "state")
    assert res.returncode == 2 and "the drill is not authorised yet" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    plan = drill("plan", "--catalog", str(lab61), "--roe", str(future), state=tmp_path / "state")
    assert plan.returncode == 0 and "not open now" in plan.stdout
    assert counter.counts() == {WEB: 0, APP: 0, FW: 0}


def test_plan_lists_hosts_ports_checks_and_touches_nothing(lab61: Path, listeners: Listeners, packets: Any,
                                                           tmp_path: Path) -> None:
    counter = packets([WEB, APP, FW, OUT])
    before = dict(listeners.accepted)
    roe = write_roe(tmp_path / "roe.yml")
    res = drill("plan", "--catalog", str(lab61), "--roe", str(roe), "--json", state=tmp_path / "state")
    assert res.returncode == 0, res.stderr
    plan = json.loads(res.stdout)
    assert [(h["name"], h["address"], h["allowed_ports"]) for h in plan["hosts"]] == [
        ("web-dmz", WEB, [20080, 20443]), ("app-2", APP, [20080]), ("fw-test", FW, [20080])]
    assert plan["ports"] == "20022,20080,20443,20500" and plan["checks"] == ["ports", "tls", "headers", "exposure",
                                                                             "content"]
    assert plan["nmap_command"] == ["nmap", "-oX", "-", WEB, APP, FW, "-p", "20022,20080,20443,20500", "-n", "-Pn",
                                    "-sS", "-sV", "--max-rate", "300", "--max-retries", "2", "--host-timeout", "600s",
                                    "--reason"]
    assert plan["skipped"] == [{"what": f"host outside ({OUT})", "why": f"denied by rule 2 (deny {OUT})"}]
    assert counter.counts() == {WEB: 0, APP: 0, FW: 0, OUT: 0}
    assert dict(listeners.accepted) == before


def test_a_waiver_hides_its_finding_until_it_expires(lab61: Path, tmp_path: Path) -> None:
    roe = write_roe(tmp_path / "roe.yml", window=window(end=timedelta(hours=4)))
    state = tmp_path / "state"
    code, first = run_json(lab61, roe, state, "app-2")
    assert code == 1 and [f["subject"] for f in first["open"]] == ["20500/tcp"]
    fid = first["open"][0]["id"]

    bad = drill("waive", fid, "--justification", "", "--approver", "x", "--expires", "2030-01-01", state=state)
    assert bad.returncode == 2 and bad.stderr.strip() == f"waiver for {fid}: a justification is required " \
                                                         "(why the risk is accepted)"
    bad = drill("waive", fid, "--justification", "j", "--approver", "x", "--expires", "2020-01-01", state=state)
    assert bad.returncode == 2 and "is not in the future" in bad.stderr
    bad = drill("waive", "F-00000000", "--justification", "j", "--approver", "x", "--expires", "2030-01-01",
                state=state)
    assert bad.returncode == 2 and "no such finding" in bad.stderr

    expires = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    ok = drill("waive", fid, "--justification", "FTP nội bộ, chờ gỡ bỏ trong đợt bảo trì",
               "--approver", "Trưởng phòng ATTT", "--expires", expires.isoformat(), "--json", state=state)
    assert ok.returncode == 0, ok.stderr
    waiver = json.loads(ok.stdout)
    assert waiver["finding_id"] == fid and waiver["approver"] == "Trưởng phòng ATTT"
    assert datetime.fromisoformat(waiver["expires"]) == expires
    code, second = run_json(lab61, roe, state, "app-2")
    assert code == 0 and second["open"] == [] and [f["id"] for f in second["waived"]] == [fid]
    assert second["waived"][0]["waiver"]["approver"] == "Trưởng phòng ATTT"

    def listed(*extra: str) -> list[str]:
        res = drill("findings", "--status", "open", "--json", *extra, state=state)
        assert res.returncode == 0, res.stderr
        return [f["id"] for f in json.loads(res.stdout)]

    assert listed() == []
    assert listed("--as-of", (expires - timedelta(seconds=1)).isoformat()) == []
    assert listed("--as-of", expires.isoformat()) == [fid]  # the expired waiver no longer hides it
    # a real scan after the expiry (the run's clock starts an hour and a minute from now)
    after = run_drill(load_catalog(lab61), load_roe(roe), StateDir(state), targets=["app-2"],
                      now=expires + timedelta(minutes=1))
    assert after.exit_code == 1 and [f.id for f in after.open] == [fid] and after.waived == []

    csv_file = tmp_path / "findings.csv"
    assert drill("findings", "--status", "all", "--csv", str(csv_file), state=state).returncode == 0
    raw = csv_file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,severity,status") and "FTP nội bộ, chờ gỡ bỏ".encode() in raw
    assert f"{fid},low,waived,app-2".encode() in raw and "Trưởng phòng ATTT".encode() in raw


def test_nmap_errors_hidden_by_python_nmap_are_surfaced(lab61: Path, tmp_path: Path) -> None:
    table = f"dvcops_drills_drop_{int(time.time() * 1000) % 10**9}"
    rules = (f"add table ip {table}\nadd chain ip {table} out {{ type filter hook output priority 0; policy accept; }}"
             f"\nadd rule ip {table} out ip daddr {FW} tcp dport 20080 drop\n")
    subprocess.run(["nft", "-f", "-"], input=rules, text=True, check=True)
    try:
        # python-nmap alone: a normal-looking result, the port "filtered", the error tucked away
        raw = nmap.PortScanner().scan(FW, "20080", "-n -Pn -sS --max-retries 1")
        assert raw["scan"][FW]["tcp"][20080]["state"] == "filtered"
        assert "Operation not permitted" in "".join(raw["nmap"]["scaninfo"]["error"])
        roe = write_roe(tmp_path / "roe.yml", scan={"max_retries": 1})
        res = drill("run", "--catalog", str(lab61), "--roe", str(roe), "--target", "fw-test", state=tmp_path / "st")
    finally:
        subprocess.run(["nft", "delete", "table", "ip", table], check=False)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert lines[0].startswith("nmap reported errors, so its results cannot be trusted (raw XML: ")
    assert any("sendto" in line and "Operation not permitted" in line for line in lines[1:])
    store = FindingsStore(tmp_path / "st")
    assert [r.status for r in store.runs()] == ["error"]
    store.close()


def test_scan_type_and_privilege_are_recorded_and_only_like_is_diffed(lab61: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from drills.plan import scan_type

    state = tmp_path / "state"
    code, syn = run_json(lab61, write_roe(tmp_path / "syn.yml"), state, "app-2")
    connect_roe = write_roe(tmp_path / "connect.yml", scan={"type": "connect"})
    code, first = run_json(lab61, connect_roe, state, "app-2")
    assert first["diff"] is None  # a connect scan is not compared with the earlier SYN scan
    code, second = run_json(lab61, connect_roe, state, "app-2")
    assert second["diff"] == []  # ... but with the earlier connect scan: nothing changed
    store = FindingsStore(state)
    kinds = [(r.summary["scan"]["scan_type"], r.scan_kind) for r in store.runs()]
    assert kinds == [("syn", "syn+sV"), ("connect", "connect+sV"), ("connect", "connect+sV")]
    assert " -sT " in store.run(second["run_id"]).summary["scan"]["command_line"]
    store.close()

    # not root: nmap cannot send raw SYNs, so the drill falls back to a connect scan and says so
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    kind, privileged, warnings = scan_type(load_roe(write_roe(tmp_path / "want-syn.yml", scan={"type": "syn"})))
    assert (kind, privileged) == ("connect", False) and "falling back to a connect scan (-sT)" in warnings[0]
    assert scan_type(load_roe(tmp_path / "syn.yml"))[:2] == ("connect", False)


def test_a_scenario_needing_the_lab_is_refused_when_no_lab_runs(lab61: Path, packets: Any, tmp_path: Path) -> None:
    counter = packets([WEB])
    scenario = tmp_path / "sc.yml"
    scenario.write_text("version: 1\nid: mo-cong\nname: Mở cổng\ntargets: [web-dmz]\ninjects:\n"
                        "  - {id: a, at: 0s, title: t, red: r,\n"
                        "     action: {action: open-port, host: web-dmz, port: 20500},\n"
                        "     expect: {detection: d, response: r, detect_within: 1m, respond_within: 1m}}\n",
                        encoding="utf-8")
    res = drill("run", "--catalog", str(lab61), "--roe", str(write_roe(tmp_path / "roe.yml")), "--scenario",
                str(scenario), "--lab-state", str(tmp_path / "no-lab"), state=tmp_path / "state")
    assert res.returncode == 2
    assert res.stderr.strip() == (f"scenario mo-cong acts on the lab, but no lab runs in {tmp_path / 'no-lab' / 'lab'}:"
                                  " start it with `dvcops lab up` or give --lab-state")
    assert counter.counts() == {WEB: 0}
