"""POST /api/v1/ratings against a real server on SQLite and on PostgreSQL: 201, 409, 422, 413, 429."""

from __future__ import annotations

import unicodedata
import uuid

import httpx
import pytest
from sqlalchemy import inspect, select, text

from survey.core.security import dossier_hash
from survey.models import Rating
from tests.survey.helpers import HMAC_KEY, PREFIX, LiveServer, make_settings, rating


def code() -> str:
    return f"H26.10-{uuid.uuid4().hex[:12].upper()}"


def locs(resp: httpx.Response) -> set[tuple[str | int, ...]]:
    assert resp.status_code == 422, resp.text
    return {tuple(e["loc"]) for e in resp.json()["detail"]}


def test_a_rating_gets_201_with_a_receipt_and_is_stored(api: httpx.Client, server: LiveServer) -> None:
    c = code()
    resp = api.post("/api/v1/ratings", json=rating(c, answers={"tiep-can": "rat-hai-long", "thu-tuc": "hai-long",
                                                              "cong-chuc": "hai-long", "ket-qua": "rat-hai-long",
                                                              "phan-anh": "khong-hai-long"}))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["level"] == "khong-hai-long" and body["khong_hai_long"] is True  # as good as its worst answer
    engine = server.app.state.survey.engine
    with engine.connect() as conn:
        row = conn.execute(select(Rating.__table__).where(Rating.__table__.c.receipt_id == body["receipt_id"])).one()
    assert row.dossier_hash == dossier_hash(HMAC_KEY.encode(), c) and row.agency_id == "so-khdt"
    assert row.score == pytest.approx((100 + 50 + 50 + 100 + 0) / 5)


def test_the_same_dossier_again_is_409_however_it_is_typed(api: httpx.Client) -> None:
    c = code()
    assert api.post("/api/v1/ratings", json=rating(c)).status_code == 201
    for variant in (c, c.lower(), f"  {c}\t", c.replace("-", "\u0000-")):
        resp = api.post("/api/v1/ratings", json=rating(variant, level="rat-hai-long"))
        assert resp.status_code == 409, (variant, resp.text)
        assert "already been rated" in resp.json()["detail"]


def test_every_invalid_field_is_a_422_naming_that_field(api: httpx.Client) -> None:
    assert locs(api.post("/api/v1/ratings", json=rating(code(), service="khong-co"))) == {("body", "service_id")}
    assert locs(api.post("/api/v1/ratings", json=rating(code(), instrument="7-muc"))) == {("body", "instrument")}
    body = rating(code())
    body["answers"]["cau-hoi-la"] = "hai-long"
    body["answers"]["ket-qua"] = "tuyet-voi"
    del body["answers"]["thu-tuc"]
    assert locs(api.post("/api/v1/ratings", json=body)) == {
        ("body", "answers", "cau-hoi-la"), ("body", "answers", "ket-qua"), ("body", "answers", "thu-tuc")}
    five_level_answer_on_three_levels = rating(code(), level="binh-thuong")
    assert ("body", "answers", "tiep-can") in locs(api.post("/api/v1/ratings", json=five_level_answer_on_three_levels))
    assert locs(api.post("/api/v1/ratings", json=rating(code(), channel="fax"))) == {("body", "channel")}
    assert locs(api.post("/api/v1/ratings", json=rating("<script>"))) == {("body", "dossier_code")}
    assert locs(api.post("/api/v1/ratings", json=rating(code(), comment="ý" * 2001))) == {("body", "comment")}
    assert api.post("/api/v1/ratings", json=rating(code(), comment=" \x07 ")).status_code == 201  # blank: none
    assert locs(api.post("/api/v1/ratings", json={**rating(code()), "ip": "1.2.3.4"})) == {("body", "ip")}
    malformed = api.post("/api/v1/ratings", content=b'{"service_id": ', headers={"content-type": "application/json"})
    assert malformed.status_code == 422 and malformed.json()["detail"][0]["type"] == "json_invalid"
    not_utf8 = api.post("/api/v1/ratings", content=b"\xff\xfe{", headers={"content-type": "application/json"})
    assert not_utf8.status_code == 422 and not_utf8.json()["detail"][0]["loc"] == ["body"]


def test_json_sent_as_a_form_or_text_is_refused(api: httpx.Client) -> None:
    """A page on another site can post text/plain without a CORS preflight: such bodies are not parsed."""
    import json

    resp = api.post("/api/v1/ratings", content=json.dumps(rating(code())), headers={"content-type": "text/plain"})
    assert resp.status_code == 422


def test_text_is_nfc_normalised_and_control_characters_stripped(api: httpx.Client, admin: httpx.Client) -> None:
    nfd = unicodedata.normalize("NFD", "Cán bộ hướng dẫn tận tình")
    assert nfd != "Cán bộ hướng dẫn tận tình"
    resp = api.post("/api/v1/ratings", json=rating(code(), comment=f"{nfd}\x07\u202e!\r\ndòng hai\x00"))
    assert resp.status_code == 201
    receipt = resp.json()["receipt_id"]
    items = []
    for page in range(1, 20):
        got = admin.get("/api/v1/ratings", params={"page": page, "per_page": 500}).json()["items"]
        items += got
        if not got:
            break
    stored = next(i for i in items if i["receipt_id"] == receipt)
    assert stored["comment"] == "Cán bộ hướng dẫn tận tình!\ndòng hai"


def test_the_table_alone_never_reveals_the_dossier(api: httpx.Client, server: LiveServer) -> None:
    c = code()
    assert api.post("/api/v1/ratings", json=rating(c, comment="không ghi mã")).status_code == 201
    engine = server.app.state.survey.engine
    columns = {col["name"] for col in inspect(engine).get_columns("survey_ratings")}
    assert not columns & {"ip", "ip_address", "client", "user_agent", "dossier_code", "created_at"}
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("PRAGMA wal_checkpoint(FULL)"))
            dump = open(engine.url.database or "", "rb").read()  # noqa: SIM115 - the raw file, pages and all
            assert c.encode() not in dump and c.lower().encode() not in dump
        else:
            dump = "\n".join(str(r) for r in conn.execute(text("SELECT * FROM survey_ratings")))
            assert c not in dump and c.lower() not in dump


def test_bodies_over_the_limit_get_413(server: LiveServer) -> None:
    big = b'{"comment": "' + b"a" * 20_000 + b'"}'
    with server.client() as client:
        assert client.post("/api/v1/ratings", content=big, headers={"content-type": "application/json"}
                           ).status_code == 413

        def chunks():  # no Content-Length: the limit still holds while streaming
            for _ in range(40):
                yield b"a" * 1000

        assert client.post("/api/v1/ratings", content=chunks(), headers={"content-type": "application/json"}
                           ).status_code == 413


def test_one_client_is_rate_limited_with_retry_after_others_are_not(
        tmp_path_factory: pytest.TempPathFactory, catalog_path) -> None:
    folder = tmp_path_factory.mktemp("ratelimit")
    settings = make_settings(catalog_path, folder, f"sqlite:///{folder / 'r.sqlite3'}", rate_limit_per_minute=3)
    with LiveServer(settings) as live:
        with live.client(source=f"{PREFIX}.150") as one, live.client(source=f"{PREFIX}.151") as other:
            statuses = [one.post("/api/v1/ratings", json=rating(code())).status_code for _ in range(3)]
            assert statuses == [201, 201, 201]
            limited = one.post("/api/v1/ratings", json=rating(code()))
            assert limited.status_code == 429
            assert 1 <= int(limited.headers["retry-after"]) <= 20  # one token every 20 s at 3/min
            assert other.post("/api/v1/ratings", json=rating(code())).status_code == 201
            assert one.get("/api/v1/services").status_code == 200  # reading is never limited
