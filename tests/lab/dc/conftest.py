"""One DC for the session: examples/dc-lab.yml booted (name `tdc`, subnet 10.77.0.0/24, namespaces only),
converged over SSH by the real CLI, converged again and dry-run with --check --diff.

The main PIDs of every expected unit are read before and after the second converge (a run that changes
nothing must restart nothing). Everything that talks to the DC runs in its controller namespace: ssh as
the admin with the pinned host keys, curl, nmap. Needs root, as CI runs.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dvcops.state import StateDir
from lab.dc.datacentre import ADMIN, DataCentre
from tests.conftest import ROOT, run_dvcops

NAME = "tdc"
CATALOG = ROOT / "examples" / "dc-lab.yml"
UNITS = {
    "web-1": ["ssh", "nftables", "nginx", "dvcops-survey", "prometheus-node-exporter"],
    "web-2": ["ssh", "nftables", "nginx", "dvcops-survey", "prometheus-node-exporter"],
    "db-1": ["ssh", "nftables", "postgresql@15-main", "dvcops-pg-backup.timer", "prometheus-node-exporter"],
    "mon-1": ["ssh", "nftables", "prometheus", "prometheus-alertmanager", "prometheus-node-exporter", "dvcops-prober"],
}
"""What each host's catalogue roles must run, active under systemd."""


@dataclass
class ConvergedDC:
    dc: DataCentre
    state: Path
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    pids: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)

    def provision(self, *extra: str) -> tuple[int, dict[str, Any], str]:
        proc = run_dvcops("dc", "provision", "--name", NAME, "--json", *extra, state=self.state, timeout=1500)
        assert proc.stdout.strip(), proc.stderr[-3000:]
        return proc.returncode, json.loads(proc.stdout), proc.stderr

    def ctl(self, *cmd: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A command in the controller namespace."""
        return subprocess.run(self.dc.exec_argv(list(cmd)), capture_output=True, text=True, timeout=timeout)

    def ssh(self, host: str, command: str, user: str = ADMIN, *options: str) -> subprocess.CompletedProcess[str]:
        """Real SSH from the controller (host keys pinned, BatchMode: no password prompt ever)."""
        argv = self.dc.ssh_argv(host, [command], user=user)
        at = argv.index("-F")
        argv[at:at] = list(options)
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    def main_pids(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for host, units in UNITS.items():
            services = [u for u in units if not u.endswith(".timer") and u != "nftables"]
            proc = self.ssh(host, "sudo -n systemctl show -p MainPID --value " + " ".join(services))
            assert proc.returncode == 0, proc.stderr
            out[host] = dict(zip(services, map(int, proc.stdout.split()), strict=True))
        return out

    def recap(self, label: str) -> dict[str, dict[str, Any]]:
        run = self.runs.get(label)
        assert run is not None, f"the {label} run did not happen (an earlier run failed): {list(self.runs)}"
        assert run["rc"] == 0, f"{label} run failed: {json.dumps(run['recap'], ensure_ascii=False)[:3000]}"
        return {h["host"]: h for h in run["recap"]["hosts"]}


@pytest.fixture(scope="session")
def converged_dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConvergedDC]:
    state = tmp_path_factory.mktemp("dc-state")
    up = run_dvcops("dc", "up", "--catalog", str(CATALOG), "--name", NAME, "--json", state=state, timeout=1200)
    c = ConvergedDC(dc=DataCentre(StateDir(state), NAME), state=state)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        for label, extra in (("first", ()), ("second", ()), ("check", ("--check", "--diff"))):
            if label == "second":
                c.pids["before second"] = c.main_pids()
            rc, recap, stderr = c.provision(*extra)
            c.runs[label] = {"rc": rc, "recap": recap, "stderr": stderr}
            if rc != 0:
                break
            if label == "second":
                c.pids["after second"] = c.main_pids()
        yield c
    finally:
        run_dvcops("dc", "down", "--name", NAME, state=state, timeout=300)
