"""One cgroup per DC host, made by hand: this machine has no host systemd to make a scope for it.

systemd-nspawn runs with `--keep-unit --register=no` (no host systemd, no D-Bus), so it keeps the
cgroup it starts in; each host's nspawn is started from its own cgroup in each hierarchy that
matters (the named systemd one, the unified one, memory and cpuacct), or all hosts would share
one. Teardown kills whatever is left in a host's cgroups and removes them bottom-up.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
HIERARCHIES = ("systemd", "unified", "memory", "cpuacct")
TOP = "dvcops-dc"


def available() -> list[str]:
    """The hierarchies this machine mounts (a pure cgroup v2 machine has only the root one)."""
    found = [h for h in HIERARCHIES if (CGROUP_ROOT / h / "cgroup.procs").exists()]
    return found or ([""] if (CGROUP_ROOT / "cgroup.procs").exists() else [])


def paths(dc: str, host: str) -> list[Path]:
    return [CGROUP_ROOT / h / TOP / dc / host for h in available()]


def create(dc: str, host: str) -> list[Path]:
    made = paths(dc, host)
    for p in made:
        p.mkdir(parents=True, exist_ok=True)
    return made


def enter(cgroups: list[Path]) -> None:
    """Move the calling process into these cgroups (run in the child just before it execs nspawn)."""
    for p in cgroups:
        (p / "cgroup.procs").write_text("0")


def pids(cgroup: Path) -> list[int]:
    """Every process in a cgroup and its sub-cgroups."""
    found: list[int] = []
    if not cgroup.is_dir():
        return found
    for procs in cgroup.rglob("cgroup.procs"):
        try:
            found += [int(x) for x in procs.read_text().split()]
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return found


def kill_all(cgroups: list[Path]) -> int:
    """SIGKILL every process left in these cgroups; how many there were."""
    left = {pid for p in cgroups for pid in pids(p)}
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return len(left)


def remove(cgroups: list[Path], dc: str) -> None:
    """Remove the hosts' cgroups bottom-up, then the DC's and the top folder when empty."""
    for p in cgroups:
        if p.is_dir():
            for d in sorted((d for d in p.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True):
                _rmdir(d)
            _rmdir(p)
    for h in available():
        _rmdir(CGROUP_ROOT / h / TOP / dc)
        _rmdir(CGROUP_ROOT / h / TOP)


def _rmdir(d: Path) -> None:
    try:
        d.rmdir()
    except (FileNotFoundError, OSError):
        pass


def memory_bytes(dc: str, host: str) -> int | None:
    """Memory the host uses now (cgroup v1 memory or v2 memory.current)."""
    for f in (CGROUP_ROOT / "memory" / TOP / dc / host / "memory.usage_in_bytes",
              CGROUP_ROOT / "unified" / TOP / dc / host / "memory.current"):
        try:
            return int(f.read_text())
        except (FileNotFoundError, ValueError):
            continue
    return None


def all_dirs() -> list[Path]:
    """Every cgroup folder the DC lab has on this machine (for the teardown test)."""
    return [d for h in available() for top in [CGROUP_ROOT / h / TOP] if top.exists()
            for d in [top, *top.rglob("*")] if d.is_dir()]
