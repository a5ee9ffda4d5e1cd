"""Live progress of a run: what the Locust master knows about once a second, for the operator to watch.

The Locust side (PlanShape.tick, about once a second) writes `progress.json` into the run directory;
the runner reads it while it waits for Locust and hands each new one to the CLI, which redraws one
status line on a terminal and prints a plain line every 10 s otherwise (a CI log stays readable for a
2-hour soak). This module never imports Locust.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ValidationError

from loadtests.thresholds import Observe, Threshold, judge

PROGRESS_FILE = "progress.json"
NEAR = 0.10
"""A threshold still met is "at risk" when its observed value is within 10 % of its limit."""


class Progress(BaseModel):
    elapsed_s: float
    remaining_s: float
    """Planned duration left (the run may stop earlier: request cap, abortOnFail, a refusal)."""
    users: int
    rps: float
    """Current request rate (Locust's rate over the last seconds), not the run's average."""
    requests: int
    failures: int
    p95_ms: float | None
    """p95 of every request so far; None before the first answer."""
    at_risk: str | None = None
    """The first threshold missed so far, else the first within 10 % of its limit."""

    def line(self) -> str:
        fail_ratio = self.failures / self.requests if self.requests else 0.0
        p95 = f"{self.p95_ms:.0f} ms" if self.p95_ms is not None else "—"
        return (f"{clock(self.elapsed_s)} / còn {clock(self.remaining_s)} left · {self.users} users · "
                f"{self.rps:.1f} req/s · {self.requests} requests, {self.failures} failed ({fail_ratio:.2%}) · "
                f"p95 {p95} · at risk: {self.at_risk or 'none'}")

    def write(self, run_dir: Path) -> None:
        path = run_dir / PROGRESS_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def read(cls, run_dir: Path) -> Progress | None:
        try:
            return cls.model_validate(json.loads((run_dir / PROGRESS_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError, ValidationError):
            return None


def clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def at_risk(thresholds: list[Threshold], observe: Observe) -> str | None:
    """The first threshold missed so far, else the first close to its limit; None when all are safe."""
    close: str | None = None
    for t in thresholds:
        result = judge(t, observe)
        if result.observed is None:
            continue
        if not result.ok:
            return f"{result.threshold} (now {result.observed_text})"
        if close is None and _near(t, result.observed):
            close = f"{result.threshold} (now {result.observed_text}, close)"
    return close


def _near(t: Threshold, observed: float) -> bool:
    if t.op in ("<", "<="):
        return t.value > 0 and observed >= t.value * (1 - NEAR)
    if t.op in (">", ">="):
        return observed <= t.value * (1 + NEAR)
    return False
