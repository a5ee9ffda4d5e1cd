"""Shared fixtures: a CLI runner and a lab per loopback prefix.

Each test package uses its own loopback prefix (tests/dvcops 127.0.20, probes 127.0.30, survey
127.0.40, loadtests 127.0.50, drills 127.0.60, report 127.0.70) so suites never collide with each
other or with a demo lab on 127.0.10.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dvcops.state import StateDir
from lab import Lab, LabSpec

ROOT = Path(__file__).resolve().parents[1]


def run_dvcops(*args: str, state: Path | None = None, timeout: float = 120, input: str | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `dvcops` command line in a subprocess (as an operator would)."""
    full_env = {**os.environ, **(env or {})}
    if state is not None:
        full_env["DVCOPS_STATE"] = str(state)
    return subprocess.run([sys.executable, "-m", "dvcops", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, input=input, cwd=ROOT)


@pytest.fixture
def dvcops_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    state = tmp_path / "state"

    def run(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        kw.setdefault("state", state)
        return run_dvcops(*args, **kw)  # type: ignore[arg-type]

    return run


def start_lab(tmp_path_factory: pytest.TempPathFactory, prefix: str) -> Iterator[Lab]:
    """Start a lab on `prefix` in a fresh state dir for the tests that need one; stop it afterwards."""
    state = StateDir(tmp_path_factory.mktemp(f"lab-{prefix.replace('.', '-')}"))
    lab = Lab(state, LabSpec(prefix=prefix, flap_period=6.0, slow_seconds=1.0))
    lab.up()
    try:
        yield lab
    finally:
        lab.down()


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` every 0.5 s until it returns something truthy (a server still starting may refuse, answer
    non-JSON or lack the series yet: that is waited out); fail naming `what` and the last answer."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (httpx.HTTPError, KeyError, IndexError, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")
