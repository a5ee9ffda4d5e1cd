"""Fixes found trying the survey as a new user: a comment that is not text is refused; the ratings CSV opens
as numbers in Vietnamese Excel (';' and a decimal comma with lang=vi)."""

from __future__ import annotations

import httpx

from tests.survey.helpers import rating


def test_a_comment_that_is_not_text_is_refused(api: httpx.Client) -> None:
    for value in ({}, [], 3):
        resp = api.post("/api/v1/ratings", json=rating("H56.100.02-250601-FX0001", comment=value))
        assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "comment"], value


def test_the_vietnamese_csv_uses_semicolons_and_a_decimal_comma(api: httpx.Client, admin: httpx.Client) -> None:
    five = {"tiep-can": "rat-hai-long", "thu-tuc": "hai-long", "cong-chuc-thai-do": "hai-long",
            "cong-chuc-huong-dan": "hai-long", "ket-qua": "hai-long", "phan-anh": "hai-long"}
    receipt = api.post("/api/v1/ratings", json=rating("H56.100.02-250601-FX0002", instrument="5-muc",
                                                      answers=five)).json()["receipt_id"]
    vi = admin.get("/api/v1/ratings.csv").content.decode("utf-8-sig").splitlines()
    assert vi[0].startswith("Mã biên nhận;Ngày đánh giá;")
    row = next(line for line in vi if line.startswith(receipt)).split(";")
    assert row[8] == "79,1667"  # (100 + 5 x 75) / 6, with a decimal comma
    en = admin.get("/api/v1/ratings.csv", params={"lang": "en"}).content.decode("utf-8-sig").splitlines()
    assert next(line for line in en if line.startswith(receipt)).split(",")[8] == "79.1667"
