"""The drills SQLite file in the state dir (`<state>/drills/drills.db`): schema, its migrations, time helpers.

Times are stored as UTC ISO-8601 text with microseconds, so text order is time order. The schema is
versioned (`SCHEMA`, dvcops.migrations): an older file is migrated when opened, a newer one refused.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from drills.errors import DrillError
from dvcops.migrations import Migration, Schema, migrate
from dvcops.state import StateDir

_SCHEMA_1 = """
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


def _unversioned(conn: sqlite3.Connection) -> int:
    """The first release kept no version: a file with its tables is version 1, an empty one new."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'runs'").fetchone()
    return 1 if found else 0


def _as_of_history(conn: sqlite3.Connection) -> None:
    """What a read as of a past date needs (issue 15):

    - `runs.recorded_at`: when a run row was entered. A drill held elsewhere and recorded later keeps
      its exercise date in `started`/`finished`; `recorded_at` says when dvcops learnt of it.
    - `finding_status`: every change of a finding's status or severity (opened, fixed, reopened,
      re-rated), so the open findings as of a date do not depend on later runs. An older store gets
      its history from what its rows hold (opened at first_seen, fixed at fixed_at).

    Idempotent, for files written between this change and the schema's versioning (no user_version yet).
    """
    columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    if "recorded_at" not in columns:
        conn.execute("ALTER TABLE runs ADD COLUMN recorded_at TEXT")
        conn.execute("UPDATE runs SET recorded_at = started")
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'finding_status'").fetchone():
        return
    conn.execute("CREATE TABLE finding_status (finding_id TEXT NOT NULL, at TEXT NOT NULL, "
                 "status TEXT NOT NULL, severity TEXT NOT NULL)")  # status: open | fixed
    conn.execute("CREATE INDEX finding_status_by_finding ON finding_status (finding_id, at)")
    conn.execute("INSERT INTO finding_status SELECT id, first_seen, 'open', severity FROM findings")
    conn.execute("INSERT INTO finding_status SELECT id, fixed_at, 'fixed', severity FROM findings "
                 "WHERE status = 'fixed' AND fixed_at IS NOT NULL")


SCHEMA = Schema("drills store", migrations=(
    Migration("the first release's tables: runs, hosts, findings, waivers, timeline, content baseline", _SCHEMA_1),
    Migration("reads as of a date: runs.recorded_at, finding_status history", apply=_as_of_history),
), unversioned=_unversioned)
"""Add a migration at the end for any change to the tables above; never edit a released one."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    """UTC text with microseconds, so that text order is time order."""
    if t.tzinfo is None:
        raise ValueError(f"{t!r}: a time zone is needed")
    return t.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def db_path(state: StateDir) -> Path:
    return state.path("drills", "drills.db")


def connect(state: StateDir) -> sqlite3.Connection:
    path = db_path(state)
    conn = sqlite3.connect(path, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        migrate(conn, SCHEMA, path, DrillError)
    except DrillError:
        conn.close()
        raise
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # with WAL: never corrupt, one fsync per checkpoint, not per commit
    conn.execute("PRAGMA foreign_keys=ON")
    return conn

