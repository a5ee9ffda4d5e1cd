"""Journeys: ordered HTTP steps through an e-service (open the form, submit a dossier, check its status).

A journey is declared per service in the catalogue (dvcops/catalog.py `Journey`): each step has a
method, a URL, a form or JSON body, what the answer must look like, and values to capture for later
steps (`{code}` in a later URL). It runs on its own interval with its own timeout, one attempt at a
time, and stops at the first step that fails: that step is the journey's failure, named in the
metrics (`probe_journey_failed_step{step}`), in the history (the incident's reason) and in the
uptime table.

Fences, checked again at run time although the catalogue already refuses them:
- every request goes to the host its step declares, which is a catalogue host; redirects are not
  followed (a step that expects one says so with `status: 302`), so no answer can send a journey
  elsewhere, and captured values are percent-encoded into URLs;
- a journey that writes data runs only when the prober's `--environment` is in its
  `allow_writes_in` list; elsewhere it is skipped, and the prober says so once at start.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import logging
import re
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, Field

from dvcops.catalog import TEMPLATE_VAR, Catalog, Journey, JourneyStep, Maintenance
from probes.models import FailureReason, State
from probes.placement import check_location, owns, parse_shard
from probes.settings import ProbeSettings

log = logging.getLogger("dvcops.probes")
JOURNEY_PREFIX = "journey:"
"""A journey's rows in the history are those of an endpoint labelled `journey:<name>` of its service."""
DEFAULT_TIMEOUT = 30.0
INTERVAL_FACTOR = 5
"""A journey's default interval is five times its service's: it costs the service more than one GET."""
MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class JourneyTarget:
    service: str
    agency: str
    level: str
    journey: Journey
    interval: float
    timeout: float
    hosts: frozenset[str]
    """The catalogue's hosts: the only ones a step may reach."""
    ca_file: str | None = None
    location: str = ""
    maintenance: tuple[Maintenance, ...] = field(default=(), compare=False)

    @property
    def name(self) -> str:
        return self.journey.name

    @property
    def key(self) -> str:
        return f"{self.service} {JOURNEY_PREFIX}{self.name}"

    @property
    def endpoint(self) -> str:
        """The history's endpoint label for this journey."""
        return f"{JOURNEY_PREFIX}{self.name}"

    def labels(self) -> dict[str, str]:
        labels = {"service": self.service, "agency": self.agency, "level": self.level, "journey": self.name}
        if self.location:
            labels["location"] = self.location
        return labels


class StepResult(BaseModel):
    name: str
    success: bool
    duration_seconds: float
    status_code: int | None = None


class JourneyResult(BaseModel):
    """One run of one journey."""

    service: str
    agency: str
    level: str
    journey: str
    at: datetime
    success: bool
    state: State
    duration_seconds: float
    failed_step: str | None = None
    failure_reason: FailureReason | None = None
    error: str | None = None
    steps: list[StepResult] = Field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"{JOURNEY_PREFIX}{self.journey}"


def journey_state(target: JourneyTarget, success: bool, canary_up: bool, at: datetime | None = None) -> State:
    """As for endpoints: inside a maintenance window `maintenance`, while the canary fails `unknown`."""
    at = at or datetime.now(UTC)
    if any(True for m in target.maintenance for _ in m.windows(at, at + timedelta(microseconds=1))):
        return "maintenance"
    if not canary_up:
        return "unknown"
    return "up" if success else "down"


def writes_allowed(journey: Journey, environment: str | None) -> bool:
    return not journey.writes or (environment is not None and environment in journey.allow_writes_in)


def journey_targets(catalog: Catalog, settings: ProbeSettings) -> list[JourneyTarget]:
    """The journeys this prober runs: its location's and its shard's, writing ones only where allowed."""
    location = check_location(settings.location, catalog)
    shard = parse_shard(settings.shard)
    ca = catalog.ca_path()
    hosts = frozenset(catalog.known_hosts())
    out = []
    for s in catalog.services:
        if not catalog.probes_from(s, location):
            continue
        for j in s.journeys:
            if not owns(shard, s.id, journey=j.name):
                continue
            if not writes_allowed(j, settings.environment):
                log.warning("journey %s/%s writes data and is not allowed in environment %r (allow_writes_in: %s): "
                            "not run", s.id, j.name, settings.environment, ", ".join(j.allow_writes_in) or "none")
                continue
            interval = j.interval.total_seconds() if j.interval else catalog.interval_of(s).total_seconds() * \
                INTERVAL_FACTOR
            out.append(JourneyTarget(
                service=s.id, agency=s.agency, level=s.level, journey=j, interval=interval,
                timeout=j.timeout.total_seconds() if j.timeout else DEFAULT_TIMEOUT, hosts=hosts,
                ca_file=str(ca) if ca else None, location=location or "",
                maintenance=tuple(catalog.maintenance_for(s.id))))
    return out


# ------------------------------------------------------------------------------------ one run


class StepFailed(Exception):
    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason: FailureReason = reason
        self.message = message


def render(text: str, values: dict[str, str], in_url: bool = False) -> str:
    """`{name}` -> the captured value (percent-encoded inside URLs, so a value cannot change the host)."""
    return TEMPLATE_VAR.sub(lambda m: quote(values[m.group(1)], safe="") if in_url else values[m.group(1)], text)


def _render_json(v: Any, values: dict[str, str]) -> Any:
    if isinstance(v, str):
        return render(v, values)
    if isinstance(v, dict):
        return {k: _render_json(x, values) for k, x in v.items()}
    if isinstance(v, list):
        return [_render_json(x, values) for x in v]
    return v


def json_path(data: Any, path: str) -> Any:
    """`items.0.id` over parsed JSON; KeyError when a part is missing."""
    for part in path.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            raise KeyError(part)
    return data


def check_answer(step: JourneyStep, resp: httpx.Response) -> dict[str, str]:
    """StepFailed unless the answer is as expected; the values the step captures otherwise."""
    exp = step.expect
    if resp.status_code not in exp.status:
        raise StepFailed("status", f"HTTP {resp.status_code}, expected {' or '.join(map(str, exp.status))}")
    if exp.body is not None and exp.body not in resp.text:
        raise StepFailed("body", f"the body does not contain {exp.body!r}")
    for name, pattern in exp.headers.items():
        value = resp.headers.get(name)
        if value is None or not fnmatch.fnmatchcase(value.lower(), pattern.lower()):
            raise StepFailed("condition", f"header {name}: {value!r} does not match {pattern!r}")
    captured: dict[str, str] = {}
    for name, cap in step.capture.items():
        try:
            if cap.json_path is not None:
                value = json_path(resp.json(), cap.json_path)
            elif cap.header is not None:
                value = resp.headers[cap.header]
            else:
                m = re.search(cap.regex or "", resp.text)
                if m is None:
                    raise KeyError(cap.regex)
                value = m.group(1)
        except (KeyError, ValueError):
            raise StepFailed("body", f"cannot capture {name}: nothing at {cap.json_path or cap.header or cap.regex!r}"
                             ) from None
        captured[name] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return captured


async def run_steps(target: JourneyTarget, client: httpx.AsyncClient, steps_out: list[StepResult]) -> None:
    values: dict[str, str] = {}
    for step in target.journey.steps:
        url = render(step.url, values, in_url=True)
        host = urlsplit(url).hostname or ""
        if host != urlsplit(step.url).hostname or host not in target.hosts:
            raise _Failed(step.name, StepFailed("condition", f"refused: {host!r} is not a catalogue host"))
        t0 = time.perf_counter()
        status = None
        try:
            resp = await client.request(
                step.method, url, headers={k: render(v, values) for k, v in step.headers.items()},
                data={k: render(v, values) for k, v in step.form.items()} if step.form is not None else None,
                json=_render_json(step.json_body, values) if step.json_body is not None else None)
            status = resp.status_code
            values.update(check_answer(step, resp))
        except StepFailed as exc:
            steps_out.append(StepResult(name=step.name, success=False, duration_seconds=time.perf_counter() - t0,
                                        status_code=status))
            raise _Failed(step.name, exc) from None
        except httpx.HTTPError as exc:
            steps_out.append(StepResult(name=step.name, success=False, duration_seconds=time.perf_counter() - t0))
            raise _Failed(step.name, _reason(exc)) from None
        except asyncio.CancelledError:
            steps_out.append(StepResult(name=step.name, success=False, duration_seconds=time.perf_counter() - t0))
            raise
        steps_out.append(StepResult(name=step.name, success=True, duration_seconds=time.perf_counter() - t0,
                                    status_code=status))


class _Failed(Exception):
    def __init__(self, step: str, cause: StepFailed) -> None:
        super().__init__(cause.message)
        self.step, self.cause = step, cause


def _reason(exc: httpx.HTTPError) -> StepFailed:
    text = f"{exc.__class__.__name__}: {exc}"[:200]
    if isinstance(exc, httpx.TimeoutException):
        return StepFailed("timeout", text)
    if "SSL" in text or "certificate" in text.lower():
        return StepFailed("tls", text)
    if isinstance(exc, httpx.ConnectError):
        return StepFailed("connect", text)
    return StepFailed("status", text)


async def run_journey(target: JourneyTarget, state_of: Callable[[bool], State] | None = None,
                      user_agent: str = "dvcops-probe/0.1") -> JourneyResult:
    """Run the journey's steps in order, in one client (cookies carry over), within the journey's timeout."""
    started = time.time()
    t0 = time.perf_counter()
    steps: list[StepResult] = []
    failed: _Failed | None = None
    verify: Any = target.ca_file if target.ca_file else True
    if target.ca_file:
        import ssl

        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cafile=target.ca_file)
        verify = ctx
    async with httpx.AsyncClient(verify=verify, follow_redirects=False, timeout=target.timeout,
                                 headers={"User-Agent": user_agent}, trust_env=False) as client:
        try:
            async with asyncio.timeout(target.timeout):
                await run_steps(target, client, steps)
        except _Failed as exc:
            failed = exc
        except TimeoutError:
            declared = target.journey.steps
            running = steps and not steps[-1].success
            step = steps[-1].name if running else declared[min(len(steps), len(declared) - 1)].name
            failed = _Failed(step, StepFailed("timeout", f"not done within {target.timeout:g}s"))
    success = failed is None
    state: State = state_of(success) if state_of else ("up" if success else "down")
    return JourneyResult(
        service=target.service, agency=target.agency, level=target.level, journey=target.name,
        at=datetime.fromtimestamp(started, UTC), success=success, state=state,
        duration_seconds=time.perf_counter() - t0, steps=steps,
        failed_step=failed.step if failed else None, failure_reason=failed.cause.reason if failed else None,
        error=f"{failed.step}: {failed.cause.message}" if failed else None)


# ------------------------------------------------------------------------------------ metrics


@dataclass
class _JourneySeries:
    target: JourneyTarget
    labels: str
    latest: JourneyResult | None = None
    attempts: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    """Charged failures by step."""
    excluded: int = 0


class JourneyMetrics:
    """`probe_journey_*` series per journey and step, in the exporter's text format."""

    def __init__(self, targets: Sequence[JourneyTarget] = ()) -> None:
        self.series: dict[str, _JourneySeries] = {}
        self.set_targets(targets)

    def set_targets(self, targets: Sequence[JourneyTarget]) -> None:
        old, self.series = self.series, {}
        for t in targets:
            labels = ",".join(f'{k}="{_escape(v)}"' for k, v in t.labels().items())
            kept = old.get(t.key) or _JourneySeries(t, labels)
            kept.target, kept.labels = t, labels
            kept.failures = {s.name: kept.failures.get(s.name, 0) for s in t.journey.steps}
            self.series[t.key] = kept

    def observe(self, target: JourneyTarget, result: JourneyResult) -> None:
        s = self.series.get(target.key)
        if s is None:
            return
        s.latest = result
        s.attempts += 1
        if result.state in ("unknown", "maintenance"):
            s.excluded += 1
        elif not result.success and result.failed_step:
            s.failures[result.failed_step] = s.failures.get(result.failed_step, 0) + 1

    def exposition(self) -> str:
        out: list[str] = []
        series = list(self.series.values())
        latest = [(s, s.latest) for s in series if s.latest is not None]

        def family(name: str, kind: str, doc: str) -> None:
            out.append(f"# HELP {name} {doc}\n# TYPE {name} {kind}\n")

        if latest:
            family("probe_journey_success", "gauge", "Whether the journey's last run passed every step")
            out += [f"probe_journey_success{{{s.labels}}} {1 if r.success else 0}\n" for s, r in latest]
            family("probe_journey_duration_seconds", "gauge", "How long the journey's last run took")
            out += [f"probe_journey_duration_seconds{{{s.labels}}} {r.duration_seconds!r}\n" for s, r in latest]
            family("probe_journey_step_duration_seconds", "gauge", "Duration of each step of the last run")
            out += [f'probe_journey_step_duration_seconds{{{s.labels},step="{_escape(st.name)}"}} '
                    f"{st.duration_seconds!r}\n" for s, r in latest for st in r.steps]
            family("probe_journey_step_success", "gauge", "Whether each step reached in the last run passed")
            out += [f'probe_journey_step_success{{{s.labels},step="{_escape(st.name)}"}} {1 if st.success else 0}\n'
                    for s, r in latest for st in r.steps]
            failing = [(s, r) for s, r in latest if r.failed_step]
            if failing:
                family("probe_journey_failed_step", "gauge", "The step at which the last run failed (value 1)")
                out += [f'probe_journey_failed_step{{{s.labels},step="{_escape(r.failed_step or "")}",'
                        f'reason="{r.failure_reason or ""}"}} 1\n' for s, r in failing]
        if series:
            family("probe_journey_attempts_total", "counter", "Journey runs")
            out += [f"probe_journey_attempts_total{{{s.labels}}} {s.attempts}\n" for s in series]
            family("probe_journey_failures_total", "counter", "Charged journey failures, by the step that failed")
            out += [f'probe_journey_failures_total{{{s.labels},step="{_escape(step)}"}} {n}\n'
                    for s in series for step, n in s.failures.items()]
            family("probe_journey_excluded_total", "counter", "Journey runs not charged (maintenance, canary down)")
            out += [f"probe_journey_excluded_total{{{s.labels}}} {s.excluded}\n" for s in series]
        return "".join(out)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


# ------------------------------------------------------------------------------------ schedule


JourneySink = Callable[[JourneyTarget, JourneyResult], None]


class JourneyRunner:
    """Runs each journey on its own interval (fixed rate, never overlapping itself), spread by a stable offset."""

    def __init__(self, targets: Sequence[JourneyTarget], state_of: Callable[[JourneyTarget, bool], State]) -> None:
        self.targets = list(targets)
        self.state_of = state_of

    async def run(self, on_result: JourneySink, stop: asyncio.Event) -> None:
        tasks: dict[str, tuple[JourneyTarget, asyncio.Task[None]]] = {}
        try:
            while not stop.is_set():
                wanted = {t.key: t for t in self.targets}
                for key in [k for k, (t, _) in tasks.items() if wanted.get(k) != t]:
                    tasks.pop(key)[1].cancel()
                for key, t in wanted.items():
                    if key not in tasks:
                        tasks[key] = (t, asyncio.create_task(self._schedule(t, on_result, stop)))
                try:
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
                except TimeoutError:
                    pass
        finally:
            for _, task in tasks.values():
                task.cancel()
            await asyncio.gather(*(task for _, task in tasks.values()), return_exceptions=True)

    async def _schedule(self, target: JourneyTarget, on_result: JourneySink, stop: asyncio.Event) -> None:
        due = time.monotonic() + (zlib.crc32(target.key.encode()) % 1000) / 1000 * min(target.interval, 5.0)
        while not stop.is_set():
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            result = await run_journey(target, lambda ok, t=target: self.state_of(t, ok))  # type: ignore[misc]
            on_result(target, result)
            now = time.monotonic()
            while due <= now:
                due += target.interval
