"""Tests mirror the packages: each test lives in tests/<package>/ for a package of the contract (or here, for
the contract itself), and no test folder is a Python package: pytest would import tests/probes/__init__.py as
the package `probes` and the tests would run against whatever else provides `probes.*`, not this tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def test_each_test_sits_in_the_folder_of_its_package() -> None:
    packages = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"])
    folders = {p.relative_to(TESTS).parts[0] for p in TESTS.rglob("test_*.py")}
    assert folders <= packages | {"architecture"}, folders - packages


def test_no_test_folder_is_a_package() -> None:
    assert [str(p.relative_to(ROOT)) for p in TESTS.rglob("__init__.py")] == []
