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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from dvcops.catalog import Catalog, load_catalog
from dvcops.errors import CatalogError
from dvcops.state import StateDir
from loadtests import userfiles
from loadtests.errors import LoadTestError
from loadtests.plan import Plan, Targets, active_user_types, build_targets, first_http_endpoint, search_terms
from loadtests.profiles import USER_CLASS_NAMES, load_profile
from loadtests.progress import PROGRESS_FILE, Progress
from loadtests.scope import Scope, origin, origin_url
from loadtests.thresholds import load_thresholds
from loadtests.verdict import VERDICT_FILE, Verdict

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
CONNECT_TIMEOUT = 3.0
GRACE = 60.0
"""Seconds a run may take beyond its planned duration (start-up, draining, reports) before it is killed."""
DEFAULT_MASTER_PORT = 5557
POLL = 0.5
"""Seconds between looks at the Locust process (and its progress.json) while waiting for it."""


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
    locustfiles: list[Path] = field(default_factory=list)
    """The operator's own locustfiles or directories (-f); empty: the built-in users."""
    on_progress: Callable[[Progress], None] | None = None
    """Called with each new progress.json (about once a second) while the run goes on."""


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
    files = userfiles.expand(opts.locustfiles) if opts.locustfiles else []
    if files:
        if opts.services or opts.survey:
            raise LoadTestError("--service and --survey choose targets for the built-in users: with -f your User "
                                "classes choose theirs (their host, or --host)")
        targets = Targets(portal=scope.check(opts.host, "--host") if opts.host else None)
        user_types: list[str] = []
    else:
        targets = build_targets(catalog, scope, opts.host, opts.services, opts.survey)
        user_types = active_user_types(profile, targets)
        targets = targets.used_by(user_types)
    check_reachable([url for _, url in targets.urls()])
    state = opts.state or StateDir()
    run_id = f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{profile.name}-{secrets.token_hex(2)}"
    run_dir = (opts.out or state.folder("loadtests", "runs") / run_id).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in (VERDICT_FILE, PROGRESS_FILE):
        (run_dir / stale).unlink(missing_ok=True)
    processes = opts.workers or (opts.expect_workers if opts.mode == "master" else 1)
    plan = Plan(run_id=run_id, run_dir=str(run_dir), catalog=str(opts.catalog), profile=profile,
                thresholds_file=str(thresholds[0].source.rsplit(":", 1)[0]),
                thresholds=[t.to_data() for t in thresholds], targets=targets, user_types=user_types,
                processes=processes, search_terms=search_terms(catalog), service_ids=[s.id for s in catalog.services],
                scope=scope.to_data(), locustfiles=[str(f) for f in files], default_host=_default_host(catalog))
    plan.write(run_dir / "plan.json")
    return plan


def _default_host(catalog: Catalog) -> str | None:
    url = first_http_endpoint(catalog)
    return origin_url(url) if url else None


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
        return cmd if opts.locustfiles else cmd + list(USER_CLASS_NAMES.values())
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
    # the built-in users by name (the locustfile holds all four); with -f every User class of the operator's runs
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
    env.pop(userfiles.ENV, None)
    if plan.locustfiles:
        env[userfiles.ENV] = userfiles.UserCode(files=plan.locustfiles, host=plan.targets.portal,
                                                default_host=plan.default_host).model_dump_json()
    limit = plan.profile.total_duration.total_seconds() + GRACE
    if opts.mode == "master" or opts.workers:
        limit += opts.expect_workers_wait
    returncode = _run_bounded(cmd, env, run_dir / "locust.log", limit, _progress_watcher(run_dir, opts.on_progress))
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
    scope = Scope.from_catalog(catalog)
    files = userfiles.expand(opts.locustfiles) if opts.locustfiles else []
    host = scope.check(opts.host, "--host") if files and opts.host else None
    state = opts.state or StateDir()
    run_dir = (opts.out or state.folder("loadtests", "workers") / datetime.now().strftime("%Y%m%d-%H%M%S")).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    scope_file = run_dir / "scope.json"
    scope_file.write_text(json.dumps(scope.to_data()), encoding="utf-8")
    port = opts.master_port or DEFAULT_MASTER_PORT
    wait_for_master(opts.master_host, port, opts.expect_workers_wait)
    cmd = locust_command(None, opts, run_dir, port)
    env = {**os.environ, "DVCOPS_LOADTEST_SCOPE": str(scope_file), "PYTHONUNBUFFERED": "1"}
    env.pop("DVCOPS_LOADTEST_PLAN", None)
    env.pop(userfiles.ENV, None)
    if files:
        env[userfiles.ENV] = userfiles.UserCode(files=[str(f) for f in files], host=host,
                                                default_host=_default_host(catalog)).model_dump_json()
    limit = profile.total_duration.total_seconds() + GRACE + opts.expect_workers_wait
    returncode = _run_bounded(cmd, env, run_dir / "locust.log", limit)
    if returncode == 2 and (error := _locustfile_error(run_dir / "locust.log")):
        raise LoadTestError(error)
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


def _run_bounded(cmd: list[str], env: dict[str, str], log_path: Path, limit: float,
                 watch: Callable[[], None] | None = None) -> int:
    """Run Locust in its own process group; kill the whole group if it outlives `limit` seconds.
    `watch` is called every POLL seconds while it runs."""
    deadline = time.monotonic() + limit
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)
        try:
            while True:
                try:
                    return proc.wait(timeout=max(0.0, min(POLL, deadline - time.monotonic())))
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline:
                        raise
                if watch is not None:
                    watch()
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            raise LoadTestError(f"locust did not finish within {limit:.0f}s and was stopped (log: {log_path})") \
                from None
        except BaseException:
            _stop_group(proc)
            raise


def _progress_watcher(run_dir: Path, on_progress: Callable[[Progress], None] | None) -> Callable[[], None] | None:
    """Hands each new progress.json to `on_progress` (the Locust master rewrites it about once a second)."""
    if on_progress is None:
        return None
    last: list[Progress | None] = [None]

    def watch() -> None:
        p = Progress.read(run_dir)
        if p is not None and p != last[0]:
            last[0] = p
            on_progress(p)

    return watch


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def _locustfile_error(log: Path) -> str | None:
    """The one line the Locust process printed about the operator's locustfile, if it did."""
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.exists() else []
    return next((x.removeprefix(userfiles.ERROR_MARK) for x in lines if x.startswith(userfiles.ERROR_MARK)), None)


def _no_verdict(returncode: int, run_dir: Path, opts: RunOptions) -> str:
    log = run_dir / "locust.log"
    if error := _locustfile_error(log):
        return error
    lines = [x for x in log.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()] \
        if log.exists() else []
    if any("Gave up waiting for workers" in x for x in lines):
        return (f"workers did not connect within {opts.expect_workers_wait:.0f}s "
                f"(expected {opts.workers or opts.expect_workers}); nothing was sent (log: {log})")
    last = next((x for x in reversed(lines) if "Error" in x or "error" in x), lines[-1] if lines else "no output")
    return f"locust ended with code {returncode} without a verdict: {last.strip()[:200]} (log: {log})"
