"""The engine: hung targets wait side by side, concurrency is bounded, no leaked sockets, the canary's
`unknown`, maintenance, and the per-endpoint schedule.

Behaviour only, read from what the attempts recorded (start and duration) and what the servers saw; how long
a cycle with hung targets takes is a figure of bench/bench_probes.py ((b): 1,000 targets, 100 hung)."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from dvcops.catalog import Maintenance
from probes.engine import Prober
from probes.models import ProbeResult
from probes.settings import ProbeSettings
from probes.targets import Target
from tests.probes.conftest import target
from tests.probes.servers import HTTP, HUNG, HUNG_PORT, ProbeTestServers

pytestmark = pytest.mark.usefixtures("servers")
OK = f"http://{HTTP}:8080/ok"


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _span(r: ProbeResult) -> tuple[float, float]:
    """When an attempt started and ended (as it recorded them), in seconds since the epoch."""
    return r.at.timestamp(), r.at.timestamp() + r.duration_seconds


def test_hung_targets_wait_side_by_side_and_hold_up_no_one(servers: ProbeTestServers) -> None:
    """20 hung targets among 80 good ones, 64 slots: the hung server holds all 20 connections at once (a hung
    target costs its own timeout, not the others'), each ends as a timeout, and the good ones are answered."""
    hung = [target(f"http://{HUNG}:{HUNG_PORT}/{i}", timeout=2.0, service=f"hung-{i}") for i in range(20)]
    ok = [target(f"{OK}?n={i}", timeout=1.0, service=f"ok-{i}") for i in range(80)]
    servers.hung.reset()
    results = asyncio.run(Prober(hung + ok, ProbeSettings(concurrency=64)).cycle())
    assert servers.hung.accepted == 20 and servers.hung.peak == 20
    by_reason = {r.service: r.failure_reason for r in results}
    assert all(by_reason[f"hung-{i}"] == "timeout" for i in range(20))
    assert all(by_reason[f"ok-{i}"] is None for i in range(80))
    hung_spans = [_span(r) for r in results if r.service.startswith("hung-")]
    assert max(start for start, _ in hung_spans) < min(end for _, end in hung_spans)  # all in flight together


def test_concurrency_is_bounded(servers: ProbeTestServers) -> None:
    """With one slot, 3 hung targets are tried one after the other: no attempt starts before the last one ended."""
    hung = [target(f"http://{HUNG}:{HUNG_PORT}/{i}", timeout=0.4, service=f"h{i}") for i in range(3)]
    servers.hung.reset()
    results = asyncio.run(Prober(hung, ProbeSettings(concurrency=1)).cycle())
    assert servers.hung.accepted == 3 and [r.failure_reason for r in results] == ["timeout"] * 3
    spans = sorted(map(_span, results))
    # 1 ms for the two clocks an attempt is recorded with (wall-clock start, monotonic duration)
    assert all(later_start >= earlier_end - 0.001 for (_, earlier_end), (later_start, _) in pairwise(spans)), spans


def test_no_sockets_leak() -> None:
    targets = [target(f"http://{HUNG}:{HUNG_PORT}/", timeout=0.3, service="hung"),
               target(f"http://{HTTP}:8099/", service="refused"), target(OK, service="ok"),
               target(f"tcp://{HTTP}:8080", service="tcp")]
    prober = Prober(targets)

    async def cycles() -> list[int]:
        counts = []
        for _ in range(3):
            await prober.cycle()
            await asyncio.sleep(0.05)
            counts.append(_open_fds())
        return counts

    counts = asyncio.run(cycles())
    assert counts[0] == counts[1] == counts[2], counts


def test_failed_canary_makes_results_unknown() -> None:
    targets = [target(OK, service="ok"), target(f"http://{HTTP}:8099/", service="refused")]
    down = Prober(targets, ProbeSettings(canary=f"tcp://{HTTP}:8099"))
    results = asyncio.run(down.cycle())
    assert [r.state for r in results] == ["unknown", "unknown"]
    assert [r.success for r in results] == [True, False]  # what was observed is kept; only the charge changes
    up = Prober(targets, ProbeSettings(canary=f"tcp://{HTTP}:8080"))
    assert [r.state for r in asyncio.run(up.cycle())] == ["up", "down"]


def test_attempts_in_a_maintenance_window_are_not_charged() -> None:
    now = datetime.now(UTC)
    window = Maintenance(start=now - timedelta(minutes=5), duration=timedelta(minutes=30))
    later = Maintenance(start=now + timedelta(hours=1), duration=timedelta(minutes=30))
    t_in = Target(service="in", agency="a", level="3", endpoint="x", url=f"http://{HTTP}:8099/", maintenance=(window,))
    t_out = Target(service="out", agency="a", level="3", endpoint="x", url=f"http://{HTTP}:8099/",
                   maintenance=(later,))
    results = asyncio.run(Prober([t_in, t_out]).cycle())
    assert [(r.state, r.failure_reason) for r in results] == [("maintenance", "connect"), ("down", "connect")]


def test_schedule_probes_each_target_on_its_interval() -> None:
    """Never early: the k-th attempt of a target starts no sooner than k intervals after the run began (a busy
    machine can only make it later), and a target with a shorter interval is probed more often."""
    fast = Target(service="fast", agency="a", level="3", endpoint=OK, url=OK, interval=0.5, timeout=0.4)
    slow = Target(service="slow", agency="a", level="3", endpoint=OK, url=OK, interval=2.0, timeout=0.4)
    seen: list[ProbeResult] = []
    prober = Prober([fast, slow], ProbeSettings(jitter=0))
    began = time.time()
    asyncio.run(prober.run(lambda pairs: seen.extend(r for _, r in pairs), duration=2.2))
    starts = {s: sorted(r.at.timestamp() - began for r in seen if r.service == s) for s in ("fast", "slow")}
    for service, interval in (("fast", 0.5), ("slow", 2.0)):
        assert all(start >= k * interval - 0.01 for k, start in enumerate(starts[service])), starts
    assert len(starts["fast"]) >= 3 and 1 <= len(starts["slow"]) < len(starts["fast"]), starts


def test_first_probe_offsets_are_spread_and_stable() -> None:
    targets = [Target(service=f"s{i}", agency="a", level="3", endpoint=OK, url=OK, interval=60) for i in range(200)]
    prober = Prober(targets)
    offsets = [prober.first_offset(t) for t in targets]
    assert offsets == [Prober(targets).first_offset(t) for t in targets]
    assert all(0 <= o < 60 for o in offsets)
    assert sum(o < 30 for o in offsets) in range(70, 131)  # roughly half in each half of the interval


def test_one_prober_serves_several_event_loops() -> None:
    """The CLI and the demo call asyncio.run(prober.cycle()) more than once."""
    prober = Prober([target(OK)], ProbeSettings(concurrency=2))
    assert [asyncio.run(prober.cycle())[0].success for _ in range(3)] == [True, True, True]
