"""The users against the real lab on 127.0.50.x: portal, e-services over HTTPS (lab CA), redirects."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dvcops.state import StateDir
from lab import Lab
from loadtests.verdict import Verdict, runs
from tests.conftest import run_dvcops, start_lab

PREFIX = "127.0.50"
pytestmark = pytest.mark.slow
PROFILE = """\
users: 6
spawn_rate: 6
duration: 4s
mix: {portal: 2, submit: 1, status: 1}
think_time: {min: 0.1s, max: 0.2s}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from start_lab(tmp_path_factory, PREFIX)


def run(lab: Lab, tmp_path: Path, *extra: str) -> tuple[int, Verdict, str]:
    (tmp_path / "p.yml").write_text(PROFILE)
    proc = run_dvcops("loadtest", "run", "--catalog", str(lab.catalog_path), "--profile", str(tmp_path / "p.yml"),
                      "--out", str(tmp_path / "run"), *extra, state=tmp_path)
    assert (tmp_path / "run" / "verdict.json").exists(), proc.stdout + proc.stderr
    return proc.returncode, Verdict.read(tmp_path / "run"), proc.stdout + proc.stderr


def test_portal_and_https_e_services_of_the_lab_pass(lab: Lab, tmp_path: Path) -> None:
    code, v, out = run(lab, tmp_path, "--service", "dang-ky-kinh-doanh", "--service", "giay-phep-xay-dung")
    assert code == 0, out
    assert v.targets["portal"] == f"http://{PREFIX}.1:8080"
    eservices = v.targets["eservices"]
    assert isinstance(eservices, list)
    assert [e["url"] for e in eservices] == [
        f"https://{PREFIX}.2:8443/dv/dang-ky-kinh-doanh", f"https://{PREFIX}.3:8443/dv/giay-phep-xay-dung"]
    rows = {r.name: r for r in v.requests}
    assert set(rows) == {"portal.home", "portal.search", "portal.service", "dossier.submit", "dossier.status"}
    assert all(r.requests > 0 and r.failures == 0 for r in rows.values()), rows
    assert v.exceptions == []


def test_a_redirect_is_a_failure_and_is_not_followed(lab: Lab, tmp_path: Path) -> None:
    code, v, out = run(lab, tmp_path, "--host", f"http://{PREFIX}.2:8080", "--service", "dang-ky-kinh-doanh")
    assert code == 1, out
    rows = {r.name: r for r in v.requests}
    assert rows["portal.home"].failures == rows["portal.home"].requests > 0
    assert rows["dossier.submit"].failures == 0
    assert any(f"redirect 301 to https://{PREFIX}.2:8443 not followed" in e for e in v.errors)


def test_the_cli_process_never_imports_locust() -> None:
    code = ("import sys, dvcops.cli, loadtests.runner, loadtests.plan, loadtests.verdict; "
            "sys.exit(1 if {'locust', 'gevent'} & set(sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_the_read_api_lists_finished_runs_newest_first(lab: Lab, tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    (tmp_path / "p.yml").write_text(PROFILE.replace("duration: 4s", "duration: 2s"))
    for _ in range(2):
        proc = run_dvcops("loadtest", "run", "--catalog", str(lab.catalog_path), "--profile", str(tmp_path / "p.yml"),
                          "--service", "dang-ky-kinh-doanh", state=state.root)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    (state.folder("loadtests", "runs", "unfinished")).mkdir(exist_ok=True)
    found = runs(state)
    assert len(found) == 2 and found[0][1].ended >= found[1][1].ended
    assert all(d.parent == state.root / "loadtests" / "runs" and v.verdict == "pass" for d, v in found)
