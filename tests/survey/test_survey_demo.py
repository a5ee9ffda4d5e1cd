"""The survey's demo step against a real lab: it serves on the lab-survey host, submits a few hundred ratings
over the API, leaves the URL for the load-test step, and its cleanup stops the server."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from dvcops.catalog import load_catalog
from dvcops.demo import DemoContext
from lab import Lab
from survey.cli import DEMO_RATINGS, demo_step
from tests.conftest import start_lab
from tests.survey.helpers import PREFIX

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from start_lab(tmp_path_factory, PREFIX)


def test_demo_step_serves_rates_and_cleans_up(lab: Lab) -> None:
    out = io.StringIO()
    ctx = DemoContext(lab.state, lab, lab.catalog_path, load_catalog(lab.catalog_path), Console(file=out, width=120))
    try:
        demo_step(ctx)
        url = ctx.shared["survey_url"]
        assert url == f"http://{PREFIX}.8:{lab.spec.survey_port}"
        figures = httpx.get(f"{url}/api/v1/stats").json()
        assert figures["ratings"] == DEMO_RATINGS and 0 < figures["ratio_766"] < 1
        assert json.loads(Path(ctx.outputs["Survey figures (GET /api/v1/stats)"]).read_text()) == figures
        csv_bytes = Path(ctx.outputs["Survey ratings (CSV for Excel)"]).read_bytes()
        assert csv_bytes.startswith(b"\xef\xbb\xbf") and csv_bytes.count(b"\r\n") == DEMO_RATINGS + 1
        printed = " ".join(out.getvalue().split())
        assert f"201: {DEMO_RATINGS}" not in printed and f"{DEMO_RATINGS}× 201" in printed
        assert "1× 409 (duplicate)" in printed and "1× 422 (unknown level)" in printed
        assert "ratio_766" in printed
    finally:
        for cleanup in reversed(ctx.cleanups):
            cleanup()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)
