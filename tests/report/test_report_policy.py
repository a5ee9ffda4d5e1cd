"""The report's policy file is read like every YAML input: a bad file is one `file:line: field: message`
line and exit 2 through `dvcops report`; DVCOPS_REPORT_POLICY points at a province's own file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from subprocess import CompletedProcess

from report.policy import POLICY_FILE, policy_for
from tests.report.conftest import CATALOG

Cli = Callable[..., CompletedProcess[str]]
SHIPPED = POLICY_FILE.read_text(encoding="utf-8")


def test_bad_report_policy_is_one_line_and_exit_2(tmp_path: Path, dvcops_cli: Cli) -> None:
    old = "      satisfaction_green: 0.95"
    assert SHIPPED.count(old) == 1
    line = SHIPPED[:SHIPPED.index(old)].count("\n") + 1
    path = tmp_path / "policy.yml"
    path.write_text(SHIPPED.replace(old, "      satisfaction_green: high"), encoding="utf-8")
    res = dvcops_cli("report", "--catalog", str(CATALOG), "--period", "2025-H1", "--format", "json",
                     "--out", str(tmp_path / "r.json"), env={"DVCOPS_REPORT_POLICY": str(path)})
    assert res.returncode == 2, res.stderr
    assert res.stderr.splitlines() == [f"{path}:{line}: versions[0].thresholds.satisfaction_green: 'high': "
                                       "Input should be a valid number, unable to parse string as a number"]
    assert not (tmp_path / "r.json").exists()


def test_missing_field_points_at_its_parent(tmp_path: Path) -> None:
    text = SHIPPED.replace('  - version: "2022-10"\n    effective: 2022-10-01\n', '  - version: "2022-10"\n')
    assert text != SHIPPED
    path = tmp_path / "policy.yml"
    path.write_text(text, encoding="utf-8")
    line = text[:text.index('  - version: "2022-10"')].count("\n") + 1
    from report.errors import ReportError
    try:
        policy_for(date(2026, 1, 1), path)
    except ReportError as exc:
        assert exc.lines == [f"{path}:{line}: versions[0].effective: required field is missing"]
    else:
        raise AssertionError("a policy version without `effective` was accepted")
