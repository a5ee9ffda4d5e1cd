"""The rating user against a real `dvcops survey serve` on the lab's survey host (127.0.50.8).

It talks HTTP only: reads the services and instruments, posts valid ratings with unique dossier
codes, and the survey stores exactly as many ratings as the verdict counts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dvcops.system import wait_until_answers
from lab import Lab
from loadtests.runner import free_port
from loadtests.verdict import Verdict
from tests.conftest import ROOT, run_dvcops, start_lab

PREFIX = "127.0.50"
pytestmark = pytest.mark.slow
PROFILE = """\
users: 4
spawn_rate: 4
duration: 5s
mix: {rate: 1}
think_time: {min: 0.05s, max: 0.1s}
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from start_lab(tmp_path_factory, PREFIX)


@pytest.fixture(scope="module")
def survey(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("survey-state")
    host = lab.spec.address("lab-survey")
    port = free_port(host)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DVCOPS_SURVEY_")}
    env.update({"DVCOPS_STATE": str(state), "DVCOPS_SURVEY_RATE_LIMIT_PER_MINUTE": "1000000"})
    log = (state / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "dvcops", "survey", "serve", "--catalog", str(lab.catalog_path),
                             "--host", host, "--port", str(port)], stdout=log, stderr=log, env=env, cwd=ROOT,
                            start_new_session=True)
    base = f"http://{host}:{port}"
    try:
        assert wait_until_answers(f"{base}/healthz", 60, proc, every=0.2, per_try=2), (state / "serve.log").read_text()
        yield base
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def test_the_rating_user_posts_valid_unique_ratings_the_survey_stores(lab: Lab, survey: str, tmp_path: Path) -> None:
    before = httpx.get(f"{survey}/api/v1/stats", timeout=10).json()["ratings"]
    (tmp_path / "rate.yml").write_text(PROFILE)
    proc = run_dvcops("loadtest", "run", "--catalog", str(lab.catalog_path), "--profile", str(tmp_path / "rate.yml"),
                      "--survey", survey, "--out", str(tmp_path / "run"), state=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    v = Verdict.read(tmp_path / "run")
    assert v.user_types == ["rate"]
    rows = {r.name: r for r in v.requests}
    assert set(rows) == {"survey.services", "survey.instruments", "survey.rate"}
    assert rows["survey.services"].requests == rows["survey.instruments"].requests == 4  # once per user, on start
    assert rows["survey.rate"].requests > 10 and rows["survey.rate"].failures == 0  # no 409: every code is new
    after = httpx.get(f"{survey}/api/v1/stats", timeout=10).json()["ratings"]
    # every counted rating is stored; at most one more per user (4) may be stored whose request Locust cut
    # off at the stop after the survey had committed it
    assert rows["survey.rate"].requests <= after - before <= rows["survey.rate"].requests + 4
