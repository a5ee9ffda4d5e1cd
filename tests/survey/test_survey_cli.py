"""`dvcops survey serve|stats` as an operator runs them: one-line errors with exit 2, a real server, no secrets
or dossier codes in its output."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import httpx
import pytest

from dvcops.catalog import Catalog
from dvcops.system import wait_until_answers
from survey import stats
from tests.conftest import ROOT, run_dvcops
from tests.pg import free_port
from tests.survey.helpers import PREFIX, rating

HOST = f"{PREFIX}.104"
CLEAN_ENV = {k: "" for k in os.environ if k.startswith("DVCOPS_SURVEY_")}  # empty counts as unset


def test_serve_reports_bad_input_in_one_line(tmp_path: Path, catalog_path: Path) -> None:
    missing = run_dvcops("survey", "serve", "--catalog", str(tmp_path / "khong-co.yml"), state=tmp_path, env=CLEAN_ENV)
    assert missing.returncode == 2 and missing.stderr.strip() == f"{tmp_path / 'khong-co.yml'}: no such file"
    weak = run_dvcops("survey", "serve", "--catalog", str(catalog_path), state=tmp_path,
                      env={**CLEAN_ENV, "DVCOPS_SURVEY_ADMIN_USER": "admin",
                           "DVCOPS_SURVEY_ADMIN_PASSWORD": "admin123"})
    assert weak.returncode == 2 and "admin123" not in weak.stderr + weak.stdout
    assert weak.stderr.strip().splitlines() == [
        "DVCOPS_SURVEY_ADMIN_PASSWORD: too weak: use at least 12 characters that are not a well-known default"]
    pg = run_dvcops("survey", "serve", "--catalog", str(catalog_path), state=tmp_path,
                    env={**CLEAN_ENV, "DVCOPS_SURVEY_DATABASE_URL": "postgresql://u:pw-bi-mat@127.0.41.1:1/x"})
    assert pg.returncode == 2 and "DVCOPS_SURVEY_HMAC_KEY is not set" in pg.stderr and "pw-bi-mat" not in pg.stderr
    with socket.create_server((HOST, 0)) as taken:
        port = taken.getsockname()[1]
        busy = run_dvcops("survey", "serve", "--catalog", str(catalog_path), "--host", HOST, "--port", str(port),
                          state=tmp_path, env=CLEAN_ENV)
    assert busy.returncode == 2 and busy.stderr.strip().endswith("cannot listen there: Address already in use")
    assert "Traceback" not in missing.stderr + weak.stderr + pg.stderr + busy.stderr


@pytest.mark.slow
def test_serve_runs_the_survey_and_logs_no_dossier_codes(tmp_path: Path, catalog_path: Path) -> None:
    port = free_port(HOST)
    password = "mat-khau-quan-tri-rat-dai"
    env = {**os.environ, **CLEAN_ENV, "DVCOPS_STATE": str(tmp_path), "DVCOPS_SURVEY_ADMIN_USER": "admin",
           "DVCOPS_SURVEY_ADMIN_PASSWORD": password}
    proc = subprocess.Popen([sys.executable, "-m", "dvcops", "survey", "serve", "--catalog", str(catalog_path),
                             "--host", HOST, "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://{HOST}:{port}"
    try:
        assert wait_until_answers(f"{base}/healthz", 30, proc)
        assert httpx.get(f"{base}/danh-gia/cong-thong-tin", params={"ma_ho_so": "LOG-SECRET-1"}).status_code == 200
        assert httpx.post(f"{base}/api/v1/ratings", json=rating("LOG-SECRET-2")).status_code == 201
        assert httpx.get(f"{base}/api/v1/ratings", auth=("admin", password)).json()["total"] == 1
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM and "Application shutdown complete" in output  # graceful, then
    # uvicorn re-raises the signal so the exit status says what stopped it
    assert f"survey: http://{HOST}:{port}/" in output and "admin on" in output
    assert "LOG-SECRET" not in output and password not in output
    assert "POST /api/v1/ratings" not in output and "GET /danh-gia" not in output  # no access log
    key = tmp_path / "survey" / "hmac.key"
    assert key.stat().st_mode & 0o777 == 0o600 and (tmp_path / "survey" / "ratings.sqlite3").exists()


def test_stats_prints_the_figures_of_the_state_dir(tmp_path: Path, catalog: Catalog,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CLEAN_ENV:
        monkeypatch.delenv(name)
    db = stats.open_database(state=tmp_path)
    stats.record_rating(db, catalog, rating("S1", level="khong-hai-long"), rated_on=date(2025, 5, 2))
    stats.record_rating(db, catalog, rating("S2", service="giay-phep-xay-dung"), rated_on=date(2025, 5, 3))
    stats.record_rating(db, catalog, rating("S3"), rated_on=date(2025, 4, 30))
    db.close()
    out = run_dvcops("survey", "stats", "--period", "2025-05", "--json", state=tmp_path, env=CLEAN_ENV)
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout)
    assert (figures["ratings"], figures["khong_hai_long"], figures["ratio_766"]) == (2, 1, 0.5)
    assert figures["first_day"] == "2025-05-01" and figures["by_agency"]["so-xd"]["ratio_766"] == 1.0
    table = run_dvcops("survey", "stats", state=tmp_path, env=CLEAN_ENV)
    assert "3 rated dossiers, 1 'không hài lòng' → ratio_766 66.7 %" in " ".join(table.stdout.split())
    bad = run_dvcops("survey", "stats", "--period", "2025-13", state=tmp_path, env=CLEAN_ENV)
    assert bad.returncode == 2 and bad.stderr.strip() == "period '2025-13': month must be 01-12"
