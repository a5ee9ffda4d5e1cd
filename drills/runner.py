"""One drill run end to end: RoE window -> plan (scope) -> injects -> nmap baseline -> diff -> service
checks -> findings merged into the store -> run.json. Exit code 0 clean, 1 findings, 2 refused or error.

Nothing touches a target before the window and every scope decision have passed. Scenario injects
are lab actions; `end_exercise` undoes them when the blue team is done.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from drills.baseline import ScanResult, load_scan, port_findings, run_scan
from drills.checks import ChecksOutcome, run_checks
from drills.checks.http import Budget, CheckContext
from drills.db import iso, utcnow
from drills.diff import ScanDiff, diff_scans
from drills.errors import DrillError
from drills.findings import Finding, FindingsStore, NewFinding
from drills.plan import DrillPlan, make_plan
from drills.policy import Severity, load_policy
from drills.resolver import Resolver
from drills.roe import RoE, Scope
from drills.scenarios import Scenario
from drills.timeline import Event, Timeline
from dvcops.catalog import Catalog
from dvcops.errors import DvcopsError
from dvcops.state import StateDir

MAX_INJECT_WAIT = timedelta(hours=12)


class LabLike(Protocol):
    """What the runner needs of `lab.Lab`: its control API."""

    def action(self, name: str, **params: Any) -> dict[str, Any]: ...


@dataclass
class RunOutcome:
    run_id: int
    kind: str
    plan: DrillPlan
    folder: Path
    scan: ScanResult | None
    diff: ScanDiff | None
    found: list[NewFinding]
    open: list[Finding]
    """This run's findings still open (not waived) and above info: they make the exit code 1."""
    waived: list[Finding]
    injects: list[Event] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.open else 0


@dataclass(frozen=True)
class RunSetup:
    """What one run works with, settled before it touches a target: handed to each of its steps."""

    catalog: Catalog
    roe: RoE
    scope: Scope
    plan: DrillPlan
    store: FindingsStore
    run_id: int
    folder: Path
    """<state>/drills/runs/<run id>: scan.xml and run.json."""
    scenario: Scenario | None
    lab: LabLike | None
    clock: Callable[[], datetime]
    say: Callable[[str], None]
    """Progress lines for the operator."""


def _clock(now: datetime | None) -> Callable[[], datetime]:
    """Real time, or real time shifted to start at `now` (a run recorded as of another date)."""
    if now is None:
        return utcnow
    t0 = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - t0)


def run_drill(catalog: Catalog, roe: RoE, state: StateDir, *, scenario: Scenario | None = None,
              targets: list[str] | None = None, lab: LabLike | None = None, resolver: Resolver | None = None,
              now: datetime | None = None, progress: Callable[[str], None] | None = None) -> RunOutcome:
    """Run one compliance check (no scenario) or drill (with one). Raises ScopeRefused/DrillError (exit 2)."""
    say = progress or (lambda _msg: None)
    clock = _clock(now)
    start = clock()
    roe.check_window(start)
    if scenario is not None and start + scenario.duration >= roe.window.end:
        raise DrillError(f"refused: scenario {scenario.id} lasts {scenario.duration} but RoE {roe.name!r} window "
                         f"ends {roe.window.end.isoformat()}")
    if scenario is not None and scenario.duration > MAX_INJECT_WAIT:
        raise DrillError(f"scenario {scenario.id}: injects span {scenario.duration}; at most {MAX_INJECT_WAIT}")
    plan = make_plan(catalog, roe, scenario=scenario, targets=targets, resolver=resolver, now=start)
    if scenario is not None and lab is None and any(i.action for i in scenario.injects):
        raise DrillError(f"scenario {scenario.id} has automated lab actions: start the lab (`dvcops lab up`) "
                         "or give the lab's state dir")
    scope = Scope(roe, catalog)
    store = FindingsStore(state)
    hosts = [h.host() for h in plan.hosts]
    run_id = store.start_run(plan.kind, started=start, hosts=hosts, roe_name=roe.name,  # type: ignore[arg-type]
                             approval_ref=roe.approval.reference, approver=roe.approval.approver,
                             scenario_id=scenario.id if scenario else None,
                             scenario_json=scenario.model_dump_json() if scenario else None,
                             catalog_path=str(catalog.source) if catalog.source else None)
    folder = state.folder("drills", "runs", f"{run_id:04d}")
    say(f"run {run_id} ({plan.kind}): {len(plan.hosts)} hosts, {plan.port_count} ports, "
        f"{len(plan.endpoints)} endpoints; RoE {roe.name!r}, approval {roe.approval.reference}")
    setup = RunSetup(catalog=catalog, roe=roe, scope=scope, plan=plan, store=store, run_id=run_id, folder=folder,
                     scenario=scenario, lab=lab, clock=clock, say=say)
    try:
        outcome = _execute(setup)
    except DvcopsError as exc:  # nmap failed, the lab refused an action...: the run is recorded as failed
        store.finish_run(run_id, finished=clock(), exit_code=2, summary={"error": exc.lines}, status="error")
        raise
    except BaseException as exc:  # a bug or Ctrl-C: still never leave a run "running"
        store.finish_run(run_id, finished=clock(), exit_code=2, summary={"error": [repr(exc)]}, status="error")
        raise
    finally:
        store.close()
    return outcome


def _execute(run: RunSetup) -> RunOutcome:
    """Injects, scan, checks, findings: the run's steps, once its plan and record exist."""
    policy = load_policy()
    timeline = Timeline(run.store)
    injects: list[Event] = []
    notes = list(run.plan.warnings)
    if run.scenario is not None:
        injects = perform_injects(run, run.scenario, timeline)

    found: list[NewFinding] = []
    covered: set[tuple[str, str]] = set()
    scan = diff = None
    if "ports" in run.roe.checks:
        run.say(f"nmap: {' '.join(run.plan.nmap_command)}")
        scan = run_scan([h.address for h in run.plan.hosts], run.roe, run.scope, run.plan.nmap_arguments,
                        run.folder / "scan.xml", run.plan.privileged)
        notes += [f"nmap: {w}" for w in scan.meta.warnings]
        found += port_findings(scan, run.plan.hosts, policy)
        covered |= {(h.name, "ports") for h in run.plan.hosts}
        previous = run.store.previous_scan(scan.meta.kind, run.run_id)
        if previous is not None and previous.scan_xml and Path(previous.scan_xml).exists():
            old = load_scan(previous.scan_xml, previous.started)
            diff = diff_scans(old, scan, {h.address: h.name for h in run.plan.hosts}, previous.id)
        since = f"; {len(diff.changes)} changes since run {diff.previous_run}" if diff else "; no earlier scan to diff"
        run.say(f"nmap {scan.meta.nmap_version} {scan.meta.scan_type} scan done in {scan.meta.elapsed:.1f}s{since}")

    checks: ChecksOutcome | None = None
    requests = 0
    if run.plan.endpoints:
        ctx = CheckContext(scope=run.scope, budget=Budget(run.roe.rate.http_per_second, run.roe.rate.max_http_requests),
                           policy=policy, hosts={h.name: h for h in run.plan.hosts},
                           timeout=run.catalog.defaults.timeout.total_seconds(), ca_file=run.catalog.ca_path())
        previous_hashes = {f"{e.origin}/": run.store.content_hash(f"{e.origin}/") for e in run.plan.endpoints}
        checks = run_checks(ctx, run.plan.endpoints, previous_hashes, run.clock())
        found += checks.findings
        covered |= checks.covered
        notes += checks.notes
        for r in checks.origins:
            content = r.observations.get("content")
            if content and content.get("keep"):
                run.store.set_content_hash(content["url"], content["sha256"], run.run_id, run.clock())
        requests = ctx.budget.used
        run.say(f"service checks on {len(run.plan.endpoints)} endpoints: {requests} connections")

    at = run.clock()
    run.store.record_findings(run.run_id, found, covered, at)
    if run.scenario is not None:
        injects += tool_detections(run.scenario, found, timeline, run.run_id, at)
    mine = run.store.findings(run_id=run.run_id, status=None, now=at)
    open_ = [f for f in mine if f.status == "open" and f.severity != Severity.info]
    waived = [f for f in mine if f.status == "waived"]
    outcome = RunOutcome(run_id=run.run_id, kind=run.plan.kind, plan=run.plan, folder=run.folder, scan=scan, diff=diff,
                         found=found, open=open_, waived=waived, injects=injects, notes=notes)
    summary = _summary(outcome, mine) | {"http_requests": requests}
    (run.folder / "run.json").write_text(json.dumps(_record(outcome, checks, summary), ensure_ascii=False, indent=2,
                                                    default=str), encoding="utf-8")
    run.store.finish_run(run.run_id, finished=run.clock(), exit_code=outcome.exit_code, summary=summary,
                         scan_kind=scan.meta.kind if scan else None, scan_xml=scan.meta.xml_path if scan else None)
    return outcome


def perform_injects(run: RunSetup, scenario: Scenario, timeline: Timeline) -> list[Event]:
    """Wait for each inject's offset, do its lab action, and record when it happened."""
    start = time.monotonic()
    events = []
    for inj in scenario.ordered():
        wait = inj.at.total_seconds() - (time.monotonic() - start)
        if wait > 0:
            time.sleep(wait)
        note = "manual (red team)"
        when = run.clock()  # when the inject starts (the lab action takes a moment)
        if inj.action is not None:
            assert run.lab is not None
            run.scope.guard(run.plan.planned_host(inj.action.host).address)
            run.lab.action(inj.action.action, **inj.action.params())
            note = inj.action.describe()
        events.append(timeline.add(run.run_id, "inject", when, inject_id=inj.id, note=note))
        run.say(f"inject {inj.id} at +{inj.at.total_seconds():.0f}s: {note}")
    return events


def tool_detections(scenario: Scenario, found: list[NewFinding], timeline: Timeline, run_id: int,
                    at: datetime) -> list[Event]:
    """Record which injects the drill's own checks saw (the finding the scenario expects)."""
    events = []
    for inj in scenario.ordered():
        want = inj.expect.finding
        if want is None:
            continue
        hit = next((f for f in found if f.check == want.check and f.host == want.host
                    and want.subject_contains in f.subject), None)
        if hit is not None:
            events.append(timeline.add(run_id, "tool-detect", at, inject_id=inj.id, by="dvcops",
                                       note=f"{hit.id} {hit.title_en or hit.title}"))
    return events


def end_exercise(state: StateDir, run_id: int, lab: LabLike | None, *, now: datetime | None = None) -> list[str]:
    """Close a drill: record its end and run the scenario's cleanup actions (last inject first)."""
    store = FindingsStore(state)
    try:
        timeline = Timeline(store)
        scenario = timeline.scenario(run_id)
        if timeline.ended(run_id) is not None:
            raise DrillError(f"run {run_id}: the exercise already ended at {timeline.ended(run_id)}")
        done: list[str] = []
        actions = [a for inj in reversed(scenario.ordered()) for a in inj.cleanup]
        if actions and lab is None:
            raise DrillError(f"run {run_id}: cleanup needs the lab ({', '.join(a.describe() for a in actions)})")
        for act in actions:
            assert lab is not None
            lab.action(act.action, **act.params())
            done.append(act.describe())
        timeline.add(run_id, "end", now or utcnow(), note="; ".join(done) or "no cleanup")
        return done
    finally:
        store.close()


def _summary(o: RunOutcome, mine: list[Finding]) -> dict[str, Any]:
    counts = {s.value: sum(1 for f in o.open if f.severity == s) for s in Severity}
    out: dict[str, Any] = {"open_by_severity": counts, "findings": len(mine), "open": len(o.open),
                           "waived": len(o.waived), "exit_code": o.exit_code, "folder": str(o.folder),
                           "hosts": [h.name for h in o.plan.hosts], "notes": o.notes}
    if o.scan:
        m = o.scan.meta
        out["scan"] = {"nmap_version": m.nmap_version, "scan_type": m.scan_type, "privileged": m.privileged,
                       "service_detection": m.service_detection, "command_line": m.command_line, "ports": m.ports,
                       "elapsed": m.elapsed, "xml": m.xml_path, "kind": m.kind}
    if o.diff:
        out["diff"] = {"previous_run": o.diff.previous_run, "changes": [c.line() for c in o.diff.changes]}
    return out


def _record(o: RunOutcome, checks: ChecksOutcome | None, summary: dict[str, Any]) -> dict[str, Any]:
    """run.json: what was planned, what nmap saw per host, the diff, the checks' observations."""
    ports: dict[str, list[dict[str, Any]]] = {}
    if o.scan:
        for h in o.plan.hosts:
            res = o.scan.hosts.get(h.address)
            ports[h.name] = [p.model_dump() for p in res.ports.values()] if res else []
    return {
        "run_id": o.run_id, "kind": o.kind, "summary": summary, "plan": o.plan.model_dump(mode="json"),
        "ports": ports, "diff": o.diff.model_dump() if o.diff else None,
        "checks": [{"origin": r.endpoint.origin, "observations": r.observations, "error": r.error}
                   for r in (checks.origins if checks else [])],
        "injects": [{"inject": e.inject_id, "event": e.event, "at": iso(e.at), "note": e.note} for e in o.injects],
    }
