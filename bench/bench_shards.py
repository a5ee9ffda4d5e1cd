"""Probes by shards: 20,000 endpoints probed every 60 s by 4 `dvcops probe serve --shard I/4` processes, scraped
by Debian's Prometheus with the config `dvcops probe config prometheus --shards 4` renders; the same with 1,000
endpoints in the same run. Figures: CPU per probe at both sizes (goal: 20,000 within 1.2x of 1,000; it includes serving
/metrics to Prometheus every 60 s and writing the history), probes per second reached, Prometheus series
and scrape duration.

The targets: one lightweight asyncio process (`python -m bench.bench_shards target`) answering a fixed
`200 ok` on 127.0.114.1-10:8080; probers on 127.0.114.21-24:9115, Prometheus on 127.0.114.30:9090. Each
phase waits one interval (the first probes are spread over it), then measures the next interval.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from dvcops.system import require_program, stop_process, wait_until_answers

PREFIX = "127.0.114"
TARGETS = [(f"{PREFIX}.{i}", 8080) for i in range(1, 11)]
PROBERS = [f"{PREFIX}.{21 + i}:9115" for i in range(4)]
PROMETHEUS = f"{PREFIX}.30:9090"
INTERVAL = 60
SHARDS = 4
SIZES = (1_000, 20_000)
SCRAPE = "60s"
"""Scrape as often as the endpoints are probed: a 15 s scrape of 60 s probes writes every series four times
per probe (at 20,000 endpoints, 820,000 series of which 3/4 say nothing new)."""
ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def target_server() -> None:
    """A fixed answer on every target address: little CPU per request, so the probers' is what is measured."""
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nok"

    class Answer(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buf = b""

        def data_received(self, data: bytes) -> None:
            self.buf += data
            if b"\r\n\r\n" in self.buf:
                self.transport.write(reply)  # type: ignore[attr-defined]
                self.transport.close()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for host, port in TARGETS:
            await loop.create_server(Answer, host, port, backlog=4096, reuse_address=True)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def catalog(n: int) -> dict[str, object]:
    services = [{"id": f"dv-{i // 20}", "name": f"Dịch vụ {i // 20}", "agency": f"so-{i // 1000}", "level": "3",
                 "endpoints": []} for i in range(0, n, 20)]
    for i in range(n):
        host, port = TARGETS[i % len(TARGETS)]
        services[i // 20]["endpoints"].append({"url": f"http://{host}:{port}/e/{i}"})  # type: ignore[attr-defined]
    return {"version": 1, "province": {"code": "BM", "name": "Tỉnh Benchmark", "reviewer": "Sở KH&CN"},
            "defaults": {"interval": f"{INTERVAL}s", "timeout": "5s"},
            "agencies": [{"id": f"so-{a}", "name": f"Sở {a}", "kind": "department"} for a in range(n // 1000 + 1)],
            "locations": [{"name": "dc"}], "services": services}


def query(expr: str) -> float:
    body = httpx.get(f"http://{PROMETHEUS}/api/v1/query", params={"query": expr}, timeout=30).json()
    result = body["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def prober_attempts(address: str) -> float:
    """Attempts a prober has made (its own counters, read the way Prometheus reads them)."""
    text = httpx.get(f"http://{address}/metrics", timeout=60).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("probe_attempts_total{"))


def phase(n: int, folder: Path) -> dict[str, float]:
    """Run 4 shards over n endpoints with Prometheus; measure one interval after one interval of warm-up."""
    folder.mkdir()
    cat = folder / "catalog.yml"
    cat.write_text(yaml.safe_dump(catalog(n), allow_unicode=True), encoding="utf-8")
    prom_yml = folder / "prometheus.yml"
    # rendered for one address (shard I on PORT + I - 1); here each shard has an address of its own
    rendered = subprocess.run([sys.executable, "-m", "dvcops", "probe", "config", "prometheus", "--catalog",
                               str(cat), "--locations", f"dc={PROBERS[0]}", "--shards", str(SHARDS),
                               "--scrape-interval", SCRAPE], check=True,
                              cwd=ROOT, capture_output=True, text=True).stdout
    config = yaml.safe_load(rendered)
    for job, address in zip(config["scrape_configs"], PROBERS, strict=True):
        job["static_configs"][0]["targets"] = [address]
    prom_yml.write_text(yaml.safe_dump(config))
    env = {**os.environ, "DVCOPS_PROBE_JITTER": "1.0"}
    probers = [subprocess.Popen([sys.executable, "-m", "dvcops", "probe", "serve", "--catalog", str(cat), "--listen",
                                 address, "--location", "dc", "--shard", f"{i + 1}/{SHARDS}", "--state",
                                 str(folder / f"state-{i + 1}")], cwd=ROOT, env=env,
                                stdout=(folder / f"serve-{i + 1}.log").open("wb"), stderr=subprocess.STDOUT)
               for i, address in enumerate(PROBERS)]
    prom = subprocess.Popen([str(require_program("prometheus")), f"--config.file={prom_yml}",
                             f"--storage.tsdb.path={folder / 'tsdb'}", f"--web.listen-address={PROMETHEUS}"],
                            stdout=(folder / "prometheus.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        for p, address in zip(probers, PROBERS, strict=True):
            wait_until_answers(f"http://{address}/-/healthy", 60, p, every=0.5)
        wait_until_answers(f"http://{PROMETHEUS}/-/ready", 60, prom, every=0.5)
        time.sleep(INTERVAL + 20)  # every endpoint probed once, Prometheus has scraped them all
        # per prober, its CPU then its counters, at the start and at the end: each prober's window is the same
        # length even when reading 5,000 endpoints' metrics takes seconds on a busy host
        start = [(cpu_seconds(p.pid), prober_attempts(a), time.monotonic()) for p, a in zip(probers, PROBERS,
                                                                                            strict=True)]
        time.sleep(INTERVAL)
        end = [(cpu_seconds(p.pid), prober_attempts(a), time.monotonic()) for p, a in zip(probers, PROBERS,
                                                                                          strict=True)]
        cpu = sum(e[0] - s[0] for s, e in zip(start, end, strict=True))
        attempts = sum(e[1] - s[1] for s, e in zip(start, end, strict=True))
        wall = sum(e[2] - s[2] for s, e in zip(start, end, strict=True)) / len(start)
        own = httpx.get(f"http://{PROMETHEUS}/metrics", timeout=30).text
        return {
            "n": n, "cpu": cpu, "wall": wall, "attempts": attempts,
            "ms_per_probe": cpu / attempts * 1000 if attempts else float("nan"),
            "endpoints_seen": query("count(probe_success)"), "ok": query("sum(probe_success)"),
            "series": next(float(line.split()[-1]) for line in own.splitlines()
                           if line.startswith("prometheus_tsdb_head_series ")),
            "scrape_max": query('max(scrape_duration_seconds{job="dvcops_prober"})'),
            "scrape_samples": query('sum(scrape_samples_post_metric_relabeling{job="dvcops_prober"})'),
            "dropped": query('sum(scrape_samples_scraped{job="dvcops_prober"}) - '
                             'sum(scrape_samples_post_metric_relabeling{job="dvcops_prober"})'),
        }
    finally:
        stop_process(prom)
        for p in probers:
            stop_process(p)


def run() -> list[dict[str, object]]:
    target = subprocess.Popen([sys.executable, "-m", "bench.bench_shards", "target"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout is not None and target.stdout.readline().strip() == "ready"
        with tempfile.TemporaryDirectory(prefix="dvcops-bench-shards-") as tmp:
            results = {n: phase(n, Path(tmp) / f"n{n}") for n in SIZES}
        target_cpu = cpu_seconds(target.pid)
    finally:
        target.terminate()
        target.wait(timeout=10)
    small, big = results[SIZES[0]], results[SIZES[1]]
    ratio = big["ms_per_probe"] / small["ms_per_probe"]
    rows: list[dict[str, object]] = []
    for r in (small, big):
        rows.append({"benchmark": "shards",
                     "figure": f"{int(r['n']):,} endpoints every {INTERVAL} s by {SHARDS} shards: probes in one "
                               "interval, CPU of the 4 probers per probe",
                     "value": f"{r['attempts']:.0f} probes ({r['attempts'] / r['wall']:.0f}/s, expected "
                              f"{r['n'] / INTERVAL:.0f}/s), {r['ms_per_probe']:.3f} ms CPU per probe, "
                              f"{r['ok']:.0f}/{r['endpoints_seen']:.0f} endpoints up in Prometheus",
                     "goal": f"every endpoint once per interval ({int(r['n']):,} seen)",
                     "met": r["endpoints_seen"] == r["n"] and r["attempts"] >= 0.97 * r["n"]})
        rows.append({"benchmark": "shards", "figure": f"{int(r['n']):,} endpoints: Prometheus head series, slowest "
                     "shard scrape, samples dropped by the shards' hashmod keep rules",
                     "value": f"{r['series']:.0f} series, {r['scrape_max'] * 1000:.0f} ms, "
                              f"{r['scrape_samples']:.0f} samples per scrape round, {r['dropped']:.0f} dropped",
                     "goal": "0 dropped (each prober exposes only its shard)", "met": r["dropped"] == 0})
    rows.append({"benchmark": "shards", "figure": "CPU per probe at 20,000 / at 1,000 (same run)",
                 "value": f"{ratio:.2f}x ({big['ms_per_probe']:.3f} vs {small['ms_per_probe']:.3f} ms; target "
                          f"server {target_cpu:.0f} s CPU in all)", "goal": "<= 1.2x", "met": ratio <= 1.2})
    return rows


if __name__ == "__main__":
    if sys.argv[1:] == ["target"]:
        target_server()
