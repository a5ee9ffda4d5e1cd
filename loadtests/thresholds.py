"""k6-style thresholds: parse `p(95)<800`, `rate<0.01`, `rps>50` from YAML and judge a run by them.

Locust has no thresholds in its core; operators know k6's language, so the file reads like k6's
`thresholds` option::

    thresholds:
      http_req_duration: ["p(95)<800", "p(99)<2000", "avg<300", "med<200", "max<5000"]
      http_req_failed: ["rate<0.01"]
      http_reqs: ["rps>50"]
      http_req_duration{name:portal.search}:
        - {threshold: "p(95)<500", abortOnFail: true, delayAbortEval: 10s}

Durations are milliseconds, `http_req_failed` is the share of failed requests, `http_reqs` counts
requests (`count`) or requests per second (`rate`, or `rps`). `{name:X}` narrows a metric to the
requests named X. A malformed entry is an input error naming the file and line.

This module never imports Locust: the locustfile hands `evaluate` a function that reads its stats.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from dvcops.durations import parse_duration
from dvcops.yamlsource import SourceMap, format_path, parse_source, read_source
from loadtests import yamlinput
from loadtests.errors import LoadTestError

THRESHOLD_DIR = Path(__file__).resolve().parent / "thresholds"

AGGREGATIONS: dict[str, tuple[str, ...]] = {
    "http_req_duration": ("avg", "min", "max", "med", "p(N)"),
    "http_req_failed": ("rate",),
    "http_reqs": ("count", "rate", "rps"),
}
UNITS = {"http_req_duration": "ms", "http_req_failed": "", "http_reqs": ""}
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "===": operator.eq, "!=": operator.ne,
}
_EXPR = re.compile(
    r"^\s*(?P<agg>avg|min|max|med|count|rate|rps|p\(\s*(?P<pct>\d+(?:\.\d+)?)\s*\))"
    r"\s*(?P<op>===|==|!=|<=|>=|<|>)\s*(?P<value>-?\d+(?:\.\d+)?)\s*$"
)
_KEY = re.compile(r"^(?P<metric>[a-z_]+)(?:\{\s*(?P<tag>[a-z_]+)\s*:\s*(?P<tagvalue>[^{}]*?)\s*\})?$")


@dataclass(frozen=True)
class Threshold:
    """One threshold: `metric{name:X}` `aggregation op value`, where it was written and whether it aborts."""

    metric: str
    name: str | None
    aggregation: str
    """avg, min, max, med, p95 (p99.9 ...), count, rate, rps"""
    op: str
    value: float
    expression: str
    abort_on_fail: bool = False
    delay_abort_eval: float = 0.0
    source: str = ""
    """file:line the threshold was read from."""

    @property
    def key(self) -> str:
        return f"{self.metric}{{name:{self.name}}}" if self.name else self.metric

    @property
    def percentile(self) -> float | None:
        return float(self.aggregation[1:]) / 100 if self.aggregation.startswith("p") else None

    def passes(self, observed: float) -> bool:
        return _OPS[self.op](observed, self.value)

    def to_data(self) -> dict[str, Any]:
        return {"metric": self.metric, "name": self.name, "expression": self.expression,
                "abort_on_fail": self.abort_on_fail, "delay_abort_eval": self.delay_abort_eval, "source": self.source}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Threshold:
        return parse_threshold(data["metric"], data["name"], data["expression"], bool(data["abort_on_fail"]),
                               float(data["delay_abort_eval"]), str(data["source"]))


class ThresholdResult(BaseModel):
    """A threshold judged against the run: what was asked, what was observed, met or not."""

    model_config = ConfigDict(frozen=True)

    threshold: str
    """`metric{name:X}: expression`, as written."""
    metric: str
    name: str | None
    expression: str
    observed: float | None
    unit: str
    ok: bool
    abort_on_fail: bool = False
    source: str = ""

    @property
    def observed_text(self) -> str:
        if self.observed is None:
            return "no requests"
        value = f"{self.observed:.4f}".rstrip("0").rstrip(".") if self.metric == "http_req_failed" \
            else f"{self.observed:.1f}".removesuffix(".0")
        return f"{value} {self.unit}".strip()

    @property
    def message(self) -> str:
        return f"{self.threshold} — observed {self.observed_text}: {'met' if self.ok else 'MISSED'}"


def parse_threshold(metric: str, name: str | None, expression: str, abort_on_fail: bool = False,
                    delay_abort_eval: float = 0.0, source: str = "") -> Threshold:
    """Parse one expression for a metric; ValueError says what is expected."""
    if metric not in AGGREGATIONS:
        raise ValueError(f"unknown metric {metric!r}: expected one of {', '.join(AGGREGATIONS)}")
    m = _EXPR.match(expression) if isinstance(expression, str) else None
    if m is None:
        raise ValueError(f"{expression!r} is not a threshold: expected AGGREGATION OPERATOR NUMBER, "
                         f"e.g. p(95)<800 or rate<0.01")
    agg = m["agg"].replace(" ", "")
    allowed = AGGREGATIONS[metric]
    if agg.startswith("p("):
        pct = float(m["pct"])
        if "p(N)" not in allowed:
            raise ValueError(f"{expression!r}: {metric} has no percentiles: expected {', '.join(allowed)}")
        if not 0 < pct <= 100:
            raise ValueError(f"{expression!r}: a percentile is between 0 and 100, e.g. p(95)")
        agg = f"p{m['pct']}"
    elif agg not in allowed:
        raise ValueError(f"{expression!r}: {metric} has no {agg!r}: expected {', '.join(allowed)}")
    return Threshold(metric, name, agg, m["op"], float(m["value"]), expression.strip(), abort_on_fail,
                     delay_abort_eval, source)


def _parse_key(key: Any) -> tuple[str, str | None]:
    m = _KEY.match(key) if isinstance(key, str) else None
    if m is None:
        raise ValueError(f"{key!r} is not a metric: expected e.g. http_req_duration or "
                         f"http_req_duration{{name:portal.search}}")
    if m["metric"] not in AGGREGATIONS:
        raise ValueError(f"unknown metric {m['metric']!r}: expected one of {', '.join(AGGREGATIONS)}")
    if m["tag"] is not None and m["tag"] != "name":
        raise ValueError(f"{key!r}: only the name tag is supported, e.g. {m['metric']}{{name:portal.search}}")
    if m["tag"] is not None and not m["tagvalue"]:
        raise ValueError(f"{key!r}: the request name is empty")
    return m["metric"], m["tagvalue"]


def _entry(item: Any, loc: tuple[str | int, ...], smap: SourceMap, metric: str, name: str | None) -> Threshold:
    source = f"{smap.filename}:{smap.line(loc)}"
    if isinstance(item, str):
        return parse_threshold(metric, name, item, source=source)
    if not isinstance(item, dict):
        raise ValueError(f"{item!r}: expected a string like p(95)<800 or {{threshold: ..., abortOnFail: true}}")
    unknown = sorted(set(item) - {"threshold", "abortOnFail", "delayAbortEval"})
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}: expected threshold, abortOnFail, delayAbortEval")
    if "threshold" not in item:
        raise ValueError("the threshold expression is missing, e.g. {threshold: 'p(95)<800', abortOnFail: true}")
    abort = item.get("abortOnFail", False)
    if not isinstance(abort, bool):
        raise ValueError(f"abortOnFail: {abort!r}: expected true or false")
    delay = item.get("delayAbortEval", 0)
    try:
        delay_s = parse_duration(delay).total_seconds()
    except ValueError as exc:
        raise ValueError(f"delayAbortEval: {exc}") from None
    return parse_threshold(metric, name, item["threshold"], abort, delay_s, source)


def _from_data(data: Any, smap: SourceMap) -> list[Threshold]:
    if not isinstance(data, dict) or not isinstance(data.get("thresholds"), dict):
        raise LoadTestError(f"{smap.filename}:{smap.line(('thresholds',))}: thresholds: expected a mapping "
                            "of metric -> list of expressions, e.g. http_req_duration: ['p(95)<800']")
    unknown = sorted(str(k) for k in data if k != "thresholds")
    if unknown:
        raise LoadTestError(smap.error((unknown[0],), f"unknown key {unknown[0]!r}: expected thresholds"))
    out: list[Threshold] = []
    problems: list[tuple[int, str]] = []

    def problem(loc: tuple[str | int, ...], msg: str) -> None:
        problems.append((smap.line(loc), f"{smap.filename}:{smap.line(loc)}: {format_path(loc)}: {msg}"))

    for key, items in data["thresholds"].items():
        loc: tuple[str | int, ...] = ("thresholds", key)
        try:
            metric, name = _parse_key(key)
        except ValueError as exc:
            problem(loc, str(exc))
            continue
        if isinstance(items, str | dict):
            items = [items]
        if not isinstance(items, list) or not items:
            problem(loc, "expected a list of expressions, e.g. ['p(95)<800']")
            continue
        for i, item in enumerate(items):
            try:
                out.append(_entry(item, (*loc, i), smap, metric, name))
            except ValueError as exc:
                problem((*loc, i), str(exc))
    if problems:
        raise LoadTestError(*[line for _, line in sorted(problems, key=lambda p: p[0])])
    if not out:
        raise LoadTestError(f"{smap.filename}:1: thresholds: no thresholds given")
    return out


def shipped() -> list[str]:
    """Names of the threshold files that ship with dvcops."""
    return yamlinput.shipped(THRESHOLD_DIR)


def load_thresholds(name_or_path: str | Path) -> list[Threshold]:
    """Thresholds from a shipped file by name (default, peak) or a YAML file by path."""
    path = yamlinput.shipped_or_path(name_or_path, THRESHOLD_DIR, "thresholds", "file")
    data, smap = read_source(path, LoadTestError)
    return _from_data(data, smap)


def parse_thresholds(text: str, filename: str = "thresholds.yml") -> list[Threshold]:
    data, smap = parse_source(text, filename, LoadTestError)
    return _from_data(data, smap)


Observe = Callable[[Threshold], float | None]
"""Reads the run's value for a threshold (e.g. p95 of `portal.search` in ms); None when nothing was observed."""


def judge(threshold: Threshold, observe: Observe) -> ThresholdResult:
    observed = observe(threshold)
    ok = observed is not None and threshold.passes(observed)
    return ThresholdResult(threshold=f"{threshold.key}: {threshold.expression}", metric=threshold.metric,
                           name=threshold.name, expression=threshold.expression, observed=observed,
                           unit=UNITS[threshold.metric], ok=ok, abort_on_fail=threshold.abort_on_fail,
                           source=threshold.source)


def evaluate(thresholds: list[Threshold], observe: Observe) -> list[ThresholdResult]:
    """Judge every threshold; a threshold with nothing observed (no such requests) is missed."""
    return [judge(t, observe) for t in thresholds]
