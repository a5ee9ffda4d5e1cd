"""Run a load test: check everything, start Locust as a subprocess, wait (bounded), read the verdict.

Locust monkey-patches the whole interpreter with gevent, so it always runs in its own process
(`python -m locust -f loadtests/locustfile.py --headless ...`); this module never imports it.
Order matters for the fences: the catalogue, profile and thresholds are validated and every
target is checked against the scope before any connection is made; only then does a TCP check see
whether the targets answer (unreachable is an input error, exit 2), and only then does Locust start.

Modes: one process (default); `workers=N`: a master and N local workers (Locust `--processes`);
`master`: a master waiting (bounded) for `expect_workers` workers from other machines; `worker`:
a worker that connects to a master and checks the master's plan against its own catalogue.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from dvcops.catalog import load_catalog
from dvcops.errors import CatalogError
from dvcops.state import StateDir
from loadtests.errors import LoadTestError
from loadtests.plan import Plan, active_user_types, build_targets, search_terms
from loadtests.profiles import USER_CLASS_NAMES, load_profile
from loadtests.scope import Scope, origin
from loadtests.thresholds import load_thresholds
from loadtests.verdict import VERDICT_FILE, Verdict

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
CONNECT_TIMEOUT = 3.0
GRACE = 60.0
"""Seconds a run may take beyond its planned duration (start-up, draining, reports) before it is killed."""
DEFAULT_MASTER_PORT = 5557


@dataclass
class RunOptions:
    catalog: Path
    profile: str
    thresholds: str | None = None
    host: str | None = None
    services: list[str] = field(default_factory=list)
    survey: str | None = None
    mode: Literal["local", "master", "worker"] = "local"
    workers: int = 0
    """Local workers (a master and N workers on this machine); 0 runs in one process."""
    master_host: str = "127.0.0.1"
    """worker: the master to connect to."""
    master_port: int | None = None
    master_bind_host: str = "127.0.0.1"
    """Address the master listens on for workers (a loopback address unless workers are remote)."""
    expect_workers: int = 1
    expect_workers_wait: float = 60.0
    out: Path | None = None
    state: StateDir | None = None


@dataclass
class RunResult:
    run_dir: Path
    exit_code: int
    verdict: Verdict | None
    """None for a worker: the master holds the verdict."""
    command: list[str]


def prepare(opts: RunOptions) -> Plan:
    """Validate inputs, check scope and reachability, create the run directory and write plan.json."""
    if opts.workers < 0 or opts.workers > 64:
        raise LoadTestError(f"--workers {opts.workers}: expected 0 (one process) to 64")
    if opts.mode == "local" and opts.workers and opts.workers > (os.cpu_count() or 1) * 4:
        raise LoadTestError(f"--workers {opts.workers}: more than 4 per CPU core only slows the load generator")
    try:
        catalog = load_catalog(opts.catalog)
    except CatalogError as exc:
        raise LoadTestError(*exc.lines) from None
    profile = load_profile(opts.profile)
    thresholds_name = opts.thresholds or "default"
    thresholds = load_thresholds(thresholds_name)
    scope = Scope.from_catalog(catalog)
    targets = build_targets(catalog, scope, opts.host, opts.services, opts.survey)
    user_types = active_user_types(profile, targets)
    targets = targets.used_by(user_types)
    check_reachable([url for _, url in targets.urls()])
    state = opts.state or StateDir()
    run_id = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{profile.name}-{secrets.token_hex(2)}"
    run_dir = (opts.out or state.folder("loadtests", "runs") / run_id).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    stale = run_dir / VERDICT_FILE
    stale.unlink(missing_ok=True)
    processes = opts.workers or (opts.expect_workers if opts.mode == "master" else 1)
    plan = Plan(run_id=run_id, run_dir=str(run_dir), catalog=str(opts.catalog), profile=profile,
                thresholds_file=str(thresholds[0].source.rsplit(":", 1)[0]),
                thresholds=[t.to_data() for t in thresholds], targets=targets, user_types=user_types,
                processes=processes, search_terms=search_terms(catalog), service_ids=[s.id for s in catalog.services])
    plan.write(run_dir / "plan.json")
    return plan


def check_reachable(urls: list[str]) -> None:
    """One TCP connection to each target origin (all already in scope); refused or silent -> exit 2."""
    seen: set[tuple[str, int]] = set()
    for url in urls:
        _, host, port = origin(url)
        if (host, port) in seen:
            continue
        seen.add((host, port))
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
                pass
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            if isinstance(exc, TimeoutError | socket.timeout):
                reason = f"no answer within {CONNECT_TIMEOUT:.0f}s"
            raise LoadTestError(f"target {url} is unreachable: {reason.lower()}; nothing was sent") from None


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def locust_command(plan: Plan | None, opts: RunOptions, run_dir: Path, master_port: int) -> list[str]:
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
           "--loglevel", "INFO"]
    if opts.mode == "worker":
        cmd += ["--worker", "--master-host", opts.master_host, "--master-port", str(master_port)]
        if opts.workers > 1:
            cmd += ["--processes", str(opts.workers)]
        return cmd + list(USER_CLASS_NAMES.values())
    assert plan is not None
    cmd += ["--csv", str(run_dir / "locust"), "--html", str(run_dir / "report.html"),
            "--json-file", str(run_dir / "locust"),
            "--stop-timeout", str(int(plan.profile.stop_timeout.total_seconds()))]
    if opts.mode == "master" or opts.workers:
        cmd += ["--master-bind-host", opts.master_bind_host, "--master-bind-port", str(master_port),
                "--expect-workers-max-wait", str(int(opts.expect_workers_wait))]
    if opts.mode == "master":
        cmd += ["--master", "--expect-workers", str(opts.expect_workers)]
    elif opts.workers:
        cmd += ["--processes", str(opts.workers), "--master-host", opts.master_bind_host,
                "--master-port", str(master_port)]
    return cmd + [USER_CLASS_NAMES[t] for t in plan.user_types]


def run(opts: RunOptions) -> RunResult:
    """Run one load test to the end (bounded) and return its verdict and exit code."""
    if opts.mode == "worker":
        return run_worker(opts)
    plan = prepare(opts)
    run_dir = Path(plan.run_dir)
    port = opts.master_port or (DEFAULT_MASTER_PORT if opts.mode == "master" else free_port(opts.master_bind_host))
    cmd = locust_command(plan, opts, run_dir, port)
    env = {**os.environ, "DVCOPS_LOADTEST_PLAN": str(run_dir / "plan.json"), "PYTHONUNBUFFERED": "1"}
    env.pop("DVCOPS_LOADTEST_SCOPE", None)
    limit = plan.profile.total_duration.total_seconds() + GRACE
    if opts.mode == "master" or opts.workers:
        limit += opts.expect_workers_wait
    returncode = _run_bounded(cmd, env, run_dir / "locust.log", limit)
    if not (run_dir / VERDICT_FILE).exists():
        raise LoadTestError(_no_verdict(returncode, run_dir, opts))
    verdict = Verdict.read(run_dir)
    return RunResult(run_dir, verdict.exit_code, verdict, cmd)


def run_worker(opts: RunOptions) -> RunResult:
    """A worker for a master elsewhere: it checks the master's plan against this catalogue's scope."""
    try:
        catalog = load_catalog(opts.catalog)
    except CatalogError as exc:
        raise LoadTestError(*exc.lines) from None
    profile = load_profile(opts.profile)
    state = opts.state or StateDir()
    run_dir = (opts.out or state.folder("loadtests", "workers") / datetime.now().strftime("%Y%m%d-%H%M%S")).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    scope_file = run_dir / "scope.json"
    scope_file.write_text(json.dumps(Scope.from_catalog(catalog).to_data()), encoding="utf-8")
    port = opts.master_port or DEFAULT_MASTER_PORT
    wait_for_master(opts.master_host, port, opts.expect_workers_wait)
    cmd = locust_command(None, opts, run_dir, port)
    env = {**os.environ, "DVCOPS_LOADTEST_SCOPE": str(scope_file), "PYTHONUNBUFFERED": "1"}
    env.pop("DVCOPS_LOADTEST_PLAN", None)
    limit = profile.total_duration.total_seconds() + GRACE + opts.expect_workers_wait
    returncode = _run_bounded(cmd, env, run_dir / "locust.log", limit)
    # 1 only says this worker saw failed requests: the master's verdict judges the run
    return RunResult(run_dir, 0 if returncode in (0, 1) else 2, None, cmd)


def wait_for_master(host: str, port: int, wait: float) -> None:
    """Bounded wait until the master listens (Locust's own worker would retry for five minutes)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise LoadTestError(f"master {host}:{port} did not answer within {wait:.0f}s; nothing was sent") \
                    from None
            time.sleep(0.5)


def _run_bounded(cmd: list[str], env: dict[str, str], log_path: Path, limit: float) -> int:
    """Run Locust in its own process group; kill the whole group if it outlives `limit` seconds."""
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        try:
            return proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            raise LoadTestError(f"locust did not finish within {limit:.0f}s and was stopped (log: {log_path})") \
                from None
        except BaseException:
            _stop_group(proc)
            raise


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def _no_verdict(returncode: int, run_dir: Path, opts: RunOptions) -> str:
    log = run_dir / "locust.log"
    lines = [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()] \
        if log.exists() else []
    if any("Gave up waiting for workers" in x for x in lines):
        return (f"workers did not connect within {opts.expect_workers_wait:.0f}s "
                f"(expected {opts.workers or opts.expect_workers}); nothing was sent (log: {log})")
    last = next((x for x in reversed(lines) if "Error" in x or "error" in x), lines[-1] if lines else "no output")
    return f"locust ended with code {returncode} without a verdict: {last.strip()[:200]} (log: {log})"
