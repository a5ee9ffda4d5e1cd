"""The prober: checks in flight at once (bounded), one cycle or a schedule, and the canary.

- `cycle()` probes every target once (what `dvcops probe once` runs).
- `run()` probes each target every `interval` (fixed rate, never overlapping itself; the first
  probe is spread over the interval by a stable per-target offset so 1,000 targets do not fire in
  the same second) until stopped or a time limit, and hands results to `on_results`.
- Every check is bounded by its target's timeout and releases its sockets when it ends, so a hung
  server costs its own timeout and nothing more.
- The canary: when it fails, results are `unknown` (the prober's own uplink is down) and nobody
  is charged. Attempts inside a catalogue maintenance window are `maintenance`.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
import zlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from probes.checks import CheckEnv, Observed, run_check
from probes.errors import ProbeError
from probes.models import ProbeResult, State
from probes.settings import ProbeSettings
from probes.targets import Target, canary_target
from probes.verdict import Verdict, judge

log = logging.getLogger("dvcops.probes")

ResultSink = Callable[[list[tuple[Target, ProbeResult]]], Awaitable[None] | None]


def in_maintenance(target: Target, at: datetime) -> bool:
    return any(True for m in target.maintenance for _ in m.windows(at, at + timedelta(microseconds=1)))


def to_result(target: Target, obs: Observed, verdict: Verdict, state: State) -> ProbeResult:
    return ProbeResult(
        service=target.service, agency=target.agency, level=target.level, endpoint=target.endpoint,
        kind=target.kind, at=datetime.fromtimestamp(obs.started, UTC), success=verdict.success, state=state,
        failure_reason=verdict.reason, error=verdict.error, duration_seconds=obs.duration,
        status_code=obs.status_code, phases=obs.phases, redirects=obs.redirects, http_version=obs.http_version,
        content_length=obs.content_length, body_bytes=obs.body_bytes, ssl=obs.ssl, ip=obs.ip,
        connected=obs.connected, cert=obs.cert, dns_rcode=obs.dns_rcode, dns_answers=obs.dns_answers,
        failed_conditions=list(verdict.failed_conditions),
    )


def check_ca_files(targets: Sequence[Target]) -> None:
    """A missing CA file is the catalogue's mistake: say so once, before probing."""
    for ca in sorted({t.ca_file for t in targets if t.ca_file}):
        if not Path(ca).is_file():
            raise ProbeError(f"defaults.ca_file: {ca} does not exist (a PEM bundle of the CAs to trust)")


def fd_budget(concurrency: int) -> int:
    """Raise the soft open-files limit so `concurrency` probes fit (a probe holds at most two sockets:
    the connection and a DNS query, or the second TLS handshake); return the concurrency that fits."""
    need = concurrency * 2 + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    fits = concurrency if soft == resource.RLIM_INFINITY else max(1, (soft - 64) // 2)
    if fits < concurrency:
        log.warning("open-files limit %d allows %d probes at once, not %d", soft, fits, concurrency)
    return min(concurrency, fits)


class Prober:
    def __init__(self, targets: Sequence[Target], settings: ProbeSettings | None = None) -> None:
        self.settings = settings or ProbeSettings()
        self.concurrency = fd_budget(self.settings.concurrency)
        self.targets = list(targets)
        check_ca_files(self.targets)
        self.env = CheckEnv(max_body_bytes=self.settings.max_body_bytes, max_redirects=self.settings.max_redirects,
                            resolver=self.settings.resolver)
        ca = next((t.ca_file for t in self.targets if t.ca_file), None)
        self.canary = canary_target(self.settings.canary, ca_file=ca) if self.settings.canary else None
        self.canary_up = True
        """The canary's last verdict (True when there is no canary)."""
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None

    def replace_targets(self, targets: Sequence[Target]) -> None:
        check_ca_files(targets)
        self.targets = list(targets)

    @property
    def slots(self) -> asyncio.Semaphore:
        """The concurrency bound, one per event loop (each `asyncio.run` has its own)."""
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots_loop is not loop:
            self._slots, self._slots_loop = asyncio.Semaphore(self.concurrency), loop
        return self._slots

    async def observe(self, target: Target) -> tuple[Observed, Verdict]:
        async with self.slots:
            obs = await run_check(target, self.env)
        return obs, judge(target, obs)

    def state_of(self, target: Target, obs: Observed, verdict: Verdict) -> State:
        at = datetime.fromtimestamp(obs.started, UTC)
        if target.maintenance and in_maintenance(target, at):
            return "maintenance"
        if not self.canary_up:
            return "unknown"
        return "up" if verdict.success else "down"

    async def probe(self, target: Target) -> ProbeResult:
        obs, verdict = await self.observe(target)
        return to_result(target, obs, verdict, self.state_of(target, obs, verdict))

    async def check_canary(self) -> bool:
        if self.canary is None:
            return True
        _, verdict = await self.observe(self.canary)
        if verdict.success != self.canary_up:
            log.warning("canary %s is %s%s", self.canary.url, "up" if verdict.success else "DOWN",
                        "" if verdict.success else f" ({verdict.error}): results are recorded as unknown")
        self.canary_up = verdict.success
        return verdict.success

    async def cycle(self, targets: Sequence[Target] | None = None) -> list[ProbeResult]:
        """Probe each target once, concurrently (bounded). With a canary, it is asked before the cycle
        and again after it if anything failed; if either time it failed, the whole cycle is unknown."""
        chosen = list(self.targets if targets is None else targets)
        await self.check_canary()
        observed = await asyncio.gather(*(self.observe(t) for t in chosen))
        if self.canary is not None and self.canary_up and any(not v.success for _, v in observed):
            await self.check_canary()
        return [to_result(t, obs, v, self.state_of(t, obs, v)) for t, (obs, v) in zip(chosen, observed, strict=True)]

    async def run(self, on_results: ResultSink, stop: asyncio.Event | None = None,
                  duration: float | None = None) -> None:
        """Probe every target on its own schedule until `stop` is set or `duration` seconds pass.

        `replace_targets` (a catalogue reload) takes effect within a second: schedules are rebuilt,
        targets that stay keep their phase."""
        stop = stop or asyncio.Event()
        deadline = time.monotonic() + duration if duration is not None else None
        tasks: dict[str, tuple[Target, asyncio.Task[None]]] = {}
        await self.check_canary()  # know the canary's verdict before the first probe is charged
        canary_task = asyncio.create_task(self._canary_loop(stop)) if self.canary else None
        try:
            while not stop.is_set():
                wanted = {t.key: t for t in self.targets}
                for key in [k for k, (t, _) in tasks.items() if wanted.get(k) != t]:
                    tasks.pop(key)[1].cancel()
                for key, target in wanted.items():
                    if key not in tasks:
                        tasks[key] = (target, asyncio.create_task(self._schedule(target, on_results, stop)))
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                try:
                    await asyncio.wait_for(stop.wait(), timeout=min(1.0, remaining) if remaining else 1.0)
                except TimeoutError:
                    pass
        finally:
            stop.set()
            everything = [task for _, task in tasks.values()] + ([canary_task] if canary_task else [])
            for task in everything:
                task.cancel()
            await asyncio.gather(*everything, return_exceptions=True)

    def first_offset(self, target: Target) -> float:
        """A stable offset within the interval, so restarts keep each target's phase."""
        spread = (zlib.crc32(target.key.encode()) % 10_000) / 10_000
        return spread * target.interval * self.settings.jitter

    async def _schedule(self, target: Target, on_results: ResultSink, stop: asyncio.Event) -> None:
        due = time.monotonic() + self.first_offset(target)
        while not stop.is_set():
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            result = await self.probe(target)
            outcome = on_results([(target, result)])
            if outcome is not None:
                await outcome
            now = time.monotonic()
            while due <= now:  # a probe longer than the interval skips ticks instead of piling up
                due += target.interval

    async def _canary_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.check_canary()
            await asyncio.sleep(self.settings.canary_interval)
