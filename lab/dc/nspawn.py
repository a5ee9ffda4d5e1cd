"""Boot, enter and stop one host with systemd-nspawn (systemd as PID 1, in its own network namespace).

Measured on this machine (no host systemd, no D-Bus): nspawn must run with `--keep-unit
--register=no`, else it fails with "Failed to open system bus"; `--private-network` together with
`--network-namespace-path` gives the host the namespace the DC made for it and keeps CAP_NET_ADMIN,
so nftables loaded inside the host really filters what reaches it. SIGTERM to nspawn powers the
container off cleanly (about 2 s).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from dvcops.system import require_program
from lab.dc import cgroups
from lab.dc.netns import NETNS_DIR


def command(root: Path, machine: str, netns: str) -> list[str]:
    return [str(require_program("systemd-nspawn")), "--quiet", "--keep-unit", "--register=no", "--boot",
            f"--directory={root}", f"--machine={machine}", "--private-network",
            f"--network-namespace-path={NETNS_DIR / netns}", "--resolv-conf=off", "--timezone=off",
            "--link-journal=no", "--console=read-only"]


def start(root: Path, machine: str, netns: str, cgroup_paths: list[Path], console_log: Path) -> int:
    """Start nspawn in the background from its own cgroups, in a session of its own (it outlives `dc up`)."""
    with open(console_log, "ab") as log:
        proc = subprocess.Popen(command(root, machine, netns), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=lambda: cgroups.enter(cgroup_paths))
    return proc.pid


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat): tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # exited; reap it if it is our child (a long-lived caller of `up`)
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return None
    return int(fields[19])


def alive(pid: int, started: int | None) -> bool:
    return started is not None and start_time(pid) == started


def leader(cgroup: Path) -> int | None:
    """The container's PID 1 as this machine sees it: the process in the host's cgroup that is pid 1 inside."""
    for pid in cgroups.pids(cgroup):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("NSpid:") and line.split()[-1] == "1" and len(line.split()) > 2:
                    return pid
        except (FileNotFoundError, ProcessLookupError):
            continue
    return None


def enter(pid: int, cmd: list[str]) -> list[str]:
    """`cmd` run inside the container whose PID 1 is `pid` (its mount, UTS, IPC, network and PID namespaces)."""
    return ["nsenter", "-t", str(pid), "-m", "-u", "-i", "-n", "-p", "--", *cmd]


def system_state(pid: int) -> str:
    """`systemctl is-system-running` inside the host: initializing, starting, running, degraded..."""
    try:
        proc = subprocess.run(enter(pid, ["systemctl", "is-system-running"]), capture_output=True, text=True,
                              timeout=10)
    except subprocess.TimeoutExpired:
        return "unknown"
    return proc.stdout.strip() or "unknown"


def stop(pid: int, started: int | None, timeout: float = 30.0) -> bool:
    """Power the container off (SIGTERM to nspawn); SIGKILL after `timeout`. True when it stopped in time."""
    if not alive(pid, started):
        return True
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid, started):
            return True
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return False
