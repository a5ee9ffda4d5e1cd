"""The drills store's schema is versioned: a file written by the previous release (no version at all)
is migrated when opened, with its runs, findings and waivers; a newer one is refused with one line and
exit 2. The old DDL below is copied from `git show 8baabfd:drills/db.py`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from subprocess import CompletedProcess

from drills.db import SCHEMA
from drills.findings import FindingsStore
from dvcops.state import StateDir

Cli = Callable[..., CompletedProcess[str]]

OLD_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,              -- drill (with a scenario) | check (compliance check)
    status TEXT NOT NULL,            -- running | done | error | recorded (entered through the API)
    started TEXT NOT NULL,
    finished TEXT,
    roe_name TEXT, approval_ref TEXT, approver TEXT,
    scenario_id TEXT, scenario_json TEXT,
    scan_kind TEXT, scan_xml TEXT,
    catalog_path TEXT,
    exit_code INTEGER,
    summary_json TEXT,
    note TEXT
);
CREATE TABLE IF NOT EXISTS run_hosts (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    host TEXT NOT NULL, address TEXT, system TEXT NOT NULL, zone TEXT, security_level INTEGER,
    PRIMARY KEY (run_id, host)
);
CREATE TABLE IF NOT EXISTS findings (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL, address TEXT, system TEXT, zone TEXT, security_level INTEGER,
    check_name TEXT NOT NULL, subject TEXT NOT NULL,
    title TEXT NOT NULL, title_en TEXT, severity TEXT NOT NULL, evidence TEXT NOT NULL,
    remediation TEXT NOT NULL, remediation_en TEXT,
    first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
    status TEXT NOT NULL,            -- open | fixed (waived is computed from waivers at read time)
    fixed_at TEXT,
    first_run INTEGER, last_run INTEGER
);
CREATE TABLE IF NOT EXISTS finding_runs (
    finding_id TEXT NOT NULL, run_id INTEGER NOT NULL, PRIMARY KEY (finding_id, run_id)
);
CREATE TABLE IF NOT EXISTS waivers (
    id INTEGER PRIMARY KEY,
    finding_id TEXT NOT NULL REFERENCES findings(id),
    justification TEXT NOT NULL, approver TEXT NOT NULL,
    expires TEXT NOT NULL, created TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS timeline (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    inject_id TEXT, event TEXT NOT NULL, at TEXT NOT NULL, by_whom TEXT, note TEXT, logged_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS content_baseline (
    url TEXT PRIMARY KEY, sha256 TEXT NOT NULL, run_id INTEGER, seen_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_host ON findings(host, check_name);
CREATE INDEX IF NOT EXISTS run_hosts_system ON run_hosts(system);
"""

CHECK_AT = "2025-03-10T02:00:00.000000+00:00"


def _old_store(state: Path) -> Path:
    """What the previous release wrote: one compliance check of he-thong-a, an open finding and its waiver."""
    path = state / "drills" / "drills.db"
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(OLD_DDL)
    conn.execute("INSERT INTO runs (id, kind, status, started, finished, roe_name, approval_ref, approver, exit_code) "
                 "VALUES (1, 'check', 'done', ?, ?, 'Kiểm tra 2025', 'QĐ 12/QĐ-SKHCN', 'Giám đốc Sở', 1)",
                 ("2025-03-10T01:00:00.000000+00:00", CHECK_AT))
    conn.execute("INSERT INTO run_hosts VALUES (1, 'web-1', '10.99.0.1', 'he-thong-a', 'dmz', 3)")
    conn.execute("INSERT INTO findings VALUES ('F-0000abcd', 'web-1', '10.99.0.1', 'he-thong-a', 'dmz', 3, 'ports', "
                 "'10.99.0.1:23/tcp', 'Cổng 23/tcp mở ngoài danh mục được duyệt (telnet)', "
                 "'Unexpected open port 23/tcp (telnet)', 'high', '23/tcp open telnet', 'Tắt dịch vụ', 'Stop it', "
                 "?, ?, 'open', NULL, 1, 1)", (CHECK_AT, CHECK_AT))
    conn.execute("INSERT INTO finding_runs VALUES ('F-0000abcd', 1)")
    conn.execute("INSERT INTO waivers (finding_id, justification, approver, expires, created) VALUES "
                 "('F-0000abcd', 'Máy cũ, thay trong quý 2', 'Giám đốc Sở', '2099-01-01T00:00:00.000000+00:00', ?)",
                 (CHECK_AT,))
    conn.close()
    return path


def test_previous_release_store_is_migrated_with_its_rows(tmp_path: Path, dvcops_cli: Cli) -> None:
    path = _old_store(tmp_path / "state")
    res = dvcops_cli("drill", "findings", "--status", "all", "--json")
    assert res.returncode == 0, res.stderr
    [finding] = json.loads(res.stdout)
    assert (finding["id"], finding["status"], finding["title_en"]) == (
        "F-0000abcd", "waived", "Unexpected open port 23/tcp (telnet)")
    assert finding["waiver"]["justification"] == "Máy cũ, thay trong quý 2"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA.version == 2
    # migration 2 (reads as of a date) derived its history from the old rows
    assert conn.execute("SELECT recorded_at FROM runs").fetchall() == [("2025-03-10T01:00:00.000000+00:00",)]
    assert conn.execute("SELECT finding_id, at, status, severity FROM finding_status").fetchall() == [
        ("F-0000abcd", CHECK_AT, "open", "high")]
    conn.close()
    store = FindingsStore(StateDir(tmp_path / "state"))
    try:
        [system] = store.compliance(at=datetime(2025, 6, 30, tzinfo=UTC))
        assert (system.system, system.last_check, system.check_ok) == (
            "he-thong-a", datetime(2025, 3, 10, 2, tzinfo=UTC), True)
        assert [r.approval_ref for r in store.runs()] == ["QĐ 12/QĐ-SKHCN"]
    finally:
        store.close()


def test_newer_store_is_refused_with_one_line(tmp_path: Path, dvcops_cli: Cli) -> None:
    path = _old_store(tmp_path / "state")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA user_version = {SCHEMA.version + 1}")
    conn.close()
    before = path.read_bytes()
    res = dvcops_cli("drill", "findings")
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        f"{path.resolve()}: drills store schema version {SCHEMA.version + 1} is newer than this dvcops knows "
        f"({SCHEMA.version}): it was written by a newer release; upgrade dvcops, or point DVCOPS_STATE at another "
        "state directory"]
    assert path.read_bytes() == before
