"""The probe history's schema is versioned: a file written by the previous release (schema in
meta('schema') = '1', no user_version) is migrated when opened, with its rows; a newer one is refused
with one line and exit 2. The old DDL below is copied from `git show 8baabfd:probes/store.py`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from subprocess import CompletedProcess
from zoneinfo import ZoneInfo

from probes.store import SCHEMA

Cli = Callable[..., CompletedProcess[str]]
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
VERSION = SCHEMA.version

_B = ", ".join(f"b{i} INTEGER NOT NULL" for i in range(12))
_COUNTS = f"""
    attempts INTEGER NOT NULL, successes INTEGER NOT NULL, unknowns INTEGER NOT NULL, maintenance INTEGER NOT NULL,
    lat_count INTEGER NOT NULL, lat_sum REAL NOT NULL, lat_min REAL, lat_max REAL,
    {_B},"""
OLD_DDL = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoints (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL, agency TEXT NOT NULL, level TEXT NOT NULL, endpoint TEXT NOT NULL,
    last_at REAL, last_state TEXT,
    cert_expiry REAL, cert_seen_at REAL, cert_subject TEXT,
    UNIQUE (service, endpoint)
);
CREATE TABLE IF NOT EXISTS hourly (
    hour INTEGER NOT NULL,  -- UTC epoch seconds of the hour's start
    endpoint_id INTEGER NOT NULL,
    {_COUNTS}
    PRIMARY KEY (hour, endpoint_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily (
    day INTEGER NOT NULL,  -- epoch seconds of local midnight (the province's time zone)
    endpoint_id INTEGER NOT NULL,
    {_COUNTS}
    PRIMARY KEY (day, endpoint_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS monthly (
    month INTEGER NOT NULL,  -- epoch seconds of local midnight on the 1st of the month
    endpoint_id INTEGER NOT NULL,
    {_COUNTS}
    PRIMARY KEY (month, endpoint_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY,
    endpoint_id INTEGER NOT NULL,
    start REAL NOT NULL, "end" REAL, last_failure REAL NOT NULL, failures INTEGER NOT NULL, reason TEXT
);
CREATE INDEX IF NOT EXISTS incidents_by_time ON incidents (start);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (endpoint_id) WHERE "end" IS NULL;
CREATE TABLE IF NOT EXISTS raw (
    at REAL NOT NULL, endpoint_id INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT, error TEXT,
    status_code INTEGER, duration REAL, cert_expiry REAL
);
CREATE INDEX IF NOT EXISTS raw_by_time ON raw (at);
"""

CATALOG = """version: 1
province: {code: TS, name: "Tỉnh Thử", reviewer: "Sở Khoa học và Công nghệ"}
agencies: [{id: so-a, name: "Sở A", kind: department}]
services:
  - {id: s1, name: "Đăng ký kinh doanh", agency: so-a, level: 3, slo: 0.99, endpoints: [{url: "https://s1.example/"}]}
"""
JUNE = datetime(2025, 6, 1, tzinfo=TZ).timestamp()
OUTAGE = datetime(2025, 6, 10, 8, tzinfo=TZ).timestamp()
CERT_EXPIRY = datetime(2025, 9, 1, tzinfo=TZ).timestamp()


def _old_store(path: Path) -> None:
    """What the previous release wrote: June 2025 as one monthly roll-up (43,200 probes, 90 failed) and an incident."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(OLD_DDL)
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', '1')")
    conn.execute("INSERT OR IGNORE INTO meta VALUES ('timezone', 'Asia/Ho_Chi_Minh')")
    conn.execute("INSERT INTO endpoints (id, service, agency, level, endpoint, last_at, last_state, cert_expiry, "
                 "cert_seen_at, cert_subject) VALUES (1, 's1', 'so-a', '3', 'https://s1.example/', ?, 'up', ?, ?, "
                 "'CN=s1.example')", (JUNE + 30 * 86400 - 60, CERT_EXPIRY, JUNE + 30 * 86400 - 60))
    counts = (43_200, 43_110, 0, 0, 43_110, 43_110 * 0.05, 0.01, 0.2, *([0] * 3), 43_110, *([0] * 8))
    conn.execute(f"INSERT INTO monthly VALUES (?, 1, {', '.join('?' * len(counts))})", (JUNE, *counts))
    conn.execute('INSERT INTO incidents (endpoint_id, start, "end", last_failure, failures, reason) '
                 "VALUES (1, ?, ?, ?, 90, 'http 503')", (OUTAGE, OUTAGE + 5400, OUTAGE + 5340))
    conn.close()


def _uptime(cli: Cli, catalog: Path) -> CompletedProcess[str]:
    return cli("probe", "uptime", "-c", str(catalog), "--period", "2025-06", "--json")


def test_previous_release_store_is_migrated_with_its_rows(tmp_path: Path, dvcops_cli: Cli) -> None:
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(CATALOG, encoding="utf-8")
    store = tmp_path / "state" / "probes" / "history.sqlite"
    _old_store(store)
    res = _uptime(dvcops_cli, catalog)
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    s1 = next(s for s in rep["services"] if s["id"] == "s1")
    assert (s1["attempts"], s1["successes"], s1["incidents"]) == (43_200, 43_110, 1)
    assert s1["downtime_minutes"] == 90
    assert [(i["service"], i["duration_minutes"]) for i in rep["incidents"]] == [("s1", 90)]
    conn = sqlite3.connect(store)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == VERSION == 3
    assert dict(conn.execute("SELECT key, value FROM meta").fetchall()) == {"timezone": "Asia/Ho_Chi_Minh"}
    # migration 2 started the certificate history from the certificate the old file knew
    assert conn.execute("SELECT endpoint_id, expiry, subject FROM cert_history").fetchall() == [
        (1, CERT_EXPIRY, "CN=s1.example")]
    conn.close()
    again = _uptime(dvcops_cli, catalog)  # a migrated file opens as it is
    assert (again.returncode, json.loads(again.stdout)["services"]) == (0, rep["services"])


def test_newer_store_is_refused_with_one_line(tmp_path: Path, dvcops_cli: Cli) -> None:
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(CATALOG, encoding="utf-8")
    store = tmp_path / "state" / "probes" / "history.sqlite"
    _old_store(store)
    conn = sqlite3.connect(store, isolation_level=None)
    conn.execute(f"PRAGMA user_version = {VERSION + 1}")
    conn.close()
    before = store.read_bytes()
    res = _uptime(dvcops_cli, catalog)
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        f"{store.resolve()}: probe history schema version 4 is newer than this dvcops knows (3): it was written "
        "by a newer release; upgrade dvcops, or point DVCOPS_STATE at another state directory"]
    assert store.read_bytes() == before
