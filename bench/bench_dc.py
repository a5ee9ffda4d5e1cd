"""DC lab benchmark: boot real Debian hosts and converge them over SSH (needs root).

(a) examples/dc-lab.yml plus two node hosts (6 hosts): `dc up`, first converge of site.yml, idempotent re-run
    (goal <= 30 s, changed=0); (b) scale: 40 hosts with no catalogue role (baseline, ssh and firewall only):
    up, first converge, memory of the hosts. Load on the machine is printed with the figures.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from dvcops.state import StateDir
from lab.dc.datacentre import ADMIN, DataCentre
from lab.dc.demo import EXAMPLE, join_namespace
from playbooks.inventory import SshAccess
from playbooks.provision import ProvisionOptions, provision

SCALE_HOSTS = int(os.environ.get("DVCOPS_BENCH_DC_HOSTS", "40"))


def _catalogue(folder: Path, extra: list[dict[str, Any]], only_extra: bool = False) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    if only_extra:
        data["hosts"], data["services"] = extra, [{**s, "hosts": []} for s in data["services"]]
    else:
        data["hosts"] += extra
    path = folder / "catalog.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _converge(dc: DataCentre, state: StateDir, forks: int) -> tuple[float, int, bool, list[str]]:
    """Seconds, changes, success, and which tasks changed on which host (named in the row when a re-run changes)."""
    opts = ProvisionOptions(secrets_dir=dc.secrets_dir, vars_files=(dc.vars_path,), forks=forks,
                            ssh=SshAccess(ADMIN, dc.admin_key, dc.known_hosts))
    t0 = time.monotonic()
    result = provision(dc.catalog_path, state, opts)
    changed = [f"{h.host}: {task}" for h in result.hosts for task in h.changed_tasks]
    return time.monotonic() - t0, sum(h.changed for h in result.hosts), result.ok, changed


def _in_controller(dc: DataCentre, fn: Any) -> Any:
    """Run fn() in a child process that joined the controller namespace (this process stays where it is)."""
    import multiprocessing

    def child(q: Any) -> None:
        join_namespace(dc.controller_ns)
        q.put(fn())

    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    out = q.get(timeout=3600)
    p.join()
    return out


def _dc_rows(label: str, catalog: Path, state: StateDir, name: str, runs: int, goal: bool) -> list[dict[str, Any]]:
    dc = DataCentre(state, name)
    t0 = time.monotonic()
    dc.up(catalog)
    up = time.monotonic() - t0
    try:
        n = len(dc.plan.hosts)
        mem = sum(h["memory_mib"] or 0 for h in dc.status()["hosts"])
        forks = min(n, 10)
        timings = [_in_controller(dc, lambda: _converge(dc, state, forks)) for _ in range(runs)]
        mem_after = sum(h["memory_mib"] or 0 for h in dc.status()["hosts"])
    finally:
        dc.down()
    load = os.getloadavg()[0]
    note = f"{n} hosts, load avg {load:.1f} on {os.cpu_count()} cores"
    rows: list[dict[str, Any]] = [{"benchmark": "dc", "figure": f"{label}: dc up ({note}; {mem:.0f} MiB after boot)",
             "value": f"{up:.1f} s", "goal": "", "met": None}]
    first = timings[0]
    rows.append({"benchmark": "dc", "figure": f"{label}: first converge over SSH, forks {forks} ({first[1]} changes; "
                 f"{mem_after:.0f} MiB for the {n} hosts after it)", "value": f"{first[0]:.1f} s",
                 "goal": "", "met": first[2] or False})
    if runs > 1:
        again = timings[1]
        what = f": {'; '.join(again[3][:8])}" if again[1] else ""
        rows.append({"benchmark": "dc", "figure": f"{label}: idempotent re-run ({again[1]} changes{what})",
                     "value": f"{again[0]:.1f} s", "goal": "<= 30 s, changed=0" if goal else "changed=0",
                     "met": again[2] and again[1] == 0 and (again[0] <= 30 or not goal)})
    return rows


def run() -> list[dict[str, Any]]:
    if os.geteuid() != 0:
        return [{"benchmark": "dc", "figure": "skipped: the DC lab needs root", "value": "", "goal": "", "met": None}]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-dc-") as tmp:
        base = Path(tmp)
        six = _catalogue(base, [{"name": f"app-{i}", "address": f"10.77.0.{40 + i}", "zone": "app",
                                 "roles": ["node"], "security_level": 2} for i in (1, 2)])
        rows += _dc_rows("example DC + 2 node hosts", six, StateDir(base / "s6"), "bench6", 2, True)
        if SCALE_HOSTS:
            scale_dir = base / "scale"
            scale_dir.mkdir()
            scale = _catalogue(scale_dir, [{"name": f"h{i:02d}", "address": f"10.77.0.{100 + i}", "zone": "app",
                                            "roles": [], "security_level": 2} for i in range(1, SCALE_HOSTS + 1)],
                               only_extra=True)
            rows += _dc_rows(f"scale: {SCALE_HOSTS} hosts, baseline + ssh + firewall", scale,
                             StateDir(base / "s40"), "bench40", 1, False)
    return rows
