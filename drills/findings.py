"""Findings, waivers and drill/check history: THE read API other parts (the DoIC report) use.

Everything lives in `<state>/drills/drills.db`. A finding is identified by host, check and subject
(e.g. `lab-db`, `ports`, `16379/tcp`), so the same problem keeps its id from one run to the next:
first and last seen, fixed when a later run covering that host and check no longer sees it,
reopened when it comes back. Waivers (InSpec-style: justification, approver, expiry) hide a finding
only until they expire; "waived" is decided at read time, never stored.

    store = FindingsStore(StateDir("/var/lib/dvcops"))
    store.open_findings()                       # open, not waived, critical first
    store.by_severity(); store.by_host()
    store.waivers_expiring(timedelta(days=30))
    store.compliance(catalog)                   # last drill and check per system, overdue or not
    store.record_activity("drill", at=datetime(2025, 10, 1, tzinfo=UTC), hosts=catalog.hosts)

As of a past date (`as_of=`), reads ignore what happened later: drills and checks held after it,
findings opened after it, fixes and re-ratings after it (table `finding_status`), waivers created
after it. `drills.compliance.security_as_of` bundles what the DoIC report needs in one call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from drills.db import connect, iso, parse_iso, utcnow
from drills.errors import DrillError
from drills.policy import SEVERITIES, Severity, load_policy
from dvcops.catalog import Catalog, Host
from dvcops.state import StateDir

RunKind = Literal["drill", "check"]
Status = Literal["open", "fixed", "waived"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


def finding_id(host: str, check: str, subject: str) -> str:
    """Stable id of a problem: the same host, check and subject give the same id in every run."""
    return "F-" + hashlib.sha1(f"{host}|{check}|{subject}".encode()).hexdigest()[:8]


class NewFinding(_Model):
    """What a check saw in this run, before it is merged into the store."""

    host: str
    address: str
    system: str
    zone: str = ""
    security_level: int | None = None
    check: str
    """ports | tls | headers | exposure | content"""
    subject: str
    """What on the host, e.g. `16379/tcp` or `https://127.0.10.2:8443/ Content-Security-Policy`."""
    title: str
    """Vietnamese; `title_en` in English (drills.messages holds both for every rule)."""
    title_en: str = ""
    severity: Severity
    evidence: str
    remediation: str
    remediation_en: str = ""

    @property
    def id(self) -> str:
        return finding_id(self.host, self.check, self.subject)


class Waiver(_Model):
    id: int
    finding_id: str
    justification: str
    approver: str
    expires: datetime
    created: datetime

    def active(self, now: datetime) -> bool:
        return self.created <= now < self.expires


class Finding(_Model):
    id: str
    host: str
    address: str
    system: str
    zone: str
    security_level: int | None
    check: str
    subject: str
    title: str
    title_en: str
    severity: Severity
    evidence: str
    remediation: str
    remediation_en: str
    first_seen: datetime
    last_seen: datetime
    status: Status
    fixed_at: datetime | None = None
    waiver: Waiver | None = None
    """The active waiver when status is 'waived'."""


class Activity(_Model):
    """A drill or compliance check that covered a host."""

    run_id: int
    kind: RunKind
    at: datetime
    """When it was held (for a recorded exercise: the date given)."""
    host: str
    system: str
    security_level: int | None
    reference: str | None = None
    """The approval reference (plan, decision or audit report number)."""
    recorded_at: datetime | None = None
    """When dvcops learnt of it: an exercise held elsewhere is recorded after the fact."""


class SystemCompliance(_Model):
    """Whether a system had its live drill and its compliance check within the period its level requires."""

    system: str
    security_level: int | None
    hosts: list[str]
    last_drill: datetime | None
    last_check: datetime | None
    drill_due: datetime | None
    """When the next drill is due (None: never drilled, so due now)."""
    check_due: datetime | None
    drill_ok: bool
    check_ok: bool
    drill_months: int = 12
    """The interval policy.yml sets for this system's level."""
    check_months: int = 12
    drill_reference: str | None = None
    check_reference: str | None = None

    @property
    def status(self) -> Literal["ok", "overdue"]:
        return "ok" if self.drill_ok and self.check_ok else "overdue"


class RunInfo(_Model):
    id: int
    kind: RunKind
    status: str
    started: datetime
    finished: datetime | None
    roe_name: str | None
    approval_ref: str | None
    approver: str | None
    scenario_id: str | None
    scan_kind: str | None
    scan_xml: str | None
    catalog_path: str | None
    exit_code: int | None
    summary: dict[str, Any]
    note: str | None


def add_months(t: datetime, months: int) -> datetime:
    """The same day `months` later (the last day of the month when that day does not exist)."""
    m = t.month - 1 + months
    year, month = t.year + m // 12, m % 12 + 1
    for day in (t.day, 30, 29, 28):
        try:
            return t.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


class FindingsStore:
    """Read and write the drills store of one state directory."""

    def __init__(self, state: StateDir | Path | str | None = None) -> None:
        self.state = state if isinstance(state, StateDir) else StateDir(state)
        self.conn = connect(self.state)

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------------ findings

    def findings(self, *, status: Status | Iterable[Status] | None = "open", severity: Severity | None = None,
                 host: str | None = None, run_id: int | None = None, now: datetime | None = None,
                 as_of: datetime | None = None) -> list[Finding]:
        """Findings with their status at `now` (default: now), critical first; status None means all.

        `as_of` reads the past: only findings seen by then, with the status and severity they had then
        (from `finding_status`), and the waivers in force then; `now` only picks the waivers in force."""
        now = as_of or now or utcnow()
        sql = "SELECT * FROM findings"
        args: list[str | int] = []
        where = []
        if host is not None:
            where.append("host = ?")
            args.append(host)
        if severity is not None:
            where.append("severity = ?")
            args.append(Severity(severity).value)
        if run_id is not None:
            where.append("id IN (SELECT finding_id FROM finding_runs WHERE run_id = ?)")
            args.append(run_id)
        if where:
            sql += " WHERE " + " AND ".join(where)
        waivers = self._active_waivers(now)
        wanted = {status} if isinstance(status, str) else (set(status) if status is not None else None)
        rows = self.conn.execute(sql, args).fetchall()
        if as_of is not None:
            rows = self._as_of(rows, as_of)
        out = [self._finding(row, waivers.get(row["id"])) for row in rows]
        out = [f for f in out if wanted is None or f.status in wanted]
        return sorted(out, key=lambda f: (-f.severity.rank, f.host, f.check, f.subject))

    def _as_of(self, rows: list[Any], as_of: datetime) -> list[dict[str, Any]]:
        """The rows as they stood at `as_of`: status and severity from the last change by then; rows first
        seen later are left out."""
        last: dict[str, Any] = {}
        for r in self.conn.execute("SELECT finding_id, at, status, severity FROM finding_status WHERE at <= ? "
                                   "ORDER BY at", (iso(as_of),)):
            last[r["finding_id"]] = r
        out = []
        for row in rows:
            change = last.get(row["id"])
            if change is None:
                continue
            fixed = change["status"] == "fixed"
            out.append({**dict(row), "status": change["status"], "severity": change["severity"],
                        "fixed_at": change["at"] if fixed else None,
                        "last_seen": min(row["last_seen"], iso(as_of))})
        return out

    def open_findings(self, now: datetime | None = None, as_of: datetime | None = None) -> list[Finding]:
        """Open and not waived: what the report must show as unresolved."""
        return self.findings(status="open", now=now, as_of=as_of)

    def finding(self, fid: str, now: datetime | None = None) -> Finding:
        row = self.conn.execute("SELECT * FROM findings WHERE id = ?", (fid,)).fetchone()
        if row is None:
            raise DrillError(f"finding {fid!r}: no such finding (list them with `dvcops drill findings`)")
        return self._finding(row, self._active_waivers(now or utcnow()).get(fid))

    def by_severity(self, now: datetime | None = None, as_of: datetime | None = None) -> dict[Severity, list[Finding]]:
        """Open findings per severity, every severity present (critical first)."""
        out: dict[Severity, list[Finding]] = {s: [] for s in SEVERITIES}
        for f in self.open_findings(now, as_of):
            out[f.severity].append(f)
        return out

    def by_host(self, now: datetime | None = None) -> dict[str, list[Finding]]:
        """Open findings per host name."""
        out: dict[str, list[Finding]] = {}
        for f in self.open_findings(now):
            out.setdefault(f.host, []).append(f)
        return out

    def _finding(self, row: Any, waiver: Waiver | None) -> Finding:
        status: Status = row["status"]
        if status == "open" and waiver is not None:
            status = "waived"
        return Finding(
            id=row["id"], host=row["host"], address=row["address"] or "", system=row["system"] or row["host"],
            zone=row["zone"] or "", security_level=row["security_level"], check=row["check_name"],
            subject=row["subject"], title=row["title"], title_en=row["title_en"] or row["title"],
            severity=Severity(row["severity"]), evidence=row["evidence"], remediation=row["remediation"],
            remediation_en=row["remediation_en"] or row["remediation"], first_seen=parse_iso(row["first_seen"]),
            last_seen=parse_iso(row["last_seen"]), status=status, fixed_at=parse_iso(row["fixed_at"]),
            waiver=waiver if status == "waived" else None,
        )

    # ------------------------------------------------------------------ waivers

    def waive(self, fid: str, *, justification: str, approver: str, expires: datetime,
              now: datetime | None = None) -> Waiver:
        """Waive a finding until `expires`; it shows again as open once the waiver has expired."""
        now = now or utcnow()
        finding = self.finding(fid, now)
        if not justification.strip():
            raise DrillError(f"waiver for {fid}: a justification is required (why the risk is accepted)")
        if not approver.strip():
            raise DrillError(f"waiver for {fid}: an approver is required (who accepts the risk)")
        if expires.tzinfo is None:
            raise DrillError(f"waiver for {fid}: expiry {expires.isoformat()} needs a time zone")
        if expires <= now:
            raise DrillError(f"waiver for {fid}: expiry {expires.isoformat()} is not in the future")
        if finding.status == "fixed":
            raise DrillError(f"waiver for {fid}: the finding is fixed, there is nothing to waive")
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO waivers (finding_id, justification, approver, expires, created) VALUES (?,?,?,?,?)",
                (fid, justification.strip(), approver.strip(), iso(expires), iso(now)))
        return Waiver(id=int(cur.lastrowid or 0), finding_id=fid, justification=justification.strip(),
                      approver=approver.strip(), expires=expires, created=now)

    def waivers(self, *, active: bool | None = None, now: datetime | None = None) -> list[Waiver]:
        """All waivers (active=None), only those in force (True) or only expired ones (False)."""
        now = now or utcnow()
        out = [self._waiver(r) for r in self.conn.execute("SELECT * FROM waivers ORDER BY expires")]
        return [w for w in out if active is None or w.active(now) == active]

    def waivers_expiring(self, within: timedelta = timedelta(days=30), now: datetime | None = None) -> list[Waiver]:
        """Waivers in force that expire within `within` of now: the risk comes back soon."""
        now = now or utcnow()
        return [w for w in self.waivers(active=True, now=now) if w.expires <= now + within]

    def _active_waivers(self, now: datetime) -> dict[str, Waiver]:
        out: dict[str, Waiver] = {}
        for w in self.waivers(active=True, now=now):
            if w.finding_id not in out or w.expires > out[w.finding_id].expires:
                out[w.finding_id] = w
        return out

    @staticmethod
    def _waiver(r: Any) -> Waiver:
        return Waiver(id=r["id"], finding_id=r["finding_id"], justification=r["justification"],
                      approver=r["approver"], expires=parse_iso(r["expires"]), created=parse_iso(r["created"]))

    # ------------------------------------------------------------------ runs and activity

    def runs(self, kind: RunKind | None = None) -> list[RunInfo]:
        """Every run and recorded activity, oldest first."""
        sql = "SELECT * FROM runs" + (" WHERE kind = ?" if kind else "") + " ORDER BY started, id"
        return [self._run(r) for r in self.conn.execute(sql, (kind,) if kind else ())]

    def run(self, run_id: int) -> RunInfo:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise DrillError(f"run {run_id}: no such run in {self.state.root}")
        return self._run(row)

    def last_run(self, kind: RunKind | None = None) -> RunInfo | None:
        done = [r for r in self.runs(kind) if r.status in ("done", "error")]
        return done[-1] if done else None

    def run_hosts(self, run_id: int) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute("SELECT * FROM run_hosts WHERE run_id = ? ORDER BY host",
                                                   (run_id,))]

    @staticmethod
    def _run(r: Any) -> RunInfo:
        return RunInfo(id=r["id"], kind=r["kind"], status=r["status"], started=parse_iso(r["started"]),
                       finished=parse_iso(r["finished"]), roe_name=r["roe_name"], approval_ref=r["approval_ref"],
                       approver=r["approver"], scenario_id=r["scenario_id"], scan_kind=r["scan_kind"],
                       scan_xml=r["scan_xml"], catalog_path=r["catalog_path"], exit_code=r["exit_code"],
                       summary=json.loads(r["summary_json"] or "{}"), note=r["note"])

    def activities(self, kind: RunKind | None = None, as_of: datetime | None = None) -> list[Activity]:
        """Every completed drill or check per host it covered, oldest first; with `as_of`, those held by then."""
        sql = ("SELECT r.id, r.kind, COALESCE(r.finished, r.started) AS at, r.approval_ref, r.recorded_at, h.host, "
               "h.system, h.security_level FROM runs r JOIN run_hosts h ON h.run_id = r.id "
               "WHERE r.status IN ('done', 'recorded')")
        args: list[str] = []
        if kind:
            sql += " AND r.kind = ?"
            args.append(kind)
        if as_of is not None:
            sql += " AND COALESCE(r.finished, r.started) <= ?"
            args.append(iso(as_of))
        rows = self.conn.execute(sql + " ORDER BY at, r.id", args)
        return [Activity(run_id=r["id"], kind=r["kind"], at=parse_iso(r["at"]), host=r["host"], system=r["system"],
                         security_level=r["security_level"], reference=r["approval_ref"],
                         recorded_at=parse_iso(r["recorded_at"])) for r in rows]

    def last_activity(self, kind: RunKind, by: Literal["host", "system"] = "system",
                      as_of: datetime | None = None) -> dict[str, Activity]:
        """The most recent drill (or check) per host or per system (held by `as_of` when given)."""
        out: dict[str, Activity] = {}
        for a in self.activities(kind, as_of):
            out[a.host if by == "host" else a.system] = a
        return out

    def compliance(self, catalog: Catalog | None = None, *, at: datetime | None = None) -> list[SystemCompliance]:
        """Per system: last drill and check held by `at` (default now), and whether each is within the
        interval its level requires at `at` (policy.yml, calendar months). Exercises after `at` are ignored,
        so the compliance of a past date never changes when newer ones are recorded.

        Systems come from the catalogue (Host.system, or the host name) when given, else from history.
        """
        at = at or utcnow()
        policy = load_policy()
        systems: dict[str, tuple[int | None, list[str]]] = {}
        if catalog is not None:
            for h in catalog.hosts:
                level, hosts = systems.get(h.system or h.name, (None, []))
                systems[h.system or h.name] = (max(level or 0, h.security_level or 0) or None, [*hosts, h.name])
        else:
            for a in self.activities(as_of=at):
                level, hosts = systems.get(a.system, (None, []))
                hosts = hosts if a.host in hosts else [*hosts, a.host]
                systems[a.system] = (max(level or 0, a.security_level or 0) or None, hosts)
        drills, checks = self.last_activity("drill", as_of=at), self.last_activity("check", as_of=at)
        out = []
        for system, (level, hosts) in sorted(systems.items()):
            period = policy.period_for(level)
            d, c = drills.get(system), checks.get(system)
            d_due = add_months(d.at, period.drill_months) if d else None
            c_due = add_months(c.at, period.check_months) if c else None
            out.append(SystemCompliance(
                system=system, security_level=level, hosts=sorted(hosts), last_drill=d.at if d else None,
                last_check=c.at if c else None, drill_due=d_due, check_due=c_due,
                drill_ok=d_due is not None and at < d_due, check_ok=c_due is not None and at < c_due,
                drill_months=period.drill_months, check_months=period.check_months,
                drill_reference=d.reference if d else None, check_reference=c.reference if c else None))
        return out

    def record_activity(self, kind: RunKind, at: datetime, hosts: Iterable[Host], *, note: str = "",
                        roe_name: str | None = None, approval_ref: str | None = None) -> int:
        """Record a drill or check done at `at` on these catalogue hosts (e.g. one done before dvcops, on paper)."""
        if kind not in ("drill", "check"):
            raise DrillError(f"activity kind {kind!r}: expected drill or check")
        if at.tzinfo is None:
            raise DrillError(f"activity time {at.isoformat()}: a time zone is needed")
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO runs (kind, status, started, finished, roe_name, approval_ref, note, summary_json, "
                "recorded_at) VALUES (?, 'recorded', ?, ?, ?, ?, ?, '{}', ?)",
                (kind, iso(at), iso(at), roe_name, approval_ref, note, iso(utcnow())))
            run_id = int(cur.lastrowid or 0)
            self._add_hosts(run_id, hosts)
        return run_id

    def _add_hosts(self, run_id: int, hosts: Iterable[Host]) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO run_hosts (run_id, host, address, system, zone, security_level) "
            "VALUES (?,?,?,?,?,?)",
            [(run_id, h.name, h.address, h.system or h.name, h.zone, h.security_level) for h in hosts])

    # ------------------------------------------------------------------ used by the runner

    def start_run(self, kind: RunKind, *, started: datetime, hosts: Iterable[Host], roe_name: str,
                  approval_ref: str, approver: str, scenario_id: str | None = None,
                  scenario_json: str | None = None, catalog_path: str | None = None) -> int:
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO runs (kind, status, started, roe_name, approval_ref, approver, scenario_id, "
                "scenario_json, catalog_path, summary_json, recorded_at) "
                "VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, '{}', ?)",
                (kind, iso(started), roe_name, approval_ref, approver, scenario_id, scenario_json, catalog_path,
                 iso(utcnow())))
            run_id = int(cur.lastrowid or 0)
            self._add_hosts(run_id, hosts)
        return run_id

    def finish_run(self, run_id: int, *, finished: datetime, exit_code: int, summary: dict[str, Any],
                   scan_kind: str | None = None, scan_xml: str | None = None, status: str = "done") -> None:
        with self.conn:
            self.conn.execute(
                "UPDATE runs SET status = ?, finished = ?, exit_code = ?, summary_json = ?, scan_kind = ?, "
                "scan_xml = ? WHERE id = ?",
                (status, iso(finished), exit_code, json.dumps(summary, ensure_ascii=False, default=str), scan_kind,
                 scan_xml, run_id))

    def previous_scan(self, scan_kind: str, before_run: int) -> RunInfo | None:
        """The last completed run with a scan of the same kind (ndiff compares like with like)."""
        row = self.conn.execute(
            "SELECT * FROM runs WHERE scan_kind = ? AND id < ? AND status = 'done' AND scan_xml IS NOT NULL "
            "ORDER BY id DESC LIMIT 1", (scan_kind, before_run)).fetchone()
        return self._run(row) if row else None

    def record_findings(self, run_id: int, found: Iterable[NewFinding], covered: set[tuple[str, str]],
                        at: datetime) -> None:
        """Merge one run's findings: new ones open, seen ones refreshed (reopened if fixed), and open
        ones this run covered (same host and check) but did not see become fixed."""
        seen: set[str] = set()
        with self.conn:
            for f in found:
                if f.id in seen:
                    continue
                seen.add(f.id)
                before = self.conn.execute("SELECT status, severity FROM findings WHERE id = ?", (f.id,)).fetchone()
                if before is None or before["status"] != "open" or before["severity"] != f.severity.value:
                    self._status_changed(f.id, at, "open", f.severity.value)
                self.conn.execute(
                    "INSERT INTO findings (id, host, address, system, zone, security_level, check_name, subject, "
                    "title, title_en, severity, evidence, remediation, remediation_en, first_seen, last_seen, status, "
                    "first_run, last_run) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, 'open', ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET address=excluded.address, system=excluded.system, "
                    "zone=excluded.zone, security_level=excluded.security_level, title=excluded.title, "
                    "title_en=excluded.title_en, severity=excluded.severity, evidence=excluded.evidence, "
                    "remediation=excluded.remediation, remediation_en=excluded.remediation_en, "
                    "last_seen=excluded.last_seen, status='open', fixed_at=NULL, last_run=excluded.last_run",
                    (f.id, f.host, f.address, f.system, f.zone, f.security_level, f.check, f.subject, f.title,
                     f.title_en or f.title, f.severity.value, f.evidence, f.remediation,
                     f.remediation_en or f.remediation, iso(at), iso(at), run_id, run_id))
                self.conn.execute("INSERT OR IGNORE INTO finding_runs (finding_id, run_id) VALUES (?, ?)",
                                  (f.id, run_id))
            for row in self.conn.execute("SELECT id, host, check_name, severity FROM findings "
                                         "WHERE status = 'open'").fetchall():
                if row["id"] not in seen and (row["host"], row["check_name"]) in covered:
                    self.conn.execute("UPDATE findings SET status = 'fixed', fixed_at = ? WHERE id = ?",
                                      (iso(at), row["id"]))
                    self._status_changed(row["id"], at, "fixed", row["severity"])

    def _status_changed(self, fid: str, at: datetime, status: str, severity: str) -> None:
        """History for reads as of a date (drills.db.SCHEMA, migration 2)."""
        self.conn.execute("INSERT INTO finding_status (finding_id, at, status, severity) VALUES (?, ?, ?, ?)",
                          (fid, iso(at), status, severity))

    def content_hash(self, url: str) -> str | None:
        row = self.conn.execute("SELECT sha256 FROM content_baseline WHERE url = ?", (url,)).fetchone()
        return row["sha256"] if row else None

    def set_content_hash(self, url: str, sha256: str, run_id: int, at: datetime) -> None:
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO content_baseline (url, sha256, run_id, seen_at) "
                              "VALUES (?,?,?,?)", (url, sha256, run_id, iso(at)))
