"""A drill over 16 hosts x 100 ports, next to the raw nmap command with the same arguments (goal: <= 1.15x).

Hosts 127.0.62.1-16, ports 30001-30100, all opened by this benchmark: on each host two approved
services (an SSH and an FTP banner), one unapproved port answering like an unauthenticated Redis
(nmap cannot name it, as with the lab's), and 97 ports bound without listening (closed). The drill
is `drills.runner.run_drill` (RoE check, plan, nmap through python-nmap, XML kept, findings into
SQLite, diff against the previous run, run.json); the raw command is the plan's exact nmap argv.
Rounds alternate drill / raw nmap so machine noise hits both; the figure is the median of the
per-round ratios.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from drills.plan import make_plan
from drills.roe import RoE
from drills.runner import run_drill
from dvcops.catalog import load_catalog
from dvcops.state import StateDir
from lab.server import tcp_listener

HOSTS = [f"127.0.62.{i}" for i in range(1, 17)]
PORTS = range(30001, 30101)
BANNERS = {30001: b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", 30002: b"220 (vsFTPd 3.0.3)\r\n",
           30050: b"-NOAUTH Authentication required.\r\n"}
ROUNDS = 5
GOAL = 1.15


class Ports:
    """Listeners with banners (asyncio, in a thread) and bound-but-closed sockets for every other port."""

    def __init__(self) -> None:
        self.closed: list[socket.socket] = []
        for host in HOSTS:
            for port in PORTS:
                if port not in BANNERS:
                    s = socket.socket()
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((host, port))
                    self.closed.append(s)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            for host in HOSTS:
                for port, banner in BANNERS.items():
                    await tcp_listener(host, port, banner)
            self.ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        for s in self.closed:
            s.close()


def _files(folder: Path) -> tuple[Path, RoE]:
    catalog = {
        "version": 1, "province": {"code": "BM", "name": "Tỉnh Benchmark", "reviewer": "Sở KH&CN"},
        "agencies": [], "services": [],
        "hosts": [{"name": f"may-{i + 1:02d}", "address": h, "zone": "app", "roles": ["svc"], "security_level": 3,
                   "system": f"he-thong-{i % 4}"} for i, h in enumerate(HOSTS)],
        "roles": {"svc": {"ports": [30001, 30002]}},
    }
    path = folder / "catalog.yml"
    path.write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")
    now = datetime.now(UTC)
    roe = RoE.model_validate({
        "version": 1, "name": "Benchmark", "approval": {"reference": "BM-1", "approver": "bench"},
        "window": {"start": (now - timedelta(hours=1)).isoformat(), "end": (now + timedelta(hours=2)).isoformat()},
        "rules": [{"allow": "127.0.62.0/24"}], "ports": ["30001-30100"], "rate": {"packets_per_second": 1000}})
    return path, roe


def run() -> list[dict]:
    ports = Ports()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            catalog_path, roe = _files(Path(tmp))
            catalog = load_catalog(catalog_path)
            plan = make_plan(catalog, roe)
            raw_argv = plan.nmap_command
            state = StateDir(Path(tmp) / "state")
            drill_times, raw_times, ratios = [], [], []
            findings = 0
            for _ in range(ROUNDS):
                t0 = time.perf_counter()
                outcome = run_drill(catalog, roe, state)
                drill_times.append(time.perf_counter() - t0)
                findings = len(outcome.open)
                t0 = time.perf_counter()
                subprocess.run(raw_argv, check=True, capture_output=True)
                raw_times.append(time.perf_counter() - t0)
                ratios.append(drill_times[-1] / raw_times[-1])
            assert findings == len(HOSTS), f"expected one unapproved port per host, got {findings}"
    finally:
        ports.close()
    ratio = statistics.median(ratios)
    overhead = statistics.median(d - r for d, r in zip(drill_times, raw_times, strict=True))
    return [
        {"benchmark": "drills", "figure": "drill over 16 hosts x 100 ports vs `nmap -oX - <16 hosts> "
         f"{' '.join(raw_argv[3 + len(HOSTS):])}`, median of {ROUNDS} paired rounds",
         "value": f"{statistics.median(drill_times):.2f} s vs raw nmap {statistics.median(raw_times):.2f} s: "
                  f"{ratio:.3f}x (rounds: {', '.join(f'{r:.3f}' for r in ratios)})",
         "goal": f"<= {GOAL}x", "met": ratio <= GOAL},
        {"benchmark": "drills", "figure": "drill overhead over nmap (RoE, plan, parse, findings, diff, run.json)",
         "value": f"{overhead:.3f} s", "goal": "", "met": None},
    ]
