"""k6 threshold syntax: every form the issue lists parses, malformed ones name file and line, judging is exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.errors import LoadTestError
from loadtests.thresholds import Threshold, evaluate, load_thresholds, parse_threshold, parse_thresholds, shipped
from tests.conftest import run_dvcops

GOOD = """\
thresholds:
  http_req_duration: ["p(95)<800", "p(99)<2000", "avg<300", "med<200", "max<5000"]
  http_req_failed: ["rate<0.01"]
  http_reqs: ["rps>50", "count>=100"]
  http_req_duration{name:portal.search}:
    - p(99.9) <= 1500
    - {threshold: "p(95)<500", abortOnFail: true, delayAbortEval: 10s}
"""


def test_every_form_in_the_issue_parses() -> None:
    ts = parse_thresholds(GOOD, "good.yml")
    assert [(t.key, t.aggregation, t.op, t.value) for t in ts] == [
        ("http_req_duration", "p95", "<", 800), ("http_req_duration", "p99", "<", 2000),
        ("http_req_duration", "avg", "<", 300), ("http_req_duration", "med", "<", 200),
        ("http_req_duration", "max", "<", 5000), ("http_req_failed", "rate", "<", 0.01),
        ("http_reqs", "rps", ">", 50), ("http_reqs", "count", ">=", 100),
        ("http_req_duration{name:portal.search}", "p99.9", "<=", 1500),
        ("http_req_duration{name:portal.search}", "p95", "<", 500),
    ]
    last = ts[-1]
    assert last.abort_on_fail and last.delay_abort_eval == 10 and last.name == "portal.search"
    assert last.source == "good.yml:7" and ts[8].source == "good.yml:6"
    assert ts[8].percentile == pytest.approx(0.999)


@pytest.mark.parametrize("line, expected", [
    ('http_req_duration: ["p(95)<<800"]', "'p(95)<<800' is not a threshold: expected AGGREGATION OPERATOR NUMBER"),
    ('http_req_duration: ["p95<800"]', "'p95<800' is not a threshold"),
    ('http_req_duration: ["rate<0.01"]', "http_req_duration has no 'rate': expected avg, min, max, med, p(N)"),
    ('http_req_failed: ["p(95)<800"]', "http_req_failed has no percentiles"),
    ('http_req_duration: ["p(120)<800"]', "a percentile is between 0 and 100"),
    ('http_req_duraton: ["avg<300"]', "unknown metric 'http_req_duraton'"),
    ('"http_reqs{method:GET}": ["rps>1"]', "only the name tag is supported"),
    ('http_reqs: [{threshold: "rps>1", abortOnFail: "yes"}]', "abortOnFail: 'yes': expected true or false"),
    ('http_reqs: [{threshold: "rps>1", delayAbortEval: soon}]', "delayAbortEval: 'soon' is not a duration"),
    ('http_reqs: [{threshhold: "rps>1"}]', "unknown key 'threshhold'"),
    ("http_reqs: []", "expected a list of expressions"),
])
def test_a_malformed_threshold_names_file_line_and_what_is_expected(line: str, expected: str) -> None:
    first = '"http_req_duration{name:portal.home}": [avg<100]'
    text = f"# acceptance for the portal\nthresholds:\n  {first}\n  {line}\n"
    with pytest.raises(LoadTestError) as err:
        parse_thresholds(text, "acceptance.yml")
    assert len(err.value.lines) == 1
    assert err.value.lines[0].startswith("acceptance.yml:4: thresholds.")
    assert expected in err.value.lines[0]


def test_every_problem_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    f = tmp_path / "t.yml"
    f.write_text("thresholds:\n  http_req_duration:\n    - p(95)<800\n    - avg<<1\n  http_reqs: [\"fast\"]\n")
    with pytest.raises(LoadTestError) as err:
        load_thresholds(f)
    assert [x.split(": ")[0] for x in err.value.lines] == [f"{f}:4", f"{f}:5"]


def test_not_yaml_and_wrong_shape_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(LoadTestError, match=r"t.yml:\d+: not valid YAML"):
        parse_thresholds("thresholds:\n  - [unclosed\n", "t.yml")
    with pytest.raises(LoadTestError, match="thresholds: expected a mapping of metric"):
        parse_thresholds("http_req_duration: ['p(95)<800']\n", "t.yml")
    with pytest.raises(LoadTestError, match="no such file"):
        load_thresholds(tmp_path / "missing.yml")
    with pytest.raises(LoadTestError, match="expected one of default, peak"):
        load_thresholds("strictest")


def test_shipped_thresholds_parse() -> None:
    assert shipped() == ["default", "peak"]
    assert [t.expression for t in load_thresholds("default")] == [
        "p(95)<800", "p(99)<2000", "avg<300", "med<200", "max<5000", "rate<0.01"]
    peak = load_thresholds("peak")
    assert any(t.abort_on_fail and t.delay_abort_eval == 60 for t in peak)


def test_judging_compares_the_observed_value_and_misses_when_nothing_was_observed() -> None:
    ts = parse_thresholds(GOOD, "good.yml")
    observed = {("http_req_duration", None, "p95"): 799.0, ("http_req_duration", None, "p99"): 2000.0,
                ("http_req_duration", None, "avg"): 120.5, ("http_req_duration", None, "med"): 90.0,
                ("http_req_duration", None, "max"): 4999.0, ("http_req_failed", None, "rate"): 0.05,
                ("http_reqs", None, "rps"): 50.0, ("http_reqs", None, "count"): 100.0,
                ("http_req_duration", "portal.search", "p95"): 100.0}

    def observe(t: Threshold) -> float | None:
        return observed.get((t.metric, t.name, t.aggregation))

    results = evaluate(ts, observe)
    assert [r.ok for r in results] == [True, False, True, True, True, False, False, True, False, True]
    assert results[1].message == "http_req_duration: p(99)<2000 — observed 2000 ms: MISSED"
    assert results[5].message == "http_req_failed: rate<0.01 — observed 0.05: MISSED"
    assert results[6].message == "http_reqs: rps>50 — observed 50: MISSED"
    assert results[8].message == "http_req_duration{name:portal.search}: p(99.9) <= 1500 — observed no requests: MISSED"


def test_threshold_round_trips_through_plan_data() -> None:
    t = parse_threshold("http_req_failed", "dossier.submit", "rate<0.005", True, 5.0, "f.yml:3")
    assert Threshold.from_data(t.to_data()) == t


def test_thresholds_command_json() -> None:
    res = run_dvcops("loadtest", "thresholds", "peak", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    abort = next(t for t in data if t["abort_on_fail"])
    assert abort == {"key": "http_req_failed", "metric": "http_req_failed", "name": None, "expression": "rate<0.10",
                     "abort_on_fail": True, "delay_abort_eval_s": 60.0, "source": abort["source"]}
    assert abort["source"].endswith("peak.yml:7")
    assert {"key": "http_req_duration{name:dossier.submit}", "expression": "p(95)<1500"}.items() <= \
        next(t for t in data if t["key"] == "http_req_duration{name:dossier.submit}").items()
