"""`dvcops dc demo`: the whole toolkit against the DC it provisioned, as one scripted exercise.

The DC boots (unless up), then this process joins the controller's network namespace (setns: from
here on every socket, nmap, Locust and Ansible it starts lives there, never in the root namespace)
and, through the parts' Python APIs: converges site.yml over SSH; probes every endpoint; runs a
smoke load test through nginx; posts survey ratings through nginx into PostgreSQL on the db host;
takes a drill baseline; injects a listener on an unapproved port (filtered: no finding), then runs a
scenario that opens the firewall for it (finding); asks Prometheus on the monitoring host what it
scrapes; and writes the DoIC report of the period from all of it.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console

from dvcops.catalog import Catalog, load_catalog
from dvcops.state import StateDir
from lab.dc.control import DCControl
from lab.dc.datacentre import ADMIN, DataCentre
from lab.dc.errors import DCError
from lab.dc.netns import NETNS_DIR

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parents[1] / "examples" / "dc-lab.yml"
SMOKE = HERE / "smoke-dc.yml"
SCENARIO = HERE / "scenarios" / "mo-tuong-lua.yml"
INJECT_HOST, INJECT_PORT = "web-1", 6390
CLONE_NEWNET = 0x40000000


@dataclass
class DemoOutcome:
    ok: bool = True
    lines: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    def check(self, good: bool, line: str) -> None:
        self.lines.append(("✓ " if good else "✗ ") + line)
        self.ok = self.ok and good


def join_namespace(netns: str) -> None:
    """Move this process's network namespace into `netns` (root only; threads made later follow)."""
    fd = os.open(NETNS_DIR / netns, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise DCError(f"setns({netns}): {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


def run_dc_demo(state: StateDir, console: Console, catalog: Path = EXAMPLE, name: str = "dc",
                keep: bool = False) -> DemoOutcome:
    dc = DataCentre(state, name)
    made_here = False
    if not dc.ledger.exists:
        console.rule("DC up")
        dc.up(catalog, say=console.print)
        made_here = True
    out = DemoOutcome()
    try:
        join_namespace(dc.controller_ns)
        console.print(f"this process now runs in {dc.controller_ns} (controller {dc.plan.controller})")
        cat = load_catalog(dc.catalog_path)
        _provision(dc, state, console, out)
        _probe(cat, state, console, out)
        _load(dc, state, console, out)
        _ratings(dc, cat, console, out)
        _drills(dc, cat, state, console, out)
        _prometheus(console, out)
        _report(dc, cat, state, console, out)
    finally:
        if made_here and not keep:
            console.rule("DC down")
            dc.down()
            console.print("DC removed")
    console.rule("Verdict")
    for line in out.lines:
        console.print(line, markup=False)
    for label, where in out.outputs.items():
        console.print(f"{label}: {where}", markup=False)
    return out


def _provision(dc: DataCentre, state: StateDir, console: Console, out: DemoOutcome) -> None:
    from playbooks.inventory import SshAccess
    from playbooks.provision import ProvisionOptions, provision
    from playbooks.runner import RichProgress, recap_table

    console.rule("Provision (site.yml over SSH)")
    opts = ProvisionOptions(secrets_dir=dc.secrets_dir, vars_files=(dc.vars_path,),
                            ssh=SshAccess(ADMIN, dc.admin_key, dc.known_hosts), forks=8)
    with RichProgress(console, len(dc.plan.hosts)) as progress:
        result = provision(dc.catalog_path, state, opts, on_event=progress)
    console.print(recap_table(result))
    out.check(result.ok, f"provision: {result.status} in {result.seconds:.0f} s, "
                         f"{sum(h.changed for h in result.hosts)} changes")
    out.outputs["Ansible artifacts"] = str(result.artifacts)
    if not result.ok:
        raise DCError(f"provision failed: see {result.artifacts / 'run' / 'stdout'}")


def _probe(cat: Catalog, state: StateDir, console: Console, out: DemoOutcome) -> None:
    from probes.engine import Prober
    from probes.history import History
    from probes.settings import get_probe_settings
    from probes.targets import targets_from

    console.rule("Probes")
    prober = Prober(targets_from(cat), get_probe_settings())
    # services the converge just restarted may still be starting (a unit is active before it listens): wait,
    # bounded, until one unrecorded cycle is all up, then record the cycles the report will read
    waited = time.monotonic()
    while time.monotonic() - waited < 90:
        if all(r.state == "up" for r in asyncio.run(prober.cycle())):
            break
        time.sleep(3)
    console.print(f"endpoints answering after {time.monotonic() - waited:.0f} s")
    with History.in_state(state, cat.province.timezone) as history:
        for n in range(2):
            if n:
                time.sleep(5)
            results = asyncio.run(prober.cycle())
            history.record(results)
    for r in results:
        console.print(f"  {r.state:5} {r.service} {r.summary().get('endpoint', '')}", markup=False)
    up = [r for r in results if r.state == "up"]
    out.check(len(up) == len(results), f"probes: {len(up)} of {len(results)} endpoints up")


def _load(dc: DataCentre, state: StateDir, console: Console, out: DemoOutcome) -> None:
    from loadtests.runner import RunOptions, run
    from loadtests.verdict import summary_lines

    console.rule("Smoke load test through nginx")
    result = run(RunOptions(catalog=dc.catalog_path, profile=str(SMOKE), services=["cong-dich-vu-cong"], state=state))
    assert result.verdict is not None
    for line in summary_lines(result.verdict):
        console.print(line, markup=False)
    out.check(result.exit_code == 0, f"load test: {result.verdict.verdict} ({result.run_dir})")
    out.outputs["Load test run"] = str(result.run_dir)


def _ratings(dc: DataCentre, cat: Catalog, console: Console, out: DemoOutcome) -> None:
    console.rule("Survey ratings through nginx into PostgreSQL")
    web = next(h for h in dc.plan.hosts if "survey" in h.roles and "web" in h.roles)
    levels = ["rat-hai-long", "hai-long", "hai-long", "khong-hai-long"]
    stamp = datetime.now(UTC).strftime("%H%M%S")
    created = 0
    with httpx.Client(base_url=f"https://{web.address}", verify=str(dc.ca_path), timeout=10) as client:
        for i in range(12):
            level = levels[i % len(levels)]
            body = {"service_id": cat.services[i % 2].id, "dossier_code": f"DC-{stamp}-{i:04d}", "instrument": "3-muc",
                    "answers": {q: level for q in ("tiep-can", "thu-tuc", "cong-chuc", "ket-qua", "phan-anh")},
                    "channel": "web"}
            resp = client.post("/api/v1/ratings", json=body)
            created += resp.status_code in (200, 201)
    db = next(h for h in dc.plan.hosts if "db" in h.roles)
    count = dc.on_host(db.name, ["runuser", "-u", "postgres", "--", "psql", "-d", "survey", "-XtAc",
                                 "SELECT count(*) FROM survey_ratings"])
    stored = int(count.stdout.strip() or 0)
    out.check(created == 12 and stored >= 12, f"survey: {created} ratings through https://{web.address}, "
                                              f"{stored} rows in PostgreSQL on {db.name}")


def _roe(dc: DataCentre, state: StateDir) -> Path:
    now = datetime.now(UTC)
    path = state.path("drills", "dc-roe.yml")
    template = (HERE.parents[1] / "examples" / "roe-dc-lab.yml").read_text(encoding="utf-8")
    lines = [line for line in template.splitlines() if not line.startswith(("window:", "  - allow:", "  - deny:"))]
    lines.append(f"window: {{start: \"{(now - timedelta(minutes=5)).isoformat()}\", "
                 f"end: \"{(now + timedelta(hours=2)).isoformat()}\"}}")
    rules = ["rules:", f"  - allow: {dc.plan.subnet}", f"  - deny: {dc.plan.controller}"]
    body = "\n".join(line for line in lines if line != "rules:") + "\n" + "\n".join(rules) + "\n"
    path.write_text(body, encoding="utf-8")
    return path


def _drills(dc: DataCentre, cat: Catalog, state: StateDir, console: Console, out: DemoOutcome) -> None:
    from drills.findings import FindingsStore
    from drills.report import build_report, write_report
    from drills.roe import load_roe
    from drills.runner import end_exercise, run_drill
    from drills.scenarios import load_scenario
    from drills.timeline import Timeline

    console.rule("Drills from the controller")
    roe = load_roe(_roe(dc, state))
    base = run_drill(cat, roe, state, progress=console.print)
    ports = [f for f in base.open if f.check == "ports"]
    others = sorted({f"{f.host} {f.check}" for f in base.open if f.check != "ports"})
    out.check(not ports, f"drill baseline: {len(ports)} port findings (only role ports open: the firewall is what "
                         f"the scan sees)" + (f"; service-check findings: {', '.join(others)}" if others else ""))
    started = dc.on_host(INJECT_HOST, ["systemd-run", "--unit=dvcops-demo-listener", "python3", "-m", "http.server",
                                       "--bind", "0.0.0.0", str(INJECT_PORT)])
    if started.returncode != 0:
        raise DCError(f"{INJECT_HOST}: could not start the injected listener: {started.stderr.strip()}")
    control = DCControl(dc)
    try:
        time.sleep(1)
        hidden = run_drill(cat, roe, state, progress=console.print)
        out.check(not any(f"{INJECT_PORT}/tcp" in f.subject for f in hidden.open),
                  f"listener on {INJECT_HOST}:{INJECT_PORT} behind nftables: no finding for it")
        scenario = load_scenario(SCENARIO)
        drill = run_drill(cat, roe, state, scenario=scenario, lab=control, progress=console.print)
        seen = [f for f in drill.open if f"{INJECT_PORT}/tcp" in f.subject]
        out.check(bool(seen), f"scenario {scenario.id}: firewall opened, finding "
                              f"{seen[0].id + ' ' + seen[0].subject if seen else 'MISSING'}")
        store = FindingsStore(state)
        try:
            timeline = Timeline(store)
            inject = scenario.ordered()[0]
            timeline.log(drill.run_id, inject.id, "detected", by="Đội xanh (DC lab)", note="cổng lạ trong kết quả quét")
            control.action("close-port", host=INJECT_HOST, port=INJECT_PORT)
            timeline.log(drill.run_id, inject.id, "responded", by="Đội xanh (DC lab)", note="đã xoá luật tường lửa")
        finally:
            store.close()
        end_exercise(state, drill.run_id, control)
        paths = write_report(build_report(state, drill.run_id, catalog=cat, lang="vi"), drill.folder)
        out.outputs["Drill after-action report"] = str(paths[0])
    finally:
        control.action("close-port", host=INJECT_HOST, port=INJECT_PORT)
        dc.on_host(INJECT_HOST, ["systemctl", "stop", "dvcops-demo-listener"])


def _prometheus(console: Console, out: DemoOutcome, url: str = "http://10.77.0.31:9090") -> None:
    console.rule("Prometheus on the monitoring host")
    deadline = time.monotonic() + 90
    targets: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        targets = httpx.get(f"{url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        if targets and all(t["health"] == "up" for t in targets):
            break
        time.sleep(3)
    for t in targets:
        console.print(f"  {t['health']:4} {t['scrapeUrl']}", markup=False)
    probes = httpx.get(f"{url}/api/v1/query", params={"query": "probe_success"}, timeout=10).json()["data"]["result"]
    out.check(bool(targets) and all(t["health"] == "up" for t in targets),
              f"prometheus: {len(targets)} targets up; the prober reports {len(probes)} endpoints")


def _report(dc: DataCentre, cat: Catalog, state: StateDir, console: Console, out: DemoOutcome) -> None:
    from report import ReportInputs
    from report.cli import write_report

    console.rule("DoIC report")
    password = (dc.secrets_dir / "db_password").read_text().strip()
    db = next(h for h in dc.plan.hosts if "db" in h.roles)
    from urllib.parse import quote
    url = f"postgresql+psycopg://survey:{quote(password, safe='')}@{db.address}:5432/survey?sslmode=require"
    month = datetime.now(ZoneInfo(cat.province.timezone)).strftime("%Y-%m")
    inputs = ReportInputs(state=state, survey_database_url=url)
    for fmt in ("html", "json"):
        path = write_report(dc.catalog_path, month, fmt, None, "vi", inputs)
        out.outputs[f"DoIC report ({fmt})"] = str(path)
    out.check(True, f"DoIC report for {month}: {out.outputs['DoIC report (html)']}")
