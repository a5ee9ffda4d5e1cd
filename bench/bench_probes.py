"""Probes: (a) one cycle over 1,000 lab endpoints, side by side with prometheus-blackbox-exporter
probing the same 1,000 targets in the same run (CPU seconds from /proc of each process; goal: at
least blackbox's probes per CPU second); (b) the same cycle with 10 % of targets hung ends within
the timeout + 1 s (the tests assert only that hung targets wait side by side: tests/probes/test_engine.py);
(c) an annual uptime query over 500 endpoints with one year of per-minute
history (generated through probes.history) takes <= 1 s.

The lab runs on 127.0.31.x for the benchmark; the hung server, blackbox_exporter and nothing else
on 127.0.31.201-202. Our prober runs in its own process (`python -m bench.bench_probes worker`) so
its CPU is measured the same way as blackbox's.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import yaml

from dvcops.catalog import parse_catalog
from dvcops.state import StateDir
from dvcops.system import require_program, wait_until_answers
from dvcops.timezone import DEFAULT_TZ
from lab import Lab, LabSpec
from probes.settings import ProbeSettings

PREFIX = "127.0.31"
HUNG = ("127.0.31.201", 9000)
BLACKBOX = ("127.0.31.202", 9115)
N_TARGETS = 1000
TIMEOUT = 5.0
"""The lab catalogue's timeout."""
CONCURRENCY = 256
"""(a): probes in flight at once, for both tools (blackbox gets as many concurrent scrapes)."""
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def lab_urls(lab: Lab, n: int) -> list[str]:
    """Half plain HTTP on the portal, half HTTPS over the three TLS hosts: /e/{i} answers a small fixed body."""
    spec = lab.spec
    https_hosts = ["lab-portal", "lab-dvc-1", "lab-dvc-2"]
    return [spec.url("lab-portal", f"/e/{i}") if i % 2 == 0 else
            spec.url(https_hosts[(i // 2) % 3], f"/e/{i}", https=True) for i in range(n)]


def catalog_for(urls: list[str], ca_file: Path, timeout: float) -> dict[str, object]:
    services = [{"id": f"dv-{i // 10}", "name": f"Dịch vụ {i // 10}", "agency": f"so-{i // 100}", "level": "3",
                 "endpoints": []} for i in range(0, len(urls), 10)]
    for i, url in enumerate(urls):
        services[i // 10]["endpoints"].append({"url": url})  # type: ignore[attr-defined]
    return {"version": 1, "province": {"code": "BM", "name": "Tỉnh Benchmark", "reviewer": "Sở KH&CN"},
            "defaults": {"timeout": f"{timeout}s", "ca_file": str(ca_file)},
            "agencies": [{"id": f"so-{a}", "name": f"Sở {a}", "kind": "department"}
                         for a in range(len(urls) // 100 + 1)],
            "services": services}


# ------------------------------------------------------------------------ the prober's own process


def worker(catalog_path: str, state: str, concurrency: int) -> None:
    """Load the catalogue, say 'ready', then run one full cycle (probe, metrics, history) per line read."""
    from dvcops.catalog import load_catalog
    from probes.engine import Prober
    from probes.history import History
    from probes.metrics import ProbeMetrics
    from probes.targets import targets_from

    targets = targets_from(load_catalog(catalog_path))
    prober = Prober(targets, ProbeSettings(concurrency=concurrency))
    metrics = ProbeMetrics(targets)
    history = History.in_state(StateDir(state))
    print("ready", flush=True)
    for _ in sys.stdin:
        t0 = time.perf_counter()
        results = asyncio.run(prober.cycle())
        wall = time.perf_counter() - t0
        for t, r in zip(targets, results, strict=True):
            metrics.observe(r, t)
        metrics.exposition()
        history.record(results)
        reasons: dict[str, int] = {}
        for r in results:
            reasons[r.failure_reason or "ok"] = reasons.get(r.failure_reason or "ok", 0) + 1
        print(json.dumps({"n": len(results), "wall": wall, "reasons": reasons}), flush=True)


class Worker:
    def __init__(self, catalog: Path, state: Path, concurrency: int) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.bench_probes", "worker", str(catalog), str(state),
                                      str(concurrency)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd=Path(__file__).resolve().parents[1])
        assert self.proc.stdout is not None and self.proc.stdin is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def cycle(self) -> tuple[dict[str, object], float]:
        """One cycle; returns (summary, CPU seconds the worker spent on it)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        before = cpu_seconds(self.proc.pid)
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        summary = json.loads(self.proc.stdout.readline())
        return summary, cpu_seconds(self.proc.pid) - before

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ------------------------------------------------------------------------ blackbox_exporter


@contextmanager
def blackbox(folder: Path, ca_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    config = folder / "blackbox.yml"
    config.write_text(yaml.safe_dump({"modules": {"http_2xx": {"prober": "http", "timeout": f"{TIMEOUT}s", "http": {
        "preferred_ip_protocol": "ip4", "tls_config": {"ca_file": str(ca_file)}}}}}))
    proc = subprocess.Popen([str(require_program("prometheus-blackbox-exporter")), f"--config.file={config}",
                             f"--web.listen-address={BLACKBOX[0]}:{BLACKBOX[1]}"],
                            stdout=subprocess.DEVNULL, stderr=(folder / "blackbox.log").open("wb"))
    try:
        wait_until_answers(f"http://{BLACKBOX[0]}:{BLACKBOX[1]}/-/healthy", 20, proc, every=0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _blackbox_cycle(urls: list[str]) -> tuple[int, float]:
    """Ask blackbox to probe every URL once, CONCURRENCY at a time, as many Prometheus scrapes would."""
    slots = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT + 5)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async def one(url: str) -> bool:
            async with slots, session.get(f"http://{BLACKBOX[0]}:{BLACKBOX[1]}/probe",
                                          params={"module": "http_2xx", "target": url},
                                          headers={"X-Prometheus-Scrape-Timeout-Seconds": str(TIMEOUT + 0.5)}) as resp:
                return "\nprobe_success 1" in await resp.text()

        t0 = time.perf_counter()
        ok = await asyncio.gather(*(one(u) for u in urls))
        return sum(ok), time.perf_counter() - t0


def blackbox_cycle(proc: subprocess.Popen[bytes], urls: list[str]) -> tuple[int, float, float]:
    before = cpu_seconds(proc.pid)
    ok, wall = asyncio.run(_blackbox_cycle(urls))
    return ok, wall, cpu_seconds(proc.pid) - before


# ------------------------------------------------------------------------ a server that never answers


@contextmanager
def hung_server() -> Iterator[None]:
    loop = asyncio.new_event_loop()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.read(-1), timeout=30)
        except (TimeoutError, ConnectionError):
            pass
        writer.close()

    server = loop.run_until_complete(asyncio.start_server(hold, HUNG[0], HUNG[1], backlog=512))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)


# ------------------------------------------------------------------------ (c) the annual query


def annual_query(folder: Path, n_endpoints: int = 500) -> tuple[float, float, float]:
    """Generate a year of per-minute history for 500 endpoints; time the 2025 report (best and worst of 3)."""
    from probes.history import EndpointRef, History

    tz = ZoneInfo(DEFAULT_TZ)
    rng = random.Random(2025)
    services = [{"id": f"dv-{s}", "name": f"Dịch vụ {s}", "agency": f"so-{s // 10}", "level": "3",
                 "endpoints": [{"url": f"https://dvc.example/{s}/{e}"} for e in range(5)]}
                for s in range(n_endpoints // 5)]
    cat = parse_catalog(yaml.safe_dump({
        "version": 1, "province": {"code": "BM", "name": "Tỉnh Benchmark", "reviewer": "Sở KH&CN"},
        "agencies": [{"id": f"so-{a}", "name": f"Sở {a}", "kind": "department"} for a in range(n_endpoints // 50)],
        "services": services,
        "maintenance": [{"start": "2025-01-05T01:00:00+07:00", "duration": "2h", "every": "week"}]},
        allow_unicode=True))
    history = History(folder / "history.sqlite")
    start, end = datetime(2025, 1, 1, tzinfo=tz), datetime(2026, 1, 1, tzinfo=tz)
    t0 = time.perf_counter()
    for svc in cat.services:
        for ep in svc.endpoints:
            outages = []
            for _ in range(rng.randint(0, 6)):
                at = start + timedelta(minutes=rng.randrange(525_600))
                outages.append((at, at + timedelta(minutes=rng.randint(1, 240))))
            history.backfill(EndpointRef(service=svc.id, agency=svc.agency, endpoint=ep.url, level=svc.level),
                             start, end, outages=outages, maintenance=cat.maintenance, latency_seconds=rng.random())
    generated = time.perf_counter() - t0
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        report = history.report("2025", cat)
        times.append(time.perf_counter() - t0)
    assert len(report.endpoints) == n_endpoints and report.province.attempts > 0
    history.close()
    return min(times), max(times), generated


# ------------------------------------------------------------------------ run


def run() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        lab = Lab(StateDir(tmp / "lab-state"), LabSpec(prefix=PREFIX))
        lab.up()
        try:
            urls = lab_urls(lab, N_TARGETS)
            plain = tmp / "plain.yml"
            plain.write_text(yaml.safe_dump(catalog_for(urls, lab.ca_path, TIMEOUT), allow_unicode=True))
            hung_urls = [f"http://{HUNG[0]}:{HUNG[1]}/e/{i}" if i % 10 == 0 else u for i, u in enumerate(urls)]
            hung = tmp / "hung.yml"
            hung.write_text(yaml.safe_dump(catalog_for(hung_urls, lab.ca_path, TIMEOUT), allow_unicode=True))

            ours = Worker(plain, tmp / "state", CONCURRENCY)
            ours.cycle()  # warm-up: TLS contexts, caches, history file
            summary, our_cpu = ours.cycle()
            ours.close()
            with blackbox(tmp, lab.ca_path) as bb:
                blackbox_cycle(bb, urls)  # warm-up
                bb_ok, bb_wall, bb_cpu = blackbox_cycle(bb, urls)
            our_wall = float(summary["wall"])  # type: ignore[arg-type]
            our_ok = summary["reasons"].get("ok", 0)  # type: ignore[union-attr]
            ours_per_cpu, bb_per_cpu = N_TARGETS / our_cpu, N_TARGETS / bb_cpu
            rows += [
                {"benchmark": "probes", "figure": f"(a) dvcops: 1,000 lab endpoints (half HTTPS), one cycle "
                 f"(probe + metrics + history), {CONCURRENCY} at once",
                 "value": f"{N_TARGETS / our_wall:.0f} probes/s, {our_cpu / N_TARGETS * 1000:.2f} ms CPU per probe, "
                 f"{our_ok} ok", "goal": "", "met": None},
                {"benchmark": "probes", "figure": f"(a) blackbox_exporter 0.23 (Debian): the same 1,000 targets, "
                 f"{CONCURRENCY} scrapes at once",
                 "value": f"{N_TARGETS / bb_wall:.0f} probes/s, {bb_cpu / N_TARGETS * 1000:.2f} ms CPU per probe, "
                 f"{bb_ok} ok", "goal": "", "met": None},
                {"benchmark": "probes", "figure": "(a) probes per CPU second, dvcops vs blackbox_exporter (valid "
                 "only if both got 1,000 ok)",
                 "value": f"{ours_per_cpu:.0f} vs {bb_per_cpu:.0f} ({ours_per_cpu / bb_per_cpu:.2f}x)",
                 "goal": ">= blackbox's", "met": ours_per_cpu >= bb_per_cpu and our_ok == bb_ok == N_TARGETS},
            ]

            with hung_server():
                concurrency = ProbeSettings().concurrency
                ours = Worker(hung, tmp / "state-hung", concurrency)
                ours.cycle()
                summary, _ = ours.cycle()
                ours.close()
            wall = float(summary["wall"])  # type: ignore[arg-type]
            rows.append({"benchmark": "probes", "figure": f"(b) the same with 100 hung, timeout {TIMEOUT:g} s, "
                         f"default concurrency ({concurrency}): cycle time",
                         "value": f"{wall:.2f} s ({summary['reasons']})",
                         "goal": f"<= {TIMEOUT + 1:g} s", "met": wall <= TIMEOUT + 1})
        finally:
            lab.down()
        best, worst, generated = annual_query(tmp)
        rows.append({"benchmark": "probes", "figure": "(c) annual uptime report, 500 endpoints x 1 year per-minute "
                     f"history (generated in {generated:.0f} s), best of 3",
                     "value": f"{best:.3f} s (worst {worst:.3f} s)", "goal": "<= 1 s", "met": worst <= 1.0})
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        print(json.dumps(run(), indent=2, ensure_ascii=False))
