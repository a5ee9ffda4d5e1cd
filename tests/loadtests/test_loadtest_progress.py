"""Progress: a plain line every 10 s by default when the output is not a terminal; what counts as at risk."""

from __future__ import annotations

import io

from rich.console import Console

from dvcops.durations import parse_duration
from loadtests.cli import PROGRESS_EVERY, progress_display
from loadtests.progress import Progress, at_risk
from loadtests.thresholds import Threshold, parse_thresholds


def progress(elapsed: float, requests: int = 100) -> Progress:
    return Progress(elapsed_s=elapsed, remaining_s=60 - elapsed, users=10, rps=25.0, requests=requests,
                    failures=1, p95_ms=120.0)


def test_not_a_terminal_one_line_each_10_seconds() -> None:
    assert parse_duration(PROGRESS_EVERY).total_seconds() == 10
    buffer = io.StringIO()
    out = Console(file=buffer, width=200)
    assert not out.is_terminal
    with progress_display(out, "Load test", 10) as show:
        for tick in range(36):  # Locust's shape ticks about once a second, a little late at times
            show(progress(tick + 0.3 * (tick % 3)))
    lines = buffer.getvalue().splitlines()
    assert [x.split(" / còn")[0] for x in lines] == ["Tiến độ / progress 00:10", "Tiến độ / progress 00:20",
                                                      "Tiến độ / progress 00:30"]
    assert lines[0].endswith("10 users · 25.0 req/s · 100 requests, 1 failed (1.00%) · p95 120 ms · at risk: none")


def _observe(values: dict[str, float]):  # type: ignore[no-untyped-def]
    return lambda t: values.get(t.key)


def test_at_risk_is_the_first_missed_threshold_else_the_first_close_one() -> None:
    thresholds: list[Threshold] = parse_thresholds(
        "thresholds:\n  http_req_duration: ['p(95)<800']\n  http_req_failed: ['rate<0.01']\n  http_reqs: ['rps>50']\n")
    assert at_risk(thresholds, _observe({"http_req_duration": 300, "http_req_failed": 0.0, "http_reqs": 80})) is None
    assert at_risk(thresholds, _observe({"http_req_duration": 760, "http_req_failed": 0.0, "http_reqs": 52})) == \
        "http_req_duration: p(95)<800 (now 760 ms, close)"
    assert at_risk(thresholds, _observe({"http_req_duration": 760, "http_req_failed": 0.02, "http_reqs": 80})) == \
        "http_req_failed: rate<0.01 (now 0.02)"
    assert at_risk(thresholds, _observe({})) is None  # nothing observed yet
