"""The verdict of a run: every threshold with its observed value, totals, achieved RPS, pass or fail.

Written by the Locust master's `quitting` hook as `verdict.json` in the run directory, read back by
the runner (for the exit code) and by anyone attaching it to an acceptance record. This module
never imports Locust.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dvcops.state import StateDir
from loadtests.thresholds import ThresholdResult

VERDICT_FILE = "verdict.json"
EXIT_PASS, EXIT_MISSED, EXIT_INPUT = 0, 1, 2


class RequestRow(BaseModel):
    """Figures for one request name (or the total): counts, milliseconds, requests per second."""

    model_config = ConfigDict(frozen=True)

    name: str
    method: str = ""
    requests: int
    failures: int
    fail_ratio: float
    avg_ms: float
    min_ms: float
    med_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    rps: float


class Arrival(BaseModel):
    """Target arrival rate against what the run achieved (Locust is a closed model: users are paced)."""

    target_rps: float
    achieved_rps: float
    ratio: float


class WorkerCount(BaseModel):
    worker: str
    requests: int


class Verdict(BaseModel):
    verdict: str
    """pass | fail | refused"""
    exit_code: int
    run_id: str
    profile: str
    thresholds_file: str
    started: str
    ended: str
    duration_s: float
    stopped_by: str
    """duration | request cap | abortOnFail: <threshold> | refused by a worker"""
    targets: dict[str, object]
    user_types: list[str]
    """The built-in user types that ran, or with -f the names of the operator's User classes."""
    locustfiles: list[str] = Field(default_factory=list)
    """The operator's locustfiles (-f); empty when the built-in users ran."""
    request_cap: int
    totals: RequestRow
    achieved_rps: float
    arrival: Arrival | None = None
    requests: list[RequestRow] = Field(default_factory=list)
    thresholds: list[ThresholdResult] = Field(default_factory=list)
    missed: list[str] = Field(default_factory=list)
    """One line per missed threshold, naming it and its observed value."""
    errors: list[str] = Field(default_factory=list)
    """The most frequent request failures, `count × name: error`."""
    exceptions: list[str] = Field(default_factory=list)
    """Exceptions raised in the users' code (`count × message`); any of them fails the run."""
    warnings: list[str] = Field(default_factory=list)
    """Why the figures may not be trusted (e.g. the load generator's own CPU was saturated)."""
    workers: list[WorkerCount] = Field(default_factory=list)
    refused: list[str] = Field(default_factory=list)
    reports: dict[str, str] = Field(default_factory=dict)

    def write(self, run_dir: Path) -> Path:
        path = run_dir / VERDICT_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, run_dir: Path) -> Verdict:
        return cls.model_validate_json((run_dir / VERDICT_FILE).read_text(encoding="utf-8"))


def runs(state: StateDir | None = None) -> list[tuple[Path, Verdict]]:
    """The read API for the report: every finished run under <state>/loadtests/runs, newest first."""
    folder = (state or StateDir()).path("loadtests", "runs", mkdir=False)
    out: list[tuple[Path, Verdict]] = []
    for run_dir in sorted(folder.glob("*/"), reverse=True) if folder.is_dir() else []:
        try:
            out.append((run_dir, Verdict.read(run_dir)))
        except (FileNotFoundError, ValidationError, ValueError):
            continue  # running, interrupted, or written by another version: not a verdict to report
    return sorted(out, key=lambda rv: rv[1].ended, reverse=True)


def decide(results: list[ThresholdResult], refused: list[str], exceptions: int = 0) -> tuple[str, int, list[str]]:
    """(verdict, exit code, missed lines): refused by a worker -> 2, a threshold missed or an exception in
    the users' code (they did not do what the profile says) -> 1, else 0."""
    missed = [r.message for r in results if not r.ok]
    if exceptions:
        missed.append(f"the users' code raised {exceptions} exception(s): see exceptions and locust_exceptions.csv")
    if refused:
        return "refused", EXIT_INPUT, missed
    return ("fail", EXIT_MISSED, missed) if missed else ("pass", EXIT_PASS, missed)


def summary_lines(v: Verdict) -> list[str]:
    """The verdict as plain lines for a terminal or a log (Vietnamese first, English after)."""
    head = {"pass": "ĐẠT / PASS", "fail": "KHÔNG ĐẠT / FAIL", "refused": "TỪ CHỐI / REFUSED"}.get(v.verdict, v.verdict)
    t = v.totals
    lines = [
        f"Kết quả / verdict: {head} (exit {v.exit_code}) — profile {v.profile}, {v.duration_s:.0f} s, "
        f"stopped by {v.stopped_by}",
        f"Requests: {t.requests} ({t.failures} failed, {t.fail_ratio:.2%}), {v.achieved_rps:.1f} req/s, "
        f"avg {t.avg_ms:.0f} ms, p95 {t.p95_ms:.0f} ms, max {t.max_ms:.0f} ms",
    ]
    if v.arrival:
        lines.append(f"Arrival rate: target {v.arrival.target_rps:g} req/s, achieved {v.arrival.achieved_rps:.1f} "
                     f"({v.arrival.ratio:.0%})")
    for r in v.thresholds:
        lines.append(f"  {'✓' if r.ok else '✗'} {r.message}")
    lines += [f"  ✗ {m}" for m in v.missed if m.startswith("the users' code")]
    lines += [f"  ! {w}" for w in v.warnings]
    lines += [f"  refused: {r}" for r in v.refused]
    return lines
