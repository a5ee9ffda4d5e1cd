"""The citizen form in a real headless Chromium (Debian `chromium`, driven by Playwright): filled in
Vietnamese with the keyboard only, then a submission with a missing answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import chromium_page
from tests.survey.helpers import PREFIX, LiveServer, make_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, catalog_path: Path) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("survey-browser")
    settings = make_settings(catalog_path, folder, f"sqlite:///{folder / 'r.sqlite3'}")
    with LiveServer(settings, host=f"{PREFIX}.101") as server:
        yield server


def test_keyboard_only_vietnamese_rating_reaches_the_thank_you_page(live: LiveServer) -> None:
    with chromium_page() as page:
        page.goto(f"{live.url}/danh-gia/dang-ky-kinh-doanh?ma_ho_so=H26.10-250601-0001")
        assert page.locator("h1").inner_text() == "Đánh giá mức độ hài lòng"
        assert page.locator("html").get_attribute("lang") == "vi"
        keys = page.keyboard
        keys.press("Tab")  # the language link
        keys.press("Tab")  # the dossier code, already filled from the link
        assert page.evaluate("document.activeElement.id") == "ma_ho_so"
        for _question in range(5):
            keys.press("Tab")      # into the radio group: its first level
            keys.press("Space")    # "Rất hài lòng"
            keys.press("ArrowDown")  # arrows move and select within the group: "Hài lòng"
        assert page.locator("input[type=radio]:checked").count() == 5
        assert page.is_checked("#q-phan-anh-hai-long")
        keys.press("Tab")
        assert page.evaluate("document.activeElement.id") == "y_kien"
        keys.type("Cán bộ hướng dẫn rất tận tình.")
        keys.press("Tab")
        keys.press("Enter")  # the submit button
        page.wait_for_url("**/cam-on?**")
        assert page.locator("h1").inner_text() == "Cảm ơn ông/bà đã đánh giá"
        assert len(page.locator(".receipt").inner_text()) == 24


def test_a_missing_answer_shows_the_error_next_to_that_question(live: LiveServer) -> None:
    with chromium_page() as page:
        page.goto(f"{live.url}/?bo_cau_hoi=5-muc")
        page.select_option("#service_id", "giay-phep-xay-dung")
        page.fill("#ma_ho_so", "H26.XD-250601-0042")
        for fieldset in page.locator("fieldset").all():
            if fieldset.get_attribute("id") != "q-ket-qua":
                fieldset.get_by_label("Hài lòng", exact=True).check()  # by its Vietnamese label
        page.get_by_role("button", name="Gửi đánh giá").click()
        page.wait_for_load_state()
        error = page.locator("fieldset#q-ket-qua .error")
        assert error.is_visible()
        assert "Vui lòng chọn một mức đánh giá" in error.inner_text()
        assert page.locator("fieldset .error").count() == 1  # only that question
        described = page.locator("fieldset#q-ket-qua").get_attribute("aria-describedby") or ""
        assert error.get_attribute("id") in described.split()
        assert page.evaluate("document.activeElement.className") == "error-summary"  # focus on the summary
        assert page.is_checked("#q-tiep-can-hai-long") and page.input_value("#ma_ho_so") == "H26.XD-250601-0042"
        page.locator("fieldset#q-ket-qua").get_by_label("Rất hài lòng", exact=True).check()
        page.get_by_role("button", name="Gửi đánh giá").click()
        page.wait_for_url("**/cam-on?**")
        assert "Cảm ơn" in page.locator("h1").inner_text()
