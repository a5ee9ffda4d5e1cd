"""The HTML report opens offline in headless Chromium: no request leaves the file, nothing fails to
load, and it prints to a clean A4 document."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Request, Route

from dvcops.state import StateDir
from tests.browser import chromium_page
from tests.conftest import run_dvcops
from tests.report.conftest import CATALOG

A4 = (794, 1123)  # CSS pixels at 96 dpi
pytestmark = pytest.mark.slow


def test_report_opens_offline_and_prints_to_a4(state: StateDir, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    res = run_dvcops("report", "--catalog", str(CATALOG), "--period", "2025-Q2", "--out", str(html),
                     state=state.root)
    assert res.returncode == 0, res.stderr
    outside: list[str] = []
    failed: list[str] = []
    errors: list[str] = []

    def block_network(route: Route, request: Request) -> None:
        if request.url.startswith("file://"):
            route.continue_()
        else:  # the network is blocked: anything else is recorded and refused
            outside.append(request.url)
            route.abort()

    with chromium_page(viewport=A4) as page:
        page.route("**/*", block_network)
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(html.as_uri(), wait_until="load")
        assert page.title().startswith("Báo cáo tình hình cung cấp dịch vụ công trực tuyến")
        assert page.locator("svg.chart").count() == 3
        assert page.locator("#summary tbody tr").count() >= 8
        shot = tmp_path / "report-a4.png"
        page.screenshot(path=str(shot), full_page=True)
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4", print_background=True)
    assert outside == [] and failed == [] and errors == []
    assert shot.stat().st_size > 20_000
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 2 <= pages <= 12, pages
    (tmp_path / "report.pdf").write_bytes(pdf)
    print(f"A4 screenshot: {shot}")
