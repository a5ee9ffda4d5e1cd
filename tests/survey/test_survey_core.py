"""Settings, secrets, instruments as data, the rate limiter: bad input is one line naming what to fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from survey.core.config import SurveySettings, load_settings
from survey.core.ratelimit import RateLimiter
from survey.core.security import csrf_ok, new_csrf_token, new_receipt_id
from survey.errors import SurveyError
from survey.instruments import SIPAS_FACTORS, load_instruments


def test_there_is_no_default_admin_password(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DVCOPS_SURVEY_"):
            monkeypatch.delenv(name)
    settings = SurveySettings()
    assert settings.admin_user is None and settings.admin_password is None and not settings.admin_enabled


@pytest.mark.parametrize("password", ["changethis", "short", "password"])
def test_weak_admin_passwords_are_refused_without_echoing_them(password: str) -> None:
    with pytest.raises(SurveyError) as exc:
        load_settings(admin_user="admin", admin_password=password)
    assert exc.value.lines == ["DVCOPS_SURVEY_ADMIN_PASSWORD: too weak: use at least 12 characters that are not a "
                               "well-known default"]
    assert password not in str(exc.value)


def test_secrets_never_show_in_a_repr() -> None:
    s = load_settings(admin_user="admin", admin_password="một-mật-khẩu-dài", hmac_key="x" * 40,
                      database_url="postgresql://survey:pg-secret-123@127.0.41.9/survey")
    text = repr(s) + str(s.model_dump())
    assert "một-mật-khẩu-dài" not in text and "x" * 40 not in text and "pg-secret-123" not in text
    assert "pg-secret-123" not in s.database().render_as_string(hide_password=True)
    assert s.database().drivername == "postgresql+psycopg"


def test_bad_database_url_and_short_key_are_one_line_each() -> None:
    with pytest.raises(SurveyError) as exc:
        load_settings(database_url="mysql://root:hunter2@db/x").database()
    assert exc.value.lines[0].startswith("DVCOPS_SURVEY_DATABASE_URL: 'mysql://root:***@db/x': expected sqlite:///")
    with pytest.raises(SurveyError, match="DVCOPS_SURVEY_HMAC_KEY: too short"):
        load_settings(hmac_key="abc")
    with pytest.raises(SurveyError, match="DVCOPS_SURVEY_RATE_LIMIT_PER_MINUTE: 0: expected"):
        load_settings(rate_limit_per_minute=0)


def test_postgresql_needs_an_explicit_hmac_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DVCOPS_SURVEY_HMAC_KEY", raising=False)
    with pytest.raises(SurveyError, match="DVCOPS_SURVEY_HMAC_KEY is not set: with PostgreSQL"):
        load_settings(database_url="postgresql://u@127.0.41.9/x").key()


def test_the_embedded_key_file_is_private_and_stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DVCOPS_SURVEY_HMAC_KEY", raising=False)
    monkeypatch.delenv("DVCOPS_SURVEY_DATABASE_URL", raising=False)
    settings = load_settings(state=tmp_path)
    key = settings.key()
    path = tmp_path / "survey" / "hmac.key"
    assert len(key) == 64 and path.stat().st_mode & 0o777 == 0o600
    assert load_settings(state=tmp_path).key() == key
    path.chmod(0o644)
    with pytest.raises(SurveyError, match="readable by others: run chmod 600"):
        settings.key()


def test_default_instruments_tag_every_question_with_a_sipas_factor() -> None:
    ins = load_instruments()
    three, five = ins.get("3-muc"), ins.get("5-muc")
    assert ins.default == "3-muc" and three is not None and five is not None
    assert [lv.id for lv in three.levels] == ["rat-hai-long", "hai-long", "khong-hai-long"]
    assert [lv.vi for lv in five.levels] == ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng",
                                            "Rất không hài lòng"]
    assert {lv.id for lv in three.levels if lv.khong_hai_long} == {"khong-hai-long"}
    assert {lv.id for lv in five.levels if lv.khong_hai_long} == {"khong-hai-long", "rat-khong-hai-long"}
    for instrument in (three, five):
        assert {q.factor for q in instrument.questions} == set(SIPAS_FACTORS)
    assert three.worst(["rat-hai-long", "khong-hai-long", "hai-long"]).id == "khong-hai-long"


def test_a_bad_instruments_file_lists_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bo-cau-hoi.yml"
    path.write_text("""version: 1
default: 4-muc
factors: {tiep-can: {vi: a, en: a}, thu-tuc: {vi: a, en: a}, cong-chuc: {vi: a, en: a},
          ket-qua: {vi: a, en: a}, phan-anh: {vi: a, en: a}}
instruments:
  - id: 2-muc
    name: {vi: "Hai mức", en: "Two levels"}
    levels:
      - {id: tot, vi: Tốt, en: Good, score: 100}
      - {id: chua-tot, vi: Chưa tốt, en: Not good, score: 0}
    questions:
      - {id: q1, factor: thai-do, vi: "?", en: "?"}
""", encoding="utf-8")
    with pytest.raises(SurveyError) as exc:
        load_instruments(path)
    assert exc.value.lines[0] == (f"{path}:12: instruments[0].questions[0].factor: 'thai-do' is not allowed: "
                                  "expected 'tiep-can', 'thu-tuc', 'cong-chuc', 'ket-qua' or 'phan-anh'")
    path.write_text(path.read_text(encoding="utf-8").replace("thai-do", "cong-chuc"), encoding="utf-8")
    with pytest.raises(SurveyError) as exc:  # field problems first, then the consistency rules
        load_instruments(path)
    assert exc.value.lines == [f"{path}:6: instruments[0]: at least one level needs khong_hai_long: true "
                               "(Decision 766's 'không hài lòng')"]


def test_rate_limiter_refills_and_says_how_long_to_wait() -> None:
    limiter = RateLimiter(per_minute=6)  # a token every 10 s
    assert [limiter.hit("a", now=0.0) for _ in range(6)] == [None] * 6
    assert limiter.hit("a", now=0.0) == 10
    assert limiter.hit("b", now=0.0) is None
    assert limiter.hit("a", now=9.0) == 1 and limiter.hit("a", now=10.5) is None


def test_rate_limiter_memory_stays_bounded() -> None:
    limiter = RateLimiter(per_minute=60, max_clients=100)
    for i in range(1000):
        limiter.hit(f"10.0.{i // 250}.{i % 250}", now=float(i) * 2)  # each client idle long enough to refill
    assert len(limiter._buckets) <= 100


def test_csrf_tokens_are_bound_to_the_key_and_receipts_are_readable() -> None:
    token = new_csrf_token(b"k" * 32)
    assert csrf_ok(b"k" * 32, token, token)
    assert not csrf_ok(b"j" * 32, token, token) and not csrf_ok(b"k" * 32, token, token + "x")
    forged = token.split(".")[0] + ".0000"
    assert not csrf_ok(b"k" * 32, forged, forged)
    assert len(new_receipt_id()) == 24 and new_receipt_id() != new_receipt_id()
