"""The SQLite file behind probes/history.py: schema, batched writes, retention and period reads.

One file in the state dir (`probes/history.sqlite`, WAL so the report reads while the prober
writes). Per endpoint it keeps roll-ups by UTC hour (kept `hourly_days`, 400 by default: 13
months), by local calendar day and by local calendar month (kept for good: reporting periods are
whole months, so a year is 12 rows per endpoint), incidents, the latest certificate, and raw
results for `raw_days`. A period is read from the coarsest roll-ups that fit inside it.
The schema is versioned (`SCHEMA`, dvcops.migrations): an older file is migrated when opened, a
newer one refused.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dvcops.migrations import Migration, Schema, migrate
from probes.errors import ProbeError
from probes.rollup import BUCKETS, Counts, EndpointPeriod, Outage

_B = [f"b{i}" for i in range(len(BUCKETS))]
_COUNT_COLS = ["attempts", "successes", "unknowns", "maintenance", "lat_count", "lat_sum", "lat_min", "lat_max", *_B]


def _rollup_table(table: str, key: str, what: str) -> str:
    """One roll-up table (hourly, daily, monthly): the same counts and latency histogram per period."""
    return f"""CREATE TABLE IF NOT EXISTS {table} (
    {key} INTEGER NOT NULL,  -- {what}
    endpoint_id INTEGER NOT NULL,
    attempts INTEGER NOT NULL, successes INTEGER NOT NULL, unknowns INTEGER NOT NULL, maintenance INTEGER NOT NULL,
    lat_count INTEGER NOT NULL, lat_sum REAL NOT NULL, lat_min REAL, lat_max REAL,
    {", ".join(f"{b} INTEGER NOT NULL" for b in _B)},
    PRIMARY KEY ({key}, endpoint_id)
) WITHOUT ROWID;"""


_SCHEMA_1 = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoints (
    id INTEGER PRIMARY KEY,
    service TEXT NOT NULL, agency TEXT NOT NULL, level TEXT NOT NULL, endpoint TEXT NOT NULL,
    last_at REAL, last_state TEXT,
    cert_expiry REAL, cert_seen_at REAL, cert_subject TEXT,
    UNIQUE (service, endpoint)
);
{_rollup_table("hourly", "hour", "UTC epoch seconds of the hour's start")}
{_rollup_table("daily", "day", "epoch seconds of local midnight (the province's time zone)")}
{_rollup_table("monthly", "month", "epoch seconds of local midnight on the 1st of the month")}
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


def _unversioned(conn: sqlite3.Connection) -> int:
    """Files of the first release carry their version in meta('schema') = '1', not in user_version."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is None:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return int(row[0]) if row else 0


def _add_certificate_history(conn: sqlite3.Connection) -> None:
    """`cert_history`: each certificate an endpoint showed, from when it was first seen, so a report as of a
    past date lists the certificates of that date. Older stores start from their latest certificate.
    Idempotent, for files written between this change and the schema's versioning (no user_version yet)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cert_history'").fetchone():
        return
    conn.execute("CREATE TABLE cert_history (endpoint_id INTEGER NOT NULL, seen_at REAL NOT NULL, "
                 "expiry REAL NOT NULL, subject TEXT, PRIMARY KEY (endpoint_id, seen_at)) WITHOUT ROWID")
    conn.execute("INSERT INTO cert_history SELECT id, cert_seen_at, cert_expiry, cert_subject FROM endpoints "
                 "WHERE cert_expiry IS NOT NULL AND cert_seen_at IS NOT NULL")


SCHEMA = Schema("probe history", migrations=(
    Migration("the first release's tables: endpoints, hourly/daily/monthly roll-ups, incidents, raw results",
              _SCHEMA_1),
    Migration("reads as of a date: cert_history, each certificate an endpoint showed", apply=_add_certificate_history),
    Migration("the version lives in PRAGMA user_version alone: drop meta('schema'), which nothing read",
              "DELETE FROM meta WHERE key = 'schema';"),
), unversioned=_unversioned)
"""Add a migration at the end for any change to the tables above; never edit a released one."""


def _upsert(table: str, key: str) -> str:
    adds = ", ".join(f"{c} = {c} + excluded.{c}" for c in _COUNT_COLS if c not in ("lat_min", "lat_max"))
    return (f"INSERT INTO {table} ({key}, endpoint_id, {', '.join(_COUNT_COLS)}) "
            f"VALUES ({', '.join('?' * (len(_COUNT_COLS) + 2))}) "
            f"ON CONFLICT ({key}, endpoint_id) DO UPDATE SET {adds}, "
            "lat_min = min(coalesce(lat_min, excluded.lat_min), coalesce(excluded.lat_min, lat_min)), "
            "lat_max = max(coalesce(lat_max, excluded.lat_max), coalesce(excluded.lat_max, lat_max))")


def _row(counts: Counts) -> tuple[object, ...]:
    return (counts.attempts, counts.successes, counts.unknowns, counts.maintenance, counts.lat_count,
            counts.lat_sum, counts.lat_min, counts.lat_max, *counts.buckets)


def _counts(row: Sequence[Any]) -> Counts:
    a, s, u, m, lc, ls, lmin, lmax, *b = row
    return Counts(int(a or 0), int(s or 0), int(u or 0), int(m or 0), int(lc or 0), float(ls or 0.0),
                  lmin, lmax, [int(x or 0) for x in b])


@dataclass(frozen=True)
class Sample:
    """One attempt as stored (internal; the public shape is probes.history.Sample)."""

    at: float
    state: str
    latency: float | None = None
    reason: str | None = None
    error: str | None = None
    status_code: int | None = None
    cert_expiry: float | None = None
    cert_subject: str | None = None


Labels = tuple[str, str, str, str]
"""(service, agency, level, endpoint)"""


class SqliteStore:
    def __init__(self, path: Path, timezone: str, raw_days: int = 14, hourly_days: int = 400) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self.lock = threading.Lock()
        self.raw_days, self.hourly_days = raw_days, hourly_days
        with self.lock:
            try:
                migrate(self.conn, SCHEMA, path, ProbeError)
            except ProbeError:
                self.conn.close()
                raise
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('timezone', ?)", (timezone,))
            stored = self.conn.execute("SELECT value FROM meta WHERE key = 'timezone'").fetchone()[0]
        self.tz = ZoneInfo(stored)
        """Daily rows are local days of the zone the file was created with; it never changes."""
        self._ids: dict[tuple[str, str], int] = {}
        self._days: dict[int, int] = {}
        self._months: dict[int, int] = {}
        self._pruned = 0.0

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # ------------------------------------------------------------------ time buckets

    def day_of(self, t: float) -> int:
        """Epoch seconds of the local midnight starting t's day (cached per hour: offsets change on hours)."""
        hour = int(t // 3600)
        day = self._days.get(hour)
        if day is None:
            local = datetime.fromtimestamp(hour * 3600, self.tz)
            day = int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
            self._days[hour] = day
        return day

    def month_of(self, t: float) -> int:
        """Epoch seconds of local midnight on the 1st of t's month."""
        day = self.day_of(t)
        month = self._months.get(day)
        if month is None:
            month = int(datetime.fromtimestamp(day, self.tz).replace(day=1).timestamp())
            self._months[day] = month
        return month

    def _next(self, t: float, start_of: Callable[[float], int], step: Callable[[datetime], datetime]) -> float:
        begin = start_of(t)
        if begin >= t:
            return begin
        return step(datetime.fromtimestamp(begin, self.tz)).timestamp()

    def next_midnight(self, t: float) -> float:
        """The first local midnight at or after t."""
        return self._next(t, self.day_of, lambda d: datetime.combine(d.date() + timedelta(days=1),
                                                                     datetime.min.time(), self.tz))

    def next_month(self, t: float) -> float:
        """The first local month start at or after t."""
        return self._next(t, self.month_of, lambda d: d.replace(year=d.year + d.month // 12,
                                                                month=d.month % 12 + 1))

    # ------------------------------------------------------------------ writes

    def _endpoint_id(self, labels: Labels) -> int:
        service, agency, level, endpoint = labels
        key = (service, endpoint)
        eid = self._ids.get(key)
        if eid is None:
            self.conn.execute("INSERT INTO endpoints (service, agency, level, endpoint) VALUES (?, ?, ?, ?) "
                              "ON CONFLICT (service, endpoint) DO UPDATE SET agency = excluded.agency, "
                              "level = excluded.level", labels)
            eid = int(self.conn.execute("SELECT id FROM endpoints WHERE service = ? AND endpoint = ?",
                                        key).fetchone()[0])
            self._ids[key] = eid
        return eid

    def write_samples(self, batches: Iterable[tuple[Labels, list[Sample]]], raw: bool = True) -> None:
        """Add attempts: roll-ups, incidents, latest certificate and raw rows, in one transaction."""
        hourly: dict[tuple[int, int], Counts] = {}
        daily: dict[tuple[int, int], Counts] = {}
        monthly: dict[tuple[int, int], Counts] = {}
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for labels, samples in batches:
                    eid = self._endpoint_id(labels)
                    samples = sorted(samples, key=lambda s: s.at)
                    for s in samples:
                        hour = int(s.at // 3600) * 3600
                        for table, key in ((hourly, (hour, eid)), (daily, (self.day_of(s.at), eid)),
                                           (monthly, (self.month_of(s.at), eid))):
                            counts = table.get(key)
                            if counts is None:
                                counts = table[key] = Counts()
                            counts.add(s.state, s.latency)
                    self._track_incidents(eid, samples)
                    self._track_endpoint(eid, samples)
                    if raw and self.raw_days:
                        self.conn.executemany(
                            "INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [(s.at, eid, s.state, s.reason, s.error, s.status_code, s.latency, s.cert_expiry)
                             for s in samples])
                self._flush(hourly, daily, monthly)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        self.prune()

    def _flush(self, hourly: dict[tuple[int, int], Counts], daily: dict[tuple[int, int], Counts],
               monthly: dict[tuple[int, int], Counts]) -> None:
        for table, key, rows in (("hourly", "hour", hourly), ("daily", "day", daily), ("monthly", "month", monthly)):
            self.conn.executemany(_upsert(table, key), [(k[0], k[1], *_row(c)) for k, c in rows.items()])

    def _track_incidents(self, eid: int, samples: list[Sample]) -> None:
        """Open an incident at the first charged failure, close it at the next success or maintenance."""
        row = self.conn.execute('SELECT id, last_failure, failures FROM incidents WHERE endpoint_id = ? '
                                'AND "end" IS NULL', (eid,)).fetchone()
        open_id, last_failure, failures = row if row else (None, 0.0, 0)
        for s in samples:
            if s.state == "down":
                if open_id is None:
                    cur = self.conn.execute("INSERT INTO incidents (endpoint_id, start, last_failure, failures, "
                                            "reason) VALUES (?, ?, ?, 1, ?)", (eid, s.at, s.at, s.reason))
                    open_id, last_failure, failures = cur.lastrowid, s.at, 1
                else:
                    last_failure, failures = max(last_failure, s.at), failures + 1
            elif s.state in ("up", "maintenance") and open_id is not None:
                self.conn.execute('UPDATE incidents SET "end" = ?, last_failure = ?, failures = ? WHERE id = ?',
                                  (s.at, last_failure, failures, open_id))
                open_id = None
        if open_id is not None:
            self.conn.execute("UPDATE incidents SET last_failure = ?, failures = ? WHERE id = ?",
                              (last_failure, failures, open_id))

    def _track_endpoint(self, eid: int, samples: list[Sample]) -> None:
        if not samples:
            return
        last = samples[-1]
        self.conn.execute("UPDATE endpoints SET last_at = max(coalesce(last_at, 0), ?), last_state = ? WHERE id = ?",
                          (last.at, last.state, eid))
        certs = [s for s in samples if s.cert_expiry is not None]
        if certs:
            c = certs[-1]
            self.conn.execute("UPDATE endpoints SET cert_expiry = ?, cert_seen_at = ?, cert_subject = ? WHERE id = ?",
                              (c.cert_expiry, c.at, c.cert_subject, eid))
            _track_certificates(self.conn, eid, certs)

    def write_rollups(self, labels: Labels, hourly: dict[int, Counts], outages: list[Outage],
                      last_at: float | None, last_state: str | None) -> None:
        """Write hourly counts (daily and monthly ones are derived) and closed or open incidents directly."""
        daily: dict[tuple[int, int], Counts] = {}
        monthly: dict[tuple[int, int], Counts] = {}
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                eid = self._endpoint_id(labels)
                for hour, counts in hourly.items():
                    key = (self.day_of(hour), eid)
                    if key not in daily:
                        daily[key] = Counts()
                    daily[key].merge(counts)
                for (day, _), counts in daily.items():
                    key = (self.month_of(day), eid)
                    if key not in monthly:
                        monthly[key] = Counts()
                    monthly[key].merge(counts)
                self._flush({(h, eid): c for h, c in hourly.items()}, daily, monthly)
                self.conn.executemany(
                    'INSERT INTO incidents (endpoint_id, start, "end", last_failure, failures, reason) '
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(eid, o.start, o.end, o.last_failure, o.failures, o.reason) for o in outages])
                if last_at is not None:
                    self.conn.execute("UPDATE endpoints SET last_at = max(coalesce(last_at, 0), ?), last_state = ? "
                                      "WHERE id = ?", (last_at, last_state, eid))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def prune(self, now: float | None = None, force: bool = False) -> None:
        """Drop raw rows older than raw_days and hourly rows older than hourly_days (at most hourly)."""
        now = time.time() if now is None else now
        if not force and now - self._pruned < 3600:
            return
        self._pruned = now
        with self.lock:
            self.conn.execute("DELETE FROM raw WHERE at < ?", (now - self.raw_days * 86400,))
            self.conn.execute("DELETE FROM hourly WHERE hour < ?", (now - self.hourly_days * 86400,))

    # ------------------------------------------------------------------ reads

    def pieces(self, start: float, end: float) -> list[tuple[str, float, float]]:
        """[start, end) cut into (table, from, to): whole local months, then whole local days, whole
        hours and, at the edges, minutes (from raw results)."""
        h0, h1 = math.ceil(start / 3600) * 3600, math.floor(end / 3600) * 3600
        if h0 >= h1:
            return [("raw", start, end)]
        out = [("raw", start, h0), ("raw", h1, end)]
        d0, d1 = self.next_midnight(h0), float(self.day_of(h1))
        if d0 >= d1:
            return [*out, ("hourly", h0, h1)]
        out += [("hourly", h0, d0), ("hourly", d1, h1)]
        m0, m1 = self.next_month(d0), float(self.month_of(d1))
        if m0 >= m1:
            return [*out, ("daily", d0, d1)]
        return [*out, ("daily", d0, m0), ("daily", m1, d1), ("monthly", m0, m1)]

    def collect(self, start: float, end: float) -> list[EndpointPeriod]:
        """Every endpoint's counts, outages and latest certificate over [start, end).

        Read from the coarsest roll-ups inside the range (see `pieces`): the minute edges come from
        raw results, so they are exact while those are kept (`raw_days`) and empty after.
        """
        with self.lock:
            eps = {row[0]: EndpointPeriod(service=row[1], agency=row[2], level=row[3], endpoint=row[4],
                                          cert_expiry=row[5], cert_seen_at=row[6], cert_subject=row[7],
                                          last_at=row[8])
                   for row in self.conn.execute("SELECT id, service, agency, level, endpoint, cert_expiry, "
                                                "cert_seen_at, cert_subject, last_at FROM endpoints")}
            cols = ", ".join(f"sum({c})" if c not in ("lat_min", "lat_max") else f"{c[4:]}({c})"
                             for c in _COUNT_COLS)
            keys = {"hourly": "hour", "daily": "day", "monthly": "month"}
            for table, lo, hi in self.pieces(start, end):
                if lo >= hi:
                    continue
                if table == "raw":
                    for eid, state, latency in self.conn.execute(
                            "SELECT endpoint_id, state, duration FROM raw WHERE at >= ? AND at < ?", (lo, hi)):
                        if eid in eps:
                            eps[eid].counts.add(state, latency)
                    continue
                key = keys[table]
                for row in self.conn.execute(f"SELECT endpoint_id, {cols} FROM {table} WHERE {key} >= ? "
                                             f"AND {key} < ? GROUP BY endpoint_id", (lo, hi)):
                    if row[0] in eps:
                        eps[row[0]].counts.merge(_counts(row[1:]))
            for eid, s, e, reason, last_failure in self.conn.execute(
                    'SELECT endpoint_id, start, "end", reason, last_failure FROM incidents '
                    'WHERE start < ? AND ("end" IS NULL OR "end" > ?) ORDER BY start', (end, start)):
                ep = eps.get(eid)
                if ep is None:
                    continue
                # ongoing: still open and the range reaches past the last attempt (the present); an incident
                # still open after the range's end is clipped to it, as it will be once it has ended
                ongoing = e is None and (ep.last_at is None or ep.last_at < end)
                stop = max(last_failure, ep.last_at or last_failure) if e is None else e
                lo, hi = max(s, start), min(stop, end)
                if hi > lo or ongoing:
                    ep.outages.append((lo, max(hi, lo), reason, ongoing))
        return list(eps.values())

    def certificates_at(self, t: float) -> dict[tuple[str, str], tuple[float, float, str | None]]:
        """Per (service, endpoint): (expiry, seen_at, subject) of the certificate last seen at or before t."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT e.service, e.endpoint, c.expiry, c.seen_at, c.subject FROM cert_history c "
                "JOIN endpoints e ON e.id = c.endpoint_id WHERE c.seen_at = (SELECT max(seen_at) FROM cert_history "
                "WHERE endpoint_id = c.endpoint_id AND seen_at <= ?)", (t,)).fetchall()
        return {(service, endpoint): (expiry, seen_at, subject) for service, endpoint, expiry, seen_at, subject in rows}

    def raw(self, since: float, until: float | None = None) -> list[dict[str, object]]:
        """Raw results (kept `raw_days`) with their labels, oldest first."""
        until = time.time() + 1 if until is None else until
        with self.lock:
            rows = self.conn.execute(
                "SELECT r.at, e.service, e.agency, e.level, e.endpoint, r.state, r.reason, r.error, r.status_code, "
                "r.duration, r.cert_expiry FROM raw r JOIN endpoints e ON e.id = r.endpoint_id "
                "WHERE r.at >= ? AND r.at < ? ORDER BY r.at", (since, until)).fetchall()
        keys = ("at", "service", "agency", "level", "endpoint", "state", "reason", "error", "status_code",
                "duration", "cert_expiry")
        return [dict(zip(keys, row, strict=True)) for row in rows]


# ---------------------------------------------------------------------- reads as of a date (issue 15)

def _track_certificates(conn: sqlite3.Connection, eid: int, certs: list[Sample]) -> None:
    """Add a cert_history row when the endpoint shows a different certificate than the one last recorded."""
    row = conn.execute("SELECT expiry, subject FROM cert_history WHERE endpoint_id = ? ORDER BY seen_at DESC LIMIT 1",
                       (eid,)).fetchone()
    last = (row[0], row[1]) if row else None
    for c in certs:
        if (c.cert_expiry, c.cert_subject) != last:
            conn.execute("INSERT OR REPLACE INTO cert_history VALUES (?, ?, ?, ?)",
                         (eid, c.at, c.cert_expiry, c.cert_subject))
            last = (c.cert_expiry, c.cert_subject)
