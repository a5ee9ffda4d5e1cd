"""ratio_766 and the other figures against values computed by hand from known rows, on both scales,
through the Python read API (what the DoIC report calls) and GET /api/v1/stats, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dvcops.catalog import Catalog
from dvcops.periods import Period
from survey import stats
from survey.stats import DuplicateRating, RatingInvalid, SurveyDatabase
from tests.survey.helpers import HMAC_KEY, LiveServer, make_settings, rating

RHL, HL, BT, KHL, RKHL = "rat-hai-long", "hai-long", "binh-thuong", "khong-hai-long", "rat-khong-hai-long"

# 3-level scale (scores 100 / 50 / 0), five questions: tiep-can, thu-tuc, cong-chuc, ket-qua, phan-anh. June 2025.
THREE = [
    # (dossier, service, answers, rated_on)              worst | khl | score
    ("A1", "dang-ky-kinh-doanh", [RHL] * 5, date(2025, 6, 2)),                 # RHL | no  | 100
    ("A2", "dang-ky-kinh-doanh", [HL] * 5, date(2025, 6, 3)),                  # HL  | no  | 50
    ("A3", "dang-ky-kinh-doanh", [RHL] * 4 + [KHL], date(2025, 6, 10)),        # KHL | yes | 80
    ("A4", "cong-thong-tin", [KHL] * 5, date(2025, 6, 15)),                    # KHL | yes | 0
    ("A5", "giay-phep-xay-dung", [HL, HL, HL, RHL, RHL], date(2025, 6, 30)),   # HL  | no  | 70
]
# n = 5, khl = 2 -> ratio_766 = (5 - 2) / 5 = 0.6; mean = (100 + 50 + 80 + 0 + 70) / 5 = 60
# so-khdt (A1-A3): 3, khl 1 -> 2/3, mean 230/3 · so-tttt (A4): 1, khl 1 -> 0.0, mean 0 · so-xd (A5): 1 -> 1.0, 70

# 5-level scale (100 / 75 / 50 / 25 / 0), six questions: tiep-can, thu-tuc, cong-chuc-thai-do,
# cong-chuc-huong-dan, ket-qua, phan-anh. July 2025.
FIVE = [
    ("B1", "dang-ky-kinh-doanh", [BT] * 6, date(2025, 7, 1)),                        # BT   | no  | 50
    ("B2", "dang-ky-kinh-doanh", [RHL] * 4 + [RKHL, RHL], date(2025, 7, 5)),         # RKHL | yes | 500/6
    ("B3", "giay-phep-xay-dung", [HL] * 6, date(2025, 7, 20)),                       # HL   | no  | 75
    ("B4", "giay-phep-xay-dung", [KHL] + [HL] * 5, date(2025, 7, 31)),               # KHL  | yes | 400/6
]
# n = 4, khl = 2 -> ratio_766 = 2/4 = 0.5; mean = (50 + 500/6 + 75 + 400/6) / 4 = 68.75
# Neutral ("bình thường") is not "không hài lòng": B1 counts as satisfied for Decision 766.


def _record(db: SurveyDatabase, catalog: Catalog, rows: list, instrument: str) -> None:
    questions = ["tiep-can", "thu-tuc", "cong-chuc", "ket-qua", "phan-anh"] if instrument == "3-muc" else [
        "tiep-can", "thu-tuc", "cong-chuc-thai-do", "cong-chuc-huong-dan", "ket-qua", "phan-anh"]
    for code, service, levels, day in rows:
        body = rating(code, service=service, instrument=instrument, answers=dict(zip(questions, levels, strict=True)),
                      comment=f"góp ý <b>{code}</b>")
        stats.record_rating(db, catalog, body, rated_on=day)


@pytest.fixture
def db(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: Catalog) -> SurveyDatabase:
    monkeypatch.setenv("DVCOPS_SURVEY_HMAC_KEY", HMAC_KEY)
    database = stats.open_database(url=db_url, state=tmp_path)
    _record(database, catalog, THREE, "3-muc")
    _record(database, catalog, FIVE, "5-muc")
    yield database
    database.close()


def test_ratio_766_on_the_three_level_scale(db: SurveyDatabase) -> None:
    s = stats.satisfaction(db, Period.parse("2025-06"))
    assert (s.ratings, s.khong_hai_long) == (5, 2)
    assert s.ratio_766 == pytest.approx(0.6)
    assert s.mean_score == pytest.approx(60.0)
    assert {k: v for k, v in s.levels.items() if v} == {RHL: 1, HL: 2, KHL: 2}
    assert s.by_agency["so-khdt"].ratio_766 == pytest.approx(2 / 3)
    assert s.by_agency["so-khdt"].mean_score == pytest.approx(230 / 3)
    assert s.by_agency["so-tttt"].ratio_766 == 0.0 and s.by_agency["so-xd"].ratio_766 == 1.0
    assert s.by_service["giay-phep-xay-dung"].mean_score == pytest.approx(70.0)
    # phan-anh answers: RHL (A1), HL (A2), KHL (A3), KHL (A4), RHL (A5) -> mean (100+50+0+0+100)/5 = 50
    assert s.factors["phan-anh"].answers == 5 and s.factors["phan-anh"].khong_hai_long == 2
    assert s.factors["phan-anh"].mean_score == pytest.approx(50.0)
    assert list(s.factors) == ["tiep-can", "thu-tuc", "cong-chuc", "ket-qua", "phan-anh"]
    assert (s.first_day, s.last_day) == (date(2025, 6, 1), date(2025, 6, 30))


def test_ratio_766_on_the_five_level_scale(db: SurveyDatabase) -> None:
    s = stats.satisfaction(db, Period.parse("2025-07"))
    assert (s.ratings, s.khong_hai_long, s.ratio_766) == (4, 2, 0.5)
    assert s.mean_score == pytest.approx(68.75)
    assert {k: v for k, v in s.levels.items() if v} == {HL: 1, BT: 1, KHL: 1, RKHL: 1}
    assert s.by_service["giay-phep-xay-dung"].ratio_766 == pytest.approx(0.5)
    # cong-chuc has two questions on this scale: 8 answers; B4 answered cong-chuc-* with HL, B2 with RHL
    assert s.factors["cong-chuc"].answers == 8 and s.factors["cong-chuc"].khong_hai_long == 0
    assert s.factors["ket-qua"].khong_hai_long == 1  # B2's "rất không hài lòng"


def test_both_scales_together_by_period_agency_and_service(db: SurveyDatabase) -> None:
    year = stats.satisfaction(db, Period.parse("2025"))
    assert (year.ratings, year.khong_hai_long) == (9, 4)
    assert year.ratio_766 == pytest.approx(5 / 9)
    assert year.mean_score == pytest.approx((300 + 275) / 9)
    dkkd = stats.satisfaction(db, Period.parse("2025-Q3"), service="dang-ky-kinh-doanh")
    assert (dkkd.ratings, dkkd.khong_hai_long) == (2, 1)
    xd = stats.satisfaction(db, Period.between("2025-06-30", "2025-07-21"), agency="so-xd")
    assert (xd.ratings, xd.ratio_766) == (2, 1.0)  # A5 (30/6) and B3 (20/7); B4 (31/7) is outside
    assert stats.satisfaction(db, Period.parse("2024")).ratio_766 is None
    assert stats.satisfaction(db).ratings == 9


def test_recent_comments_are_raw_and_newest_first(db: SurveyDatabase) -> None:
    s = stats.satisfaction(db, Period.parse("2025"), comments=3)
    assert [c.text for c in s.comments] == ["góp ý <b>B4</b>", "góp ý <b>B3</b>", "góp ý <b>B2</b>"]
    assert s.comments[0].service_id == "giay-phep-xay-dung" and s.comments[0].khong_hai_long


def test_writing_through_the_python_api_checks_like_the_api(db: SurveyDatabase, catalog: Catalog) -> None:
    with pytest.raises(DuplicateRating):
        stats.record_rating(db, catalog, rating("a1"), rated_on=date(2025, 8, 1))  # codes are case-insensitive
    with pytest.raises(RatingInvalid) as exc:
        stats.record_rating(db, catalog, rating("C1", level="binh-thuong"), rated_on=date(2025, 8, 1))
    assert exc.value.lines[0].startswith("body.answers.tiep-can: unknown level 'binh-thuong'")


def test_http_stats_match_the_python_api(db: SurveyDatabase, db_url: str, tmp_path: Path, catalog_path: Path
                                         ) -> None:
    with LiveServer(make_settings(catalog_path, tmp_path / "state", db_url)) as live, live.client() as client:
        june = client.get("/api/v1/stats", params={"from": "2025-06-01", "to": "2025-06-30"}).json()
        assert (june["ratings"], june["khong_hai_long"], june["ratio_766"]) == (5, 2, 0.6)
        assert "comments" not in june  # comments may hold personal details: admin and report only
        july = client.get("/api/v1/stats", params={"period": "2025-07"}).json()
        assert july["ratio_766"] == 0.5 and july["mean_score"] == pytest.approx(68.75)
        xd = client.get("/api/v1/stats", params={"agency": "so-xd"}).json()
        assert xd == stats.satisfaction(db, agency="so-xd").model_dump(mode="json", exclude={"comments"})
        for params, field in (({"period": "2025-13"}, "period"), ({"agency": "so-moi"}, "agency"),
                              ({"from": "2025-07-01", "to": "2025-06-01"}, "to"),
                              ({"service": "khong-co"}, "service")):
            resp = client.get("/api/v1/stats", params=params)
            assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["query", field], params
        assert client.get("/api/v1/stats", params={"from": "1-2-3"}).status_code == 422


def test_a_dossier_recorded_through_python_is_a_duplicate_over_http(db: SurveyDatabase, db_url: str, tmp_path: Path,
                                                                     catalog_path: Path) -> None:
    with LiveServer(make_settings(catalog_path, tmp_path / "state", db_url)) as live, live.client() as client:
        assert client.post("/api/v1/ratings", json=rating("a1")).status_code == 409
