"""The layer contract (pyproject.toml, run by `lint-imports` in make lint) holds, and it would catch a breach."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)})


def test_the_tree_keeps_the_contract() -> None:
    res = _lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 kept, 0 broken" in res.stdout


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    for pkg in ("dvcops", "probes", "survey", "dossiers", "drills", "loadtests", "playbooks", "report", "lab"):
        shutil.copytree(ROOT / pkg, tree / pkg, ignore=shutil.ignore_patterns("__pycache__", "roles", "static"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("dvcops/catalog.py", "import probes", "dvcops.catalog -> probes"),  # the kernel imports a part
    ("probes/rules.py", "import survey.stats", "probes.rules -> survey.stats"),  # one part imports another
    ("drills/cli.py", "import lab", "drills.cli -> lab"),  # a part imports the top layer
])
def test_a_breach_breaks_the_contract(tmp_path: Path, module: str, line: str, expected: str) -> None:
    tree = _copy(tmp_path)
    with (tree / module).open("a") as f:
        f.write(f"\n{line}  # noqa: E402,F401\n")
    res = _lint(tree)
    assert res.returncode == 1
    assert expected in res.stdout
