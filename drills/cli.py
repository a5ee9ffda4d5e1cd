"""`dvcops drill plan|run|log|waive|findings|record|report`: the scope-guarded drill and compliance check.

Thin over `drills` (plan.make_plan, runner.run_drill, timeline.Timeline, findings.FindingsStore,
report.build_report). Exit codes: 0 clean, 1 findings, 2 refused or input error.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from drills.errors import DrillError
from drills.findings import Finding, FindingsStore
from drills.plan import DrillPlan, make_plan
from drills.report import build_report, write_report
from drills.resolver import Resolver
from drills.roe import load_roe
from drills.runner import RunOutcome, end_exercise, run_drill
from drills.scenarios import load_scenario
from drills.timeline import Timeline
from dvcops.catalog import Host, load_catalog
from dvcops.cli.common import CatalogOpt, JsonOpt, StateOpt, make_console, state_dir
from dvcops.labcontrol import LabControl
from dvcops.settings import get_settings
from dvcops.state import StateDir

if TYPE_CHECKING:
    from dvcops.demo import DemoContext

console = make_console(soft_wrap=True)
"""Long lines stay whole (paths, nmap command lines, times) so they can be copied and grepped."""

app = typer.Typer(help="Security drills and compliance checks, held to rules of engagement (RoE).",
                  no_args_is_help=True)

RoeOpt = Annotated[Path, typer.Option("--roe", help="Rules of engagement (YAML), required", show_default=False)]
ScenarioOpt = Annotated[str | None, typer.Option("--scenario", help="Scenario file or shipped name (lo-cong-csdl ...)")]
TargetOpt = Annotated[list[str] | None, typer.Option("--target", help="Only this catalogue host/address/name "
                                                                      "(repeat); out of scope = refused")]
ResolverOpt = Annotated[str | None, typer.Option("--resolver", help="DNS server address[:port] (default: the RoE's)")]
LabStateOpt = Annotated[Path | None, typer.Option("--lab-state",
                                                  help="State dir of the running lab (default: --state)")]
RunOpt = Annotated[int | None, typer.Option("--run", help="Run id (default: the last run)")]


def _tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def _local(t: datetime) -> str:
    return t.astimezone(_tz()).strftime("%Y-%m-%d %H:%M:%S %z")


def _span(td: timedelta | None) -> str:
    """h:mm:ss, whole seconds (what a blue team logs by hand is not more precise)."""
    if td is None:
        return "-"
    secs = round(td.total_seconds())
    return f"{secs // 3600}:{secs % 3600 // 60:02d}:{secs % 60:02d}"


def parse_time(text: str, what: str) -> datetime:
    """ISO time; without an offset it is the province's local time."""
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise DrillError(f"{what} {text!r}: expected an ISO time like 2026-11-21T09:30 or "
                         "2026-11-21T09:30+07:00") from None
    return t if t.tzinfo else t.replace(tzinfo=_tz())


def parse_expiry(text: str) -> datetime:
    """A date means 'through that day' (expires at the next local midnight); a time is taken as is."""
    try:
        d = date.fromisoformat(text)
    except ValueError:
        return parse_time(text, "expiry")
    return datetime.combine(d + timedelta(days=1), time(0), tzinfo=_tz())


def _plan(catalog: Path, roe: Path, scenario: str | None, targets: list[str] | None,
          resolver: str | None) -> DrillPlan:
    cat, rules = load_catalog(catalog), load_roe(roe)
    return make_plan(cat, rules, scenario=load_scenario(scenario) if scenario else None, targets=targets,
                     resolver=Resolver(resolver, rules.names) if resolver else None, now=datetime.now(UTC))


def print_plan(p: DrillPlan) -> None:
    state = "[green]open now[/]" if p.window_open else "[red]not open now: a run would be refused[/]"
    console.print(f"[bold]Drill plan[/] ({p.kind}) — RoE {p.roe_name!r}, approval {p.approval_ref} by {p.approver}")
    console.print(f"window {_local(p.window_start)} → {_local(p.window_end)} ({state})")
    console.print(f"scan: {p.scan_type} ({'root' if p.privileged else 'unprivileged'}), ports {p.ports} "
                  f"({p.port_count}), resolver {p.resolver}")
    console.print(f"command: {' '.join(p.nmap_command)}")
    t = Table(title="Hosts to scan", title_justify="left")
    for col in ("host", "address", "zone", "level", "approved ports", "why in scope"):
        t.add_column(col)
    for h in p.hosts:
        approved = ", ".join(map(str, h.allowed_ports)) + (f" (not scanned: {h.approved_not_scanned})"
                                                           if h.approved_not_scanned else "")
        t.add_row(h.name, h.address, h.zone, str(h.security_level or "-"), approved, h.reason)
    console.print(t)
    if p.endpoints:
        t = Table(title="Endpoints to check", title_justify="left")
        for col in ("origin", "host", "checks"):
            t.add_column(col)
        for e in p.endpoints:
            t.add_row(f"{e.origin}{e.path}", e.host, ", ".join(e.checks))
        console.print(t)
        console.print(f"HTTP(S) requests: at most {p.max_http_requests}")
    for inj in p.injects:
        console.print(f"inject {inj.id} at +{inj.at_seconds:.0f}s: {inj.action or 'manual'}"
                      + (f" (cleanup: {'; '.join(inj.cleanup)})" if inj.cleanup else ""))
    for s in p.skipped:
        console.print(f"[dim]not touched: {escape(s.what)} — {escape(s.why)}[/]")
    for w in p.warnings:
        console.print(f"[yellow]{w}[/]")


@app.command()
def plan(catalog: CatalogOpt, roe: RoeOpt, scenario: ScenarioOpt = None, target: TargetOpt = None,
         resolver: ResolverOpt = None, as_json: JsonOpt = False) -> None:
    """List exactly which hosts, ports, endpoints and checks a run would touch. Touches nothing."""
    p = _plan(catalog, roe, scenario, target, resolver)
    if as_json:
        print(p.model_dump_json(indent=2))
    else:
        print_plan(p)


SHOWN = 12


def print_outcome(o: RunOutcome) -> None:
    counts = ", ".join(f"{n} {s}" for s in ("critical", "high", "medium", "low")
                       if (n := sum(f.severity.value == s for f in o.open)))
    t = Table(title=f"Run {o.run_id}: {len(o.open)} open findings ({counts or 'none'}), {len(o.waived)} waived",
              title_justify="left")
    for col in ("severity", "id", "host", "finding"):
        t.add_column(col)
    for f in o.open[:SHOWN]:
        t.add_row(f.severity.value, f.id, f.host, f.title)
    for f in o.waived[:SHOWN]:
        t.add_row(f"waived ({f.severity.value})", f.id, f.host, f.title)
    console.print(t)
    if len(o.open) > SHOWN or len(o.waived) > SHOWN:
        console.print("… all of them: dvcops drill findings (--status all, --json, --csv)")
    if o.diff is not None:
        console.print(f"changes since run {o.diff.previous_run} (ndiff): {len(o.diff.changes)}")
        for c in o.diff.changes:
            console.print(f"  {c.line()}", markup=False)
    for note in o.notes:
        console.print(f"[dim]{escape(note)}[/]")
    console.print(f"run folder: {o.folder} (report: dvcops drill report --run {o.run_id})")


@app.command()
def run(catalog: CatalogOpt, roe: RoeOpt, scenario: ScenarioOpt = None, target: TargetOpt = None,
        resolver: ResolverOpt = None, lab_state: LabStateOpt = None, state: StateOpt = None,
        as_json: JsonOpt = False) -> None:
    """Run a compliance check, or a drill with --scenario. Exit 0 clean, 1 findings, 2 refused or error."""
    st = state_dir(state)
    sc = load_scenario(scenario) if scenario else None
    lab = LabControl(StateDir(lab_state) if lab_state else st) if sc and any(i.action for i in sc.injects) else None
    if lab is not None and not lab.running():
        raise DrillError(f"scenario {sc.id if sc else ''} acts on the lab, but no lab runs in {lab.folder}: "
                         "start it with `dvcops lab up` or give --lab-state")
    rules = load_roe(roe)
    outcome = run_drill(load_catalog(catalog), rules, st, scenario=sc, targets=target, lab=lab,
                        resolver=Resolver(resolver, rules.names) if resolver else None,
                        progress=None if as_json else console.print)
    if as_json:
        print(json.dumps({"run_id": outcome.run_id, "kind": outcome.kind, "exit_code": outcome.exit_code,
                          "open": [f.model_dump(mode="json") for f in outcome.open],
                          "waived": [f.model_dump(mode="json") for f in outcome.waived],
                          "diff": [c.line() for c in outcome.diff.changes] if outcome.diff else None,
                          "timeline": [{"inject": e.inject_id, "event": e.event, "at": e.at.isoformat(),
                                        "note": e.note} for e in outcome.injects],
                          "folder": str(outcome.folder)}, ensure_ascii=False, indent=2))
    else:
        print_outcome(outcome)
    raise typer.Exit(outcome.exit_code)


def _last_drill(store: FindingsStore) -> int:
    last = store.last_run("drill")
    if last is None:
        raise DrillError("no drill run with a scenario yet: give --run")
    return last.id


@app.command()
def log(event: Annotated[str, typer.Argument(help="detected | responded | note | end")],
        run_id: RunOpt = None,
        inject: Annotated[str | None, typer.Option("--inject", help="Inject id (see the plan)")] = None,
        at: Annotated[str | None, typer.Option("--at", help="When it happened (ISO; default now)")] = None,
        by: Annotated[str | None, typer.Option("--by", help="Who logs it, e.g. 'Đội xanh - Sở KH&CN'")] = None,
        note: Annotated[str | None, typer.Option("--note")] = None,
        lab_state: LabStateOpt = None, state: StateOpt = None, as_json: JsonOpt = False) -> None:
    """Blue team log: when an inject was detected and responded to; `end` closes the exercise (lab cleanup)."""
    st = state_dir(state)
    store = FindingsStore(st)
    try:
        rid = run_id or _last_drill(store)
        if event == "end":
            done = end_exercise(st, rid, LabControl(StateDir(lab_state) if lab_state else st))
            if as_json:
                print(json.dumps({"run": rid, "event": "end", "cleanup": done}, ensure_ascii=False, indent=2))
                return
            console.print(f"run {rid}: exercise ended; cleanup: {'; '.join(done) or 'none'}")
            return
        if event not in ("detected", "responded", "note"):
            raise DrillError(f"event {event!r}: expected detected, responded, note or end")
        if inject is None:
            raise DrillError(f"log {event}: give --inject (the inject id, e.g. mo-cong-redis)")
        timeline = Timeline(store)
        e = timeline.log(rid, inject, event, at=parse_time(at, "--at") if at else None, by=by,  # type: ignore[arg-type]
                         note=note)
        score = timeline.score(rid)
        row = next(r for r in score.injects if r.inject_id == inject)
        if as_json:
            print(json.dumps({"run": rid, "event": event, "inject": inject, "at": e.at.isoformat(),
                              "ttd_s": row.ttd.total_seconds() if row.ttd is not None else None,
                              "ttr_s": row.ttr.total_seconds() if row.ttr is not None else None,
                              "score": score.total, "max": score.max, "percent": score.percent},
                             ensure_ascii=False, indent=2))
            return
        console.print(f"run {rid}: {event} {inject} at {_local(e.at)}; TTD {_span(row.ttd)}, TTR {_span(row.ttr)}; "
                      f"score {score.total:g}/{score.max} ({score.percent}%)")
    finally:
        store.close()


@app.command()
def waive(finding: Annotated[str, typer.Argument(help="Finding id, e.g. F-1a2b3c4d")],
          justification: Annotated[str, typer.Option("--justification", help="Why the risk is accepted")],
          approver: Annotated[str, typer.Option("--approver", help="Who accepts it")],
          expires: Annotated[str, typer.Option("--expires", help="Date (through that day) or ISO time")],
          state: StateOpt = None, as_json: JsonOpt = False) -> None:
    """Waive a finding until it expires; then it counts as open again."""
    store = FindingsStore(state_dir(state))
    try:
        w = store.waive(finding, justification=justification, approver=approver, expires=parse_expiry(expires))
        if as_json:
            print(w.model_dump_json(indent=2))
            return
        console.print(f"{finding} waived until {_local(w.expires)} by {w.approver}: {w.justification}")
    finally:
        store.close()


@app.command()
def findings(status: Annotated[str, typer.Option(help="open | waived | fixed | all")] = "open",
             state: StateOpt = None, as_json: JsonOpt = False,
             csv_path: Annotated[Path | None, typer.Option("--csv", help="Write a CSV for Excel (UTF-8 with BOM)")]
             = None,
             as_of: Annotated[str | None, typer.Option("--as-of", help="Status at this time (ISO; default now)")]
             = None) -> None:
    """List findings with their status now, or --as-of a time (a waiver that has expired hides nothing)."""
    if status not in ("open", "waived", "fixed", "all"):
        raise DrillError(f"--status {status!r}: expected open, waived, fixed or all")
    store = FindingsStore(state_dir(state))
    try:
        items = store.findings(status=None if status == "all" else status,  # type: ignore[arg-type]
                               as_of=parse_time(as_of, "--as-of") if as_of else None)
    finally:
        store.close()
    if csv_path is not None:
        write_csv(items, csv_path)
        console.print(f"{len(items)} findings ({status}) -> {csv_path}")
        return
    if as_json:
        print(json.dumps([f.model_dump(mode="json") for f in items], ensure_ascii=False, indent=2))
        return
    t = Table(title=f"{len(items)} findings ({status})", title_justify="left")
    for col in ("id", "severity", "status", "host", "finding", "last seen"):
        t.add_column(col)
    for f in items:
        t.add_row(f.id, f.severity.value, f.status, f.host, f.title, _local(f.last_seen))
    console.print(t)


CSV_COLUMNS = ["id", "severity", "status", "host", "address", "system", "security_level", "check", "subject",
               "title", "title_en", "evidence", "remediation", "first_seen", "last_seen", "fixed_at"]


def write_csv(items: list[Finding], path: Path) -> None:
    """Findings as CSV with a BOM, so Excel opens the Vietnamese text correctly."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*CSV_COLUMNS, "waiver_justification", "waiver_approver", "waiver_expires"])
        for f in items:
            row = f.model_dump(mode="json")
            waiver = f.waiver
            writer.writerow([row[c] if row[c] is not None else "" for c in CSV_COLUMNS]
                            + ([waiver.justification, waiver.approver, waiver.expires.isoformat()] if waiver
                               else ["", "", ""]))


def parse_day(text: str, what: str, today: date) -> date:
    """A calendar date, YYYY-MM-DD, not after `today` (an exercise already held)."""
    try:
        day = date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise DrillError(f"{what} {text!r}: expected a date like 2025-03-10 (YYYY-MM-DD)")
    if day > today:
        raise DrillError(f"{what} {text}: in the future (today is {today.isoformat()}); record an exercise once held")
    return day


@app.command()
def record(catalog: CatalogOpt,
           kind: Annotated[str, typer.Option("--kind", help="drill (live drill) | check (compliance check)")],
           day: Annotated[str, typer.Option("--date", help="When it was held, YYYY-MM-DD (local date)")],
           reference: Annotated[str, typer.Option("--reference", help="Approval reference, e.g. "
                                                  "'KH 12/KH-VNCERT' or the audit report number")],
           system: Annotated[list[str] | None, typer.Option("--system", help="Catalogue system it covered "
                                                            "(repeat; default: every system)")] = None,
           note: Annotated[str, typer.Option("--note", help="Who ran it, e.g. 'Diễn tập quốc gia do NCSC tổ "
                                             "chức'")] = "",
           state: StateOpt = None, as_json: JsonOpt = False) -> None:
    """Record a drill or check held elsewhere (national CERT drill, contractor audit) so compliance counts it."""
    if kind not in ("drill", "check"):
        raise DrillError(f"--kind {kind!r}: expected drill or check")
    if not reference.strip():
        raise DrillError("--reference: give the approval reference (plan, decision or audit report number)")
    cat = load_catalog(catalog)
    tz = ZoneInfo(cat.province.timezone)
    held = parse_day(day, "--date", datetime.now(tz).date())
    hosts_of: dict[str, list[Host]] = {}
    for h in cat.hosts:
        hosts_of.setdefault(h.system or h.name, []).append(h)
    unknown = [s for s in system or [] if s not in hosts_of]
    if unknown:
        raise DrillError(f"--system {unknown[0]!r}: not a system of {catalog} (known: {', '.join(sorted(hosts_of))})")
    if not hosts_of:
        raise DrillError(f"{catalog}: the catalogue lists no hosts, so there is no system to record it for")
    systems = sorted(set(system)) if system else sorted(hosts_of)
    at = datetime.combine(held, time(0), tzinfo=tz)
    store = FindingsStore(state_dir(state))
    try:
        run_id = store.record_activity(kind, at, [h for s in systems for h in hosts_of[s]],  # type: ignore[arg-type]
                                       note=note.strip(), approval_ref=reference.strip())
    finally:
        store.close()
    if as_json:
        print(json.dumps({"run_id": run_id, "kind": kind, "date": held.isoformat(), "at": at.isoformat(),
                          "reference": reference.strip(), "systems": systems, "note": note.strip()},
                         ensure_ascii=False, indent=2))
    else:
        console.print(f"recorded {kind} {run_id} held on {held.isoformat()} ({reference.strip()}) for "
                      f"{', '.join(systems)}")


@app.command()
def report(run_id: RunOpt = None,
           catalog: Annotated[Path | None, typer.Option("--catalog", "-c", help="Catalogue for compliance per "
                                                        "system (default: the run's)")] = None,
           lang: Annotated[str, typer.Option(help="vi | en | both")] = "both",
           out: Annotated[Path | None, typer.Option(help="Folder (default: the run's folder)")] = None,
           state: StateOpt = None) -> None:
    """Write the after-action report (HTML and JSON, Vietnamese with English, or English)."""
    if lang not in ("vi", "en", "both"):
        raise DrillError(f"--lang {lang!r}: expected vi, en or both")
    st = state_dir(state)
    cat = load_catalog(catalog) if catalog else None
    for code in (["vi", "en"] if lang == "both" else [lang]):
        r = build_report(st, run_id, catalog=cat, lang=code)  # type: ignore[arg-type]
        folder = out or (Path(r.run["folder"]) if r.run.get("folder") else st.folder("drills", "runs",
                                                                                     f"{r.run['id']:04d}"))
        html_path, json_path = write_report(r, folder)
        console.print(f"{html_path}\n{json_path}")


def demo_step(ctx: DemoContext) -> None:
    """Demo: a drill against the lab (the db host exposes an unapproved port 16379; the scenario opens
    a Redis-like port on an e-service host), the blue team's log, the exercise end, the after-action report."""
    now = datetime.now(UTC)
    prefix = ctx.lab.spec.prefix
    roe_path = ctx.state.path("drills", "demo-roe.yml")
    roe_path.write_text(
        "version: 1\n"
        "name: \"Diễn tập thực chiến (demo lab)\"\n"
        "approval: {reference: \"KH 01/KH-DEMO\", approver: \"Giám đốc Sở (demo)\"}\n"
        f"window: {{start: \"{(now - timedelta(minutes=5)).isoformat()}\", "
        f"end: \"{(now + timedelta(hours=2)).isoformat()}\"}}\n"
        f"rules:\n  - allow: {prefix}.0/24\n  - deny: {prefix}.53\n  - deny: {prefix}.254\n"
        "ports: [8000, 8080, 8443, 15432, \"16379-16380\"]\n"
        f"resolver: \"{ctx.lab.spec.dns_address}:{ctx.lab.spec.dns_port}\"\n"
        "rate: {http_per_second: 40}\n"
        "scan: {version_intensity: 0}\n", encoding="utf-8")
    scenario = load_scenario("lo-cong-csdl")
    outcome = run_drill(ctx.catalog, load_roe(roe_path), ctx.state, scenario=scenario, lab=ctx.lab,
                        progress=ctx.console.print)
    print_outcome(outcome)
    ctx.console.print(f"exit code {outcome.exit_code} (1 = findings, expected here)")
    store = FindingsStore(ctx.state)
    try:
        timeline = Timeline(store)
        inject = scenario.ordered()[0]
        timeline.log(outcome.run_id, inject.id, "detected", by="Đội xanh (demo)", note="cổng lạ trong kết quả quét")
        ctx.lab.action("close-port", host="lab-dvc-1", port=16380)
        timeline.log(outcome.run_id, inject.id, "responded", by="Đội xanh (demo)", note="đã đóng cổng 16380")
        score = timeline.score(outcome.run_id)
        ctx.console.print(f"score {score.total:g}/{score.max} ({score.percent}%)")
    finally:
        store.close()
    end_exercise(ctx.state, outcome.run_id, ctx.lab)
    paths: list[Path] = []
    for code in ("vi", "en"):
        paths += write_report(build_report(ctx.state, outcome.run_id, catalog=ctx.catalog, lang=code),  # type: ignore[arg-type]
                              outcome.folder)
    ctx.outputs["Drill after-action report (HTML)"] = str(paths[0])
    ctx.outputs["Drill after-action report (JSON)"] = str(paths[1])
    ctx.outputs["Drill raw nmap XML"] = str(outcome.folder / "scan.xml")
