"""The locustfile `dvcops loadtest run` gives Locust (`python -m locust -f loadtests/locustfile.py`).

It wires the plan into Locust, in the Locust process only (gevent monkey-patches everything, so
the dvcops CLI never imports this module):

- the plan comes from `$DVCOPS_LOADTEST_PLAN` (plan.json); a master also forwards it to remote
  workers, which check every target against their own scope (`$DVCOPS_LOADTEST_SCOPE`) and refuse
  to send anything outside it;
- the User classes Locust finds here are the built-in users, or with `-f` the operator's own
  (userfiles.py); either way every request passes the gate (guard.py: scope, then request budget);
- `PlanShape` runs the profile's stages, writes progress.json about once a second, and stops the
  run at the end, at the request cap, when an `abortOnFail` threshold fails, when a worker refused
  the plan or when a request was refused as out of scope;
- the `quitting` hook on the master (or the only process) judges the thresholds once against the
  aggregated stats, writes verdict.json and sets the exit code: 0 met, 1 missed, 2 refused;
- workers count their own requests and report them, so the verdict can show each worker's share.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from locust import LoadTestShape, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import RequestStats, StatsEntry

from loadtests import guard, userfiles
from loadtests.errors import LoadTestError
from loadtests.guard import BUDGET, GATE, OUT_OF_SCOPE
from loadtests.plan import Plan
from loadtests.progress import Progress, at_risk
from loadtests.scope import Scope, origin_url
from loadtests.thresholds import Observe, Threshold, evaluate, judge
from loadtests.users import USER_CLASSES, configure
from loadtests.verdict import Arrival, RequestRow, Verdict, WorkerCount, decide

PLAN_ENV = "DVCOPS_LOADTEST_PLAN"
SCOPE_ENV = "DVCOPS_LOADTEST_SCOPE"
PLAN_OPTION = "dvcops_plan"
"""Key under which a master's parsed options carry the plan to its workers (Locust forwards custom options)."""
REFUSED_MESSAGE = "dvcops_refused"
RATE_WINDOW = 5.0
"""Seconds over which the progress line's current request rate is measured."""
log = logging.getLogger("dvcops.loadtest")


class RunState:
    """What this Locust process knows about the run."""

    def __init__(self) -> None:
        self.plan: Plan | None = None
        self.started = time.time()
        self.stop_reason: str | None = None
        self.requests = 0
        """Requests this process completed (a worker's stats are cleared after each report; this is not)."""
        self.workers: dict[str, int] = {}
        self.refused: list[str] = []
        self.counts: deque[tuple[float, int]] = deque()
        """(run time, requests so far) at recent ticks: the current request rate for the progress line."""


STATE = RunState()
USER_CODE = userfiles.UserCode.from_env()
"""The operator's locustfiles (`-f`), or None for the built-in users."""


def apply_plan(plan: Plan) -> None:
    """The plan's budget for this process; the built-in users also take their weights and think times from it."""
    STATE.plan = plan
    if USER_CODE is None:
        configure(plan)
    BUDGET.set(plan.process_budget)


guard.install()
if os.environ.get(SCOPE_ENV):  # a worker for a master elsewhere: its own catalogue's scope, whatever it is sent
    GATE.set_scope(Scope.read(Path(os.environ[SCOPE_ENV])))
if os.environ.get(PLAN_ENV):
    _plan = Plan.read(os.environ[PLAN_ENV])
    apply_plan(_plan)
    if not os.environ.get(SCOPE_ENV):
        GATE.set_scope(Scope.from_data(_plan.scope))


# ------------------------------------------------------------------ reading Locust's stats


def entry_for(stats: RequestStats, name: str | None) -> StatsEntry | None:
    """The stats of requests named `name` (all methods merged), or the total for None."""
    if name is None:
        return stats.total
    entries = [e for (n, _), e in stats.entries.items() if n == name]
    if len(entries) <= 1:
        return entries[0] if entries else None
    merged = StatsEntry(stats, name, "", use_response_times_cache=False)
    for e in entries:
        merged.extend(e)
    return merged


def observer(stats: RequestStats) -> Observe:
    """The value a threshold talks about, read from Locust's (aggregated) stats; None without requests."""

    def observe(t: Threshold) -> float | None:
        e = entry_for(stats, t.name)
        if e is None or e.num_requests == 0:
            return None
        if t.metric == "http_req_failed":
            return float(e.fail_ratio)
        if t.metric == "http_reqs":
            return float(e.num_requests) if t.aggregation == "count" else float(e.total_rps)
        if t.percentile is not None:
            return percentile(e, t.percentile)
        return {"avg": float(e.avg_response_time), "min": float(e.min_response_time or 0),
                "max": float(e.max_response_time), "med": float(e.median_response_time)}[t.aggregation]

    return observe


def percentile(e: StatsEntry, fraction: float) -> float:
    """Locust's percentile, kept within [min, max]: Locust stores times rounded to two significant
    digits above 100 ms (1568 ms is counted as 1600), so a raw percentile can exceed the slowest request."""
    value = float(e.get_response_time_percentile(fraction))
    return max(float(e.min_response_time or 0), min(value, float(e.max_response_time)))


def row(e: StatsEntry, name: str | None = None) -> RequestRow:
    n = e.num_requests
    pct = (lambda p: percentile(e, p)) if n else (lambda p: 0.0)
    return RequestRow(name=name or e.name, method=e.method or "", requests=n, failures=e.num_failures,
                      fail_ratio=round(e.fail_ratio, 6), avg_ms=round(e.avg_response_time, 2),
                      min_ms=float(e.min_response_time or 0), med_ms=float(e.median_response_time) if n else 0.0,
                      p95_ms=pct(0.95), p99_ms=pct(0.99), max_ms=float(e.max_response_time),
                      rps=round(float(e.total_rps), 3))


# ------------------------------------------------------------------ the load shape


class PlanShape(LoadTestShape):
    """The profile's stages; also where the master stops a run early (cap, abortOnFail, refusal)."""

    def tick(self) -> tuple[int, float] | None:
        plan = STATE.plan
        if plan is None or STATE.stop_reason:
            return None
        run_time = self.get_run_time()
        self.check_limits(plan, run_time)
        write_progress(self.runner, plan, run_time)
        if STATE.stop_reason:
            log.warning("stopping the run: %s", STATE.stop_reason)
            return None
        elapsed, rate = 0.0, None
        for stage in plan.profile.plan_stages:
            rate = stage.spawn_rate or rate or float(max(stage.users, 1))
            elapsed += stage.duration.total_seconds()
            if run_time < elapsed:
                return stage.users, rate
        STATE.stop_reason = "duration"
        return None

    def check_limits(self, plan: Plan, run_time: float) -> None:
        assert self.runner is not None
        stats = self.runner.stats
        if out_of_scope(stats):
            STATE.stop_reason = "a request outside the scope (refused)"
            return
        if stats.total.num_requests >= plan.request_cap or (BUDGET.spent and not _distributed(self.runner)):
            STATE.stop_reason = f"request cap ({plan.request_cap} requests)"
            return
        observe = observer(stats)
        for t in plan.threshold_list():
            if t.abort_on_fail and run_time >= t.delay_abort_eval:
                result = judge(t, observe)
                if result.observed is not None and not result.ok:
                    STATE.stop_reason = f"abortOnFail: {result.message}"
                    return


def _distributed(runner: Any) -> bool:
    return isinstance(runner, MasterRunner | WorkerRunner)


def current_rate(run_time: float, requests: int) -> float:
    """Requests per second over the last ~5 s (Locust's own current_rps leaves out the latest seconds, and a
    master hears from its workers every 3 s)."""
    STATE.counts.append((run_time, requests))
    while len(STATE.counts) > 2 and run_time - STATE.counts[1][0] >= RATE_WINDOW:
        STATE.counts.popleft()
    t0, n0 = STATE.counts[0]
    return round((requests - n0) / (run_time - t0), 1) if run_time > t0 else 0.0


def out_of_scope(stats: RequestStats) -> list[str]:
    """Requests the gate refused (in any process: workers report their failures to the master)."""
    return [f"{e.occurrences} × {e.method} {e.name}: {e.error}" for e in stats.errors.values()
            if str(e.error).startswith(OUT_OF_SCOPE)]


def write_progress(runner: Any, plan: Plan, run_time: float) -> None:
    """progress.json for the runner to show (about once a second, from PlanShape.tick)."""
    stats = runner.stats
    total = stats.total
    p95 = percentile(total, 0.95) if total.num_requests else None
    Progress(elapsed_s=round(run_time, 1),
             remaining_s=round(max(0.0, plan.profile.total_duration.total_seconds() - run_time), 1),
             users=int(runner.user_count), rps=current_rate(run_time, total.num_requests),
             requests=total.num_requests,
             failures=total.num_failures, p95_ms=p95,
             at_risk=at_risk(plan.threshold_list(), observer(stats))).write(Path(plan.run_dir))


# ------------------------------------------------------------------ events


@events.init.add_listener
def on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        if STATE.plan is not None and environment.parsed_options is not None:
            vars(environment.parsed_options)[PLAN_OPTION] = STATE.plan.model_dump_json()
        runner.register_message(REFUSED_MESSAGE, on_refused)
    if isinstance(runner, WorkerRunner):
        if environment.parsed_options is not None:
            environment.parsed_options.json_file = None  # the master writes the JSON report, not each worker
        environment.events.request.add_listener(count_request)
        environment.events.report_to_master.add_listener(report_count)


def count_request(**_: Any) -> None:
    STATE.requests += 1


def report_count(client_id: str, data: dict[str, Any], **_: Any) -> None:
    data["dvcops_requests"] = STATE.requests


@events.worker_report.add_listener
def on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
    if "dvcops_requests" in data:
        STATE.workers[client_id] = int(data["dvcops_requests"])


def on_refused(environment: Environment, msg: Any, **_: Any) -> None:
    STATE.refused.append(f"worker {msg.node_id}: {msg.data['reason']}")
    STATE.stop_reason = "refused by a worker"


@events.test_start.add_listener
def on_test_start(environment: Environment, **_: Any) -> None:
    STATE.started = time.time()
    runner = environment.runner
    if isinstance(runner, WorkerRunner) and os.environ.get(SCOPE_ENV) and not os.environ.get(PLAN_ENV):
        accept_remote_plan(environment, runner)


def accept_remote_plan(environment: Environment, runner: WorkerRunner) -> None:
    """A worker on another machine: take the master's plan only if every target is in our own scope."""
    scope = Scope.read(Path(os.environ[SCOPE_ENV]))
    text = getattr(environment.parsed_options, PLAN_OPTION, None)
    try:
        if not text:
            raise LoadTestError("the master sent no dvcops plan (is it running `dvcops loadtest run --master`?)")
        plan = Plan.model_validate_json(text)
        for what, url in plan.targets.urls():
            scope.check(url, what)
    except LoadTestError as exc:
        reason = exc.lines[0]
        log.error("refusing the master's plan: %s", reason)
        STATE.refused.append(reason)
        runner.send_message(REFUSED_MESSAGE, {"reason": reason})
        return
    except ValueError as exc:
        reason = f"the master's plan is not valid: {str(exc).splitlines()[0]}"
        STATE.refused.append(reason)
        runner.send_message(REFUSED_MESSAGE, {"reason": reason})
        return
    apply_plan(plan)


@events.test_stop.add_listener
def on_test_stop(environment: Environment, **_: Any) -> None:
    """Name the real target host(s) in Locust's HTML report (the built-in users have no base host; it is
    written after the run stops, when no user will be spawned with it)."""
    if isinstance(environment.runner, WorkerRunner) or STATE.plan is None:
        return
    hosts = {origin_url(url) for _, url in STATE.plan.targets.urls()}
    hosts |= {str(cls.host) for cls in environment.user_classes if cls.host}
    if hosts:
        environment.host = ", ".join(sorted(hosts))


@events.quitting.add_listener
def on_quitting(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        finish_worker(environment, runner)
        return
    if STATE.plan is None:
        return
    verdict = build_verdict(environment, STATE.plan)
    verdict.write(Path(STATE.plan.run_dir))
    environment.process_exit_code = verdict.exit_code


def finish_worker(environment: Environment, runner: WorkerRunner) -> None:
    """Record this worker's own request count next to the master's verdict (when they share a disk)."""
    if STATE.refused:
        environment.process_exit_code = 2
    if STATE.plan is None or not os.environ.get(PLAN_ENV):
        log.info("worker %s sent %d requests", runner.client_id, STATE.requests)
        return
    folder = Path(STATE.plan.run_dir) / "workers"
    folder.mkdir(exist_ok=True)
    data = {"worker": runner.client_id, "pid": os.getpid(), "requests": STATE.requests}
    (folder / f"{runner.client_id}.json").write_text(json.dumps(data), encoding="utf-8")


def build_verdict(environment: Environment, plan: Plan) -> Verdict:
    stats = environment.stats
    results = evaluate(plan.threshold_list(), observer(stats))
    raised = list(environment.runner.exceptions.values()) if environment.runner else []
    refused = STATE.refused + out_of_scope(stats)
    verdict, code, missed = decide(results, refused, sum(int(x["count"]) for x in raised))
    total = row(stats.total, "Total")
    achieved = round(float(stats.total.total_rps), 3)
    target = plan.profile.arrival_rate
    errors = sorted(stats.errors.values(), key=lambda e: -e.occurrences)[:5]
    ended = time.time()
    return Verdict(
        verdict=verdict, exit_code=code, run_id=plan.run_id, profile=plan.profile.name,
        thresholds_file=plan.thresholds_file,
        started=datetime.fromtimestamp(STATE.started, UTC).isoformat(timespec="seconds"),
        ended=datetime.fromtimestamp(ended, UTC).isoformat(timespec="seconds"),
        duration_s=round(ended - STATE.started, 1), stopped_by=STATE.stop_reason or "interrupted",
        targets=plan.targets.model_dump(exclude={"ca_file"}),
        user_types=plan.user_types or sorted(environment.user_classes_by_name), locustfiles=plan.locustfiles,
        request_cap=plan.request_cap, totals=total, achieved_rps=achieved,
        arrival=Arrival(target_rps=target, achieved_rps=achieved, ratio=round(achieved / target, 3))
        if target else None,
        requests=[row(e) for _, e in sorted(stats.entries.items())],
        thresholds=results, missed=missed,
        errors=[f"{e.occurrences} × {e.name}: {e.error}" for e in errors],
        exceptions=[f"{x['count']} × {str(x['msg']).strip()[:200]}" for x in raised],
        warnings=load_generator_warnings(environment),
        workers=[WorkerCount(worker=w, requests=n) for w, n in sorted(STATE.workers.items())],
        refused=refused,
        reports={"html": "report.html", "csv": "locust_stats.csv", "json": "locust.json", "log": "locust.log"},
    )


def load_generator_warnings(environment: Environment) -> list[str]:
    """Locust flags a load generator above 90% CPU: its response times are then inflated by itself."""
    runner = environment.runner
    hot = bool(getattr(runner, "cpu_warning_emitted", False) or getattr(runner, "worker_cpu_warning_emitted", False))
    return ["the load generator's CPU went above 90%: response times may include its own delay; "
            "use --workers or more machines"] if hot else []


# ------------------------------------------------------------------ the User classes Locust runs

if USER_CODE is None:
    globals().update({cls.__name__: cls for cls in USER_CLASSES.values()})
else:
    try:
        globals().update(userfiles.load(USER_CODE.files, GATE.scope, USER_CODE.host, USER_CODE.default_host))
    except LoadTestError as exc:
        userfiles.fail(exc)
