"""/docs and /redoc render in a real Chromium whose network is limited to loopback: every request to another
address is aborted and recorded, so a page that needs a CDN would stay blank and fail here.
Server on 127.0.100.20 (see tests/dossiers/conftest.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Route

from tests.browser import chromium_page
from tests.survey.helpers import LiveServer, make_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, catalog_path: Path) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("survey-docs")
    with LiveServer(make_settings(catalog_path, folder, f"sqlite:///{folder / 'r.sqlite3'}"),
                    host="127.0.100.20") as server:
        yield server


def _loopback_only(blocked: list[str]) -> object:
    def handle(route: Route) -> None:
        url = route.request.url
        host = urlsplit(url).hostname or ""
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = False
        if local or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()
    return handle


def test_swagger_ui_renders_offline(live: LiveServer) -> None:
    blocked: list[str] = []
    with chromium_page(viewport=(1280, 900)) as page:
        page.route("**/*", _loopback_only(blocked))  # type: ignore[arg-type]
        page.goto(f"{live.url}/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "dvcops survey" in page.locator(".swagger-ui .info .title").inner_text()
        page.wait_for_selector(".opblock-summary-path")
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any("/api/v1/ratings" in p for p in paths)
    assert blocked == []


def test_redoc_renders_offline(live: LiveServer) -> None:
    blocked: list[str] = []
    with chromium_page(viewport=(1280, 900)) as page:
        page.route("**/*", _loopback_only(blocked))  # type: ignore[arg-type]
        page.goto(f"{live.url}/redoc")
        page.wait_for_selector("h1")
        assert "dvcops survey" in page.locator("h1").first.inner_text()
        assert page.get_by_text("/api/v1/ratings").count() > 0
    assert blocked == []
