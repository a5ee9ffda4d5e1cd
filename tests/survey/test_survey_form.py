"""The citizen form over real HTTP: Vietnamese first, English on request, no JavaScript, CSRF, errors beside
their fields, comments escaped, the dossier code kept out of Referer headers and caches."""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser

import httpx

from tests.survey.helpers import LiveServer

FORM = "/danh-gia/dang-ky-kinh-doanh"


class Page(HTMLParser):
    """Just enough of the DOM: elements with their attributes and their enclosing elements."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self._stack: list[str] = []
        self.text: dict[str, str] = {}
        self._capture: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a, list(self._stack)))
        if tag not in ("input", "meta", "link", "br"):
            self._stack.append(a.get("id", tag))
            self._capture.append(a.get("id", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("input", "meta", "link", "br") and self._stack:
            self._stack.pop()
            self._capture.pop()

    def handle_data(self, data: str) -> None:
        for ident in self._capture:
            if ident:
                self.text[ident] = self.text.get(ident, "") + data

    def find(self, tag: str, **attrs: str) -> list[tuple[dict[str, str], list[str]]]:
        return [(a, anc) for t, a, anc in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def answers(skip: str | None = None, level: str = "hai-long") -> dict[str, str]:
    return {f"q-{q}": level for q in ("tiep-can", "thu-tuc", "cong-chuc", "ket-qua", "phan-anh") if q != skip}


def test_the_form_is_vietnamese_accessible_and_script_free(api: httpx.Client) -> None:
    resp = api.get(FORM, params={"ma_ho_so": "H26-123"})
    assert resp.status_code == 200
    html = resp.text
    page = Page(html)
    assert '<html lang="vi">' in html and "Đánh giá mức độ hài lòng" in html and "Đăng ký kinh doanh" in html
    assert "<script" not in html and "script-src" not in resp.headers["content-security-policy"]
    assert resp.headers["referrer-policy"] == "no-referrer" and resp.headers["cache-control"] == "no-store"
    assert 'name="viewport"' in html
    labels = {a["for"] for a, _ in page.find("label")}
    for tag in ("input", "select", "textarea"):
        for a, _ in page.find(tag):
            if a.get("type") != "hidden":
                assert a["id"] in labels, f"{tag}#{a.get('id')} has no label"
    fieldsets = page.find("fieldset")
    assert len(fieldsets) == 5 and all(page.find("legend") for _ in fieldsets)
    assert page.find("input", id="ma_ho_so")[0][0]["value"] == "H26-123"
    assert 'novalidate' in html  # errors come from the server, beside their fields, in the page's language
    english = api.get(FORM, params={"lang": "en", "bo_cau_hoi": "5-muc"}).text
    assert '<html lang="en">' in english and "Send rating" in english and "Very dissatisfied" in english
    assert len(Page(english).find("fieldset")) == 6


def test_index_lets_the_citizen_choose_the_service(api: httpx.Client) -> None:
    html = api.get("/").text
    options = [a["value"] for a, _ in Page(html).find("option")]
    assert options[0] == "" and "giay-phep-xay-dung" in options and len(options) == 8


def test_a_missing_answer_is_shown_next_to_that_question(api: httpx.Client) -> None:
    form = api.get(FORM)
    data = {"csrf": csrf_of(form.text), "ma_ho_so": f"F-{uuid.uuid4().hex[:8]}", "instrument": "3-muc",
            **answers(skip="ket-qua"), "y_kien": "<script>alert(1)</script>"}
    resp = api.post(FORM, data=data)
    assert resp.status_code == 422
    page = Page(resp.text)
    error, ancestors = page.find("p", id="q-ket-qua-error")[0]
    assert "q-ket-qua" in ancestors  # inside that question's fieldset
    assert "q-ket-qua-error" in page.find("fieldset", id="q-ket-qua")[0][0]["aria-describedby"]
    assert "Vui lòng chọn một mức đánh giá" in page.text["q-ket-qua-error"]
    assert page.find("a", href="#q-ket-qua")  # the summary links to it
    assert page.find("input", id="q-thu-tuc-hai-long")[0][0].get("checked") == ""  # the other answers are kept
    assert "<script>alert(1)</script>" not in resp.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in resp.text
    assert not page.find("p", id="q-thu-tuc-error")


def test_submitting_shows_a_thank_you_page_and_a_second_time_the_duplicate(api: httpx.Client) -> None:
    code = f"F-{uuid.uuid4().hex[:8]}"
    data = {"csrf": csrf_of(api.get(FORM).text), "ma_ho_so": code, "instrument": "3-muc", **answers()}
    done = api.post(FORM, data=data, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/cam-on?ma=")
    thanks = api.get(done.headers["location"])
    assert "Cảm ơn ông/bà đã đánh giá" in thanks.text
    assert re.search(r'class="receipt">[0-9A-F]{4}(-[0-9A-F]{4}){4}<', thanks.text)
    again = api.post(FORM, data=data)
    assert again.status_code == 409
    assert "Hồ sơ này đã được đánh giá" in Page(again.text).text["ma_ho_so-error"]


def test_posts_without_the_csrf_token_are_refused(server: LiveServer) -> None:
    data = {"ma_ho_so": f"F-{uuid.uuid4().hex[:8]}", "instrument": "3-muc", **answers()}
    with server.client() as fresh:
        assert fresh.post(FORM, data={**data, "csrf": "gia.mao"}).status_code == 403
        token = csrf_of(fresh.get(FORM).text)
    with server.client() as other:  # a token without its cookie (another site's page) is refused too
        assert other.post(FORM, data={**data, "csrf": token}).status_code == 403


def test_bad_service_and_dossier_code_are_errors_on_their_fields(api: httpx.Client) -> None:
    token = csrf_of(api.get("/").text)
    resp = api.post("/", data={"csrf": token, "service_id": "", "ma_ho_so": "mã có dấu", "instrument": "3-muc",
                               **answers(), "lang": "en"})
    page = Page(resp.text)
    assert resp.status_code == 422 and "required" in page.text["service_id-error"]
    assert "dossier code" in page.text["ma_ho_so-error"]
    assert api.get("/danh-gia/khong-co").status_code == 404
