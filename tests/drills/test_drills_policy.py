"""The drills policy is read like every YAML input: a bad file is one `file:line: field: message` line and
exit 2 through the CLI, never a traceback. DVCOPS_DRILL_POLICY points at a province's own file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from drills.errors import DrillError
from drills.policy import POLICY_FILE, load_policy

Cli = Callable[..., CompletedProcess[str]]
SHIPPED = POLICY_FILE.read_text(encoding="utf-8")
GOOD_LINE = "default: {drill_months: 12, check_months: 12}"


def _write(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The shipped policy with `old` replaced by `new`; the path and the (1-based) line of the change."""
    assert SHIPPED.count(old) == 1
    path = tmp_path / "policy.yml"
    path.write_text(SHIPPED.replace(old, new), encoding="utf-8")
    return path, SHIPPED[:SHIPPED.index(old)].count("\n") + 1


def test_bad_value_in_policy_file_is_one_line_and_exit_2(tmp_path: Path, dvcops_cli: Cli) -> None:
    path, line = _write(tmp_path, GOOD_LINE, "default: {drill_months: twelve, check_months: 12}")
    res = dvcops_cli("drill", "report", env={"DVCOPS_DRILL_POLICY": str(path)})
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    assert res.stderr.splitlines() == [f"{path}:{line}: compliance.default.drill_months: 'twelve': "
                                       "Input should be a valid integer, unable to parse string as an integer"]


def test_unknown_key_and_yaml_syntax_errors_name_file_and_line(tmp_path: Path, dvcops_cli: Cli) -> None:
    path, line = _write(tmp_path, GOOD_LINE, "default: {drill_months: 12, check_months: 12, audit_months: 6}")
    res = dvcops_cli("drill", "report", env={"DVCOPS_DRILL_POLICY": str(path)})
    assert (res.returncode, res.stderr.splitlines()) == (
        2, [f"{path}:{line}: compliance.default.audit_months: unknown key 'audit_months'"])

    path, line = _write(tmp_path, GOOD_LINE, "default: {drill_months: 12, check_months: 12")
    with pytest.raises(DrillError) as exc:
        load_policy(path)
    assert exc.value.lines[0].startswith(f"{path}:") and "not valid YAML" in exc.value.lines[0]


def test_a_good_policy_file_from_the_environment_is_used(tmp_path: Path, dvcops_cli: Cli) -> None:
    path, _ = _write(tmp_path, 'version: "2026-07"', 'version: "2027-01-local"')
    assert load_policy(path).version == "2027-01-local"
    assert load_policy().version != "2027-01-local"
    # the command gets past the policy to its own check: nothing has run in this state dir
    res = dvcops_cli("drill", "report", env={"DVCOPS_DRILL_POLICY": str(path)})
    assert res.returncode == 2 and "no drill or check has run" in res.stderr, res.stderr
