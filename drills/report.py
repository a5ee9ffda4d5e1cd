"""The after-action report (báo cáo sau diễn tập) of one run, as HTML and JSON.

Sections: scope and approval, timeline with time-to-detect/-respond and the score, findings by
severity and host (evidence, remediation, waivers), changes since the previous run, compliance
per system against its security level (drill and check within the period, or overdue), and a draft
incident notification with its 5-day deadline for each critical finding. Vietnamese headings with
English beside them (`lang="vi"`, the default) or English only (`lang="en"`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel

from drills.db import utcnow
from drills.errors import DrillError
from drills.findings import Finding, FindingsStore, SystemCompliance
from drills.messages import EVENT_NAMES, HEADINGS, KIND_NAMES, LABELS, SEVERITY_NAMES
from drills.policy import SEVERITIES, load_policy
from drills.timeline import Score, Timeline
from dvcops.catalog import Catalog, load_catalog
from dvcops.errors import CatalogError
from dvcops.i18n import pick
from dvcops.state import StateDir
from dvcops.timezone import DEFAULT_TZ

TEMPLATES = Path(__file__).with_name("templates")
Lang = Literal["vi", "en"]


class ReportFinding(BaseModel):
    id: str
    severity: str
    host: str
    address: str
    system: str
    check: str
    subject: str
    title: str
    evidence: str
    remediation: str
    first_seen: datetime
    last_seen: datetime
    status: str
    waiver: dict[str, Any] | None = None


class TimelineRow(BaseModel):
    at: datetime
    event: str
    inject: str | None
    note: str | None
    by: str | None


class IncidentDraft(BaseModel):
    finding_id: str
    system: str
    security_level: int | None
    host: str
    address: str
    detected_at: datetime
    deadline: datetime
    report_within_days: int
    """The policy's deadline (incident.report_within_days) that `deadline` counts."""
    recipients: list[str]
    legal: str
    title: str
    evidence: str
    remediation: str
    exercise: bool
    """True when a scenario inject caused it: send only if it turns out to be real."""


class AfterActionReport(BaseModel):
    lang: Lang
    generated_at: datetime
    timezone: str
    province: str
    reviewer: str
    run: dict[str, Any]
    scope: dict[str, Any]
    scenario: dict[str, Any] | None
    timeline: list[TimelineRow]
    score: dict[str, Any] | None
    findings: dict[str, list[ReportFinding]]
    by_host: dict[str, dict[str, int]]
    waived: list[ReportFinding]
    changes: dict[str, Any]
    compliance: list[dict[str, Any]]
    legal: dict[str, str]
    policy_version: str
    incidents: list[IncidentDraft]


def _catalog(run_path: str | None, catalog: Catalog | None) -> Catalog | None:
    """The catalogue given, else the one the run used if it is still there (for compliance per system)."""
    if catalog is not None:
        return catalog
    if run_path and Path(run_path).exists():
        try:
            return load_catalog(run_path)
        except CatalogError:
            return None
    return None


def _finding(f: Finding, lang: Lang) -> ReportFinding:
    return ReportFinding(
        id=f.id, severity=f.severity.value, host=f.host, address=f.address, system=f.system, check=f.check,
        subject=f.subject, title=pick(f.title, f.title_en, lang), evidence=f.evidence,
        remediation=pick(f.remediation, f.remediation_en, lang), first_seen=f.first_seen,
        last_seen=f.last_seen, status=f.status,
        waiver=f.waiver.model_dump(mode="json", exclude={"id"}) if f.waiver else None)


def _seconds(td: timedelta | None) -> float | None:
    return td.total_seconds() if td is not None else None


def _score(score: Score) -> dict[str, Any]:
    """Score rows with durations in seconds (ttd_seconds, ttr_seconds, goals) for JSON readers."""
    rows = []
    for r in score.injects:
        rows.append({"inject_id": r.inject_id, "title": r.title, "injected_at": r.injected_at,
                     "tool_detected_at": r.tool_detected_at, "detected_at": r.detected_at,
                     "responded_at": r.responded_at, "ttd_seconds": _seconds(r.ttd), "ttr_seconds": _seconds(r.ttr),
                     "detect_within_seconds": _seconds(r.detect_within),
                     "respond_within_seconds": _seconds(r.respond_within), "detect_points": r.detect_points,
                     "respond_points": r.respond_points, "points": r.points, "max_points": r.max_points})
    return {"total": score.total, "max": score.max, "percent": score.percent, "injects": rows}


def build_report(state: StateDir, run_id: int | None = None, *, catalog: Catalog | None = None, lang: Lang = "vi",
                 now: datetime | None = None) -> AfterActionReport:
    """Collect everything the after-action report of a run shows (the last run when run_id is None)."""
    now = now or utcnow()
    policy = load_policy()
    store = FindingsStore(state)
    try:
        if run_id is None:
            last = store.last_run()
            if last is None:
                raise DrillError(f"no drill or check has run in {state.root}: run `dvcops drill run` first")
            run_id = last.id
        run = store.run(run_id)
        if run.status == "recorded":
            raise DrillError(f"run {run_id} was recorded through the API (no scan to report on)")
        record_path = Path(run.summary.get("folder", "")) / "run.json"
        record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.is_file() else {}
        plan = record.get("plan", {})
        cat = _catalog(run.catalog_path, catalog)
        timeline = Timeline(store)
        events = timeline.events(run_id)
        scenario = score = None
        if run.scenario_id:
            sc = timeline.scenario(run_id)
            scenario = {"id": sc.id, "name": pick(sc.name, sc.name_en, lang),
                        "description": sc.description,
                        "technique": sc.technique.model_dump() if sc.technique else None,
                        "injects": [{"id": i.id, "at_seconds": i.at.total_seconds(),
                                     "title": pick(i.title, i.title_en, lang), "red": i.red,
                                     "detection": i.expect.detection, "response": i.expect.response}
                                    for i in sc.ordered()]}
            score = _score(timeline.score(run_id))
        mine = store.findings(run_id=run_id, status=None, now=now)
        current = [f for f in mine if f.status == "open"]
        by_sev: dict[str, list[ReportFinding]] = {s.value: [] for s in SEVERITIES}
        by_host: dict[str, dict[str, int]] = {}
        for f in current:
            by_sev[f.severity.value].append(_finding(f, lang))
            by_host.setdefault(f.host, {s.value: 0 for s in SEVERITIES})[f.severity.value] += 1
        started = run.started
        new = [_finding(f, lang) for f in mine if f.first_seen >= started]
        fixed = [_finding(f, lang) for f in store.findings(status="fixed", now=now)
                 if f.fixed_at is not None and run.finished is not None and started <= f.fixed_at <= run.finished]
        legal = policy.legal_at(now.date())
        tz = ZoneInfo(cat.province.timezone if cat else DEFAULT_TZ)
        compliance = [_compliance(c) for c in store.compliance(cat, at=now)]
        injected = {e.note.split()[0] for e in events if e.event == "tool-detect" and e.note}
        incidents = [_incident(f, policy.incident.report_within_days, policy.incident.recipients,
                               legal.incidents, lang, f.id in injected)
                     for f in current if f.severity in policy.incident.notify_severities]
        return AfterActionReport(
            lang=lang, generated_at=now, timezone=tz.key,
            province=cat.province.name if cat else "", reviewer=cat.province.reviewer if cat else "",
            run={"id": run.id, "kind": run.kind, "kind_name": KIND_NAMES(run.kind, lang),
                 "status": run.status, "started": run.started, "finished": run.finished, "exit_code": run.exit_code,
                 "scan": run.summary.get("scan"), "notes": run.summary.get("notes", []),
                 "error": run.summary.get("error"), "folder": run.summary.get("folder")},
            scope={"roe": run.roe_name, "approval_ref": run.approval_ref, "approver": run.approver,
                   "window_start": plan.get("window_start"), "window_end": plan.get("window_end"),
                   "ports": plan.get("ports"), "checks": plan.get("checks", []), "resolver": plan.get("resolver"),
                   "hosts": [{k: h[k] for k in ("name", "address", "zone", "security_level", "system", "roles",
                                                "allowed_ports")} for h in plan.get("hosts", [])],
                   "endpoints": [e["url"] for e in plan.get("endpoints", [])],
                   "skipped": plan.get("skipped", []), "nmap_command": " ".join(plan.get("nmap_command", []))},
            scenario=scenario,
            timeline=[TimelineRow(at=e.at, event=e.event, inject=e.inject_id, note=e.note, by=e.by) for e in events],
            score=score, findings=by_sev, by_host=by_host,
            waived=[_finding(f, lang) for f in mine if f.status == "waived"],
            changes={"scan": (run.summary.get("diff") or {}).get("changes", []),
                     "scan_changes": (record.get("diff") or {}).get("changes", []),
                     "previous_run": (run.summary.get("diff") or {}).get("previous_run"), "new": new, "fixed": fixed},
            compliance=compliance, legal={"security_levels": legal.security_levels, "incidents": legal.incidents},
            policy_version=policy.version, incidents=incidents)
    finally:
        store.close()


def _compliance(c: SystemCompliance) -> dict[str, Any]:
    return c.model_dump(mode="json") | {"status": c.status}


def _incident(f: Finding, days: int, recipients: list[str], legal: str, lang: Lang, exercise: bool) -> IncidentDraft:
    return IncidentDraft(
        finding_id=f.id, system=f.system, security_level=f.security_level, host=f.host, address=f.address,
        detected_at=f.first_seen, deadline=f.first_seen + timedelta(days=days), recipients=recipients, legal=legal,
        title=pick(f.title, f.title_en, lang), evidence=f.evidence,
        remediation=pick(f.remediation, f.remediation_en, lang), exercise=exercise,
        report_within_days=days)


def _env(tz: ZoneInfo, lang: Lang) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)

    def when(value: Any) -> str:
        if value is None or value == "":
            return "—"
        t = datetime.fromisoformat(value) if isinstance(value, str) else value
        return t.astimezone(tz).strftime("%d/%m/%Y %H:%M:%S")

    def span(value: Any) -> str:
        if value is None:
            return "—"
        secs = int(value.total_seconds() if isinstance(value, timedelta) else float(value))
        return f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"

    def heading(key: str) -> tuple[str, str | None]:
        """Vietnamese with the English beside it, or English alone."""
        vi, en = HEADINGS.both(key)
        return (vi, en) if lang == "vi" else (en, None)

    env.filters.update(when=when, span=span)
    env.globals.update(heading=heading, lang=lang, t=lambda key, **params: LABELS(key, lang, **params),
                       severity_name=lambda s: SEVERITY_NAMES(s, lang),
                       event_name=lambda e: EVENT_NAMES.get_text(e, lang))
    return env


def render_html(report: AfterActionReport) -> str:
    env = _env(ZoneInfo(report.timezone), report.lang)
    return env.get_template("aar.html.j2").render(r=report)


def write_report(report: AfterActionReport, folder: Path) -> tuple[Path, Path]:
    """Write aar[.en].html and aar[.en].json into `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = "aar" if report.lang == "vi" else "aar.en"
    html_path, json_path = folder / f"{stem}.html", folder / f"{stem}.json"
    html_path.write_text(render_html(report), encoding="utf-8")
    json_path.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return html_path, json_path
