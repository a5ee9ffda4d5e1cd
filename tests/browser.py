"""Headless Chromium (Debian's `chromium`) driven by Playwright, for tests that use a real browser.

Never `playwright install`: the browser is the Debian package. Its flags keep it off the network
(no background updates, sync, QUIC or component downloads): it only talks to the loopback servers
the test started.

    with chromium_page() as page:
        page.goto("http://127.0.40.101:8000/")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, sync_playwright

from dvcops.system import require_program

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextmanager
def chromium_page(locale: str = "vi-VN", viewport: tuple[int, int] = (390, 844), timeout_ms: int = 15_000
                  ) -> Iterator[Page]:
    """A fresh page in a fresh headless Chromium (a phone-sized viewport by default)."""
    executable = str(require_program("chromium"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(locale=locale, viewport={"width": viewport[0], "height": viewport[1]})
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            browser.close()
