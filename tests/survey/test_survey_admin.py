"""Admin endpoints: credentials from settings only (401 without, never a default), paged list, CSV for
Excel, survey windows."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from tests.survey.helpers import ADMIN, PREFIX, LiveServer, make_settings, rating

ADMIN_GETS = ["/api/v1/ratings", "/api/v1/ratings.csv", "/api/v1/windows"]


def code() -> str:
    return f"ADM-{uuid.uuid4().hex[:10].upper()}"


def test_admin_endpoints_need_the_configured_credentials(api: httpx.Client) -> None:
    for path in ADMIN_GETS:
        resp = api.get(path)
        assert resp.status_code == 401 and resp.headers["www-authenticate"].startswith("Basic realm=")
        assert api.get(path, auth=("admin", "sai-mat-khau-roi")).status_code == 401
        assert api.get(path, headers={"authorization": "Basic !!!"}).status_code == 401
        assert api.get(path, auth=ADMIN).status_code == 200  # a Vietnamese (UTF-8) password works
    assert api.put("/api/v1/windows/cong-thong-tin", json={"opens_on": "2025-01-01"}).status_code == 401
    assert api.delete("/api/v1/windows/cong-thong-tin").status_code == 401


def test_without_admin_settings_nobody_is_admin(tmp_path: Path, catalog_path: Path) -> None:
    settings = make_settings(catalog_path, tmp_path, f"sqlite:///{tmp_path / 'r.sqlite3'}",
                             admin_user=None, admin_password=None)
    assert not settings.admin_enabled
    with LiveServer(settings) as live, live.client() as client:
        for user, password in (("admin", "admin"), ("admin", ""), ("", ""), ADMIN):
            resp = client.get("/api/v1/ratings", auth=(user, password))
            assert resp.status_code == 401, (user, password)


def test_wrong_passwords_are_rate_limited(tmp_path: Path, catalog_path: Path) -> None:
    settings = make_settings(catalog_path, tmp_path, f"sqlite:///{tmp_path / 'r.sqlite3'}", rate_limit_per_minute=2)
    with LiveServer(settings) as live, live.client(source=f"{PREFIX}.160") as client:
        codes = [client.get("/api/v1/ratings", auth=("admin", f"doan-{i}-lan-nua")).status_code for i in range(4)]
        assert codes == [401, 401, 429, 429]


def test_ratings_are_listed_in_pages(api: httpx.Client, admin: httpx.Client) -> None:
    before = admin.get("/api/v1/ratings").json()["total"]
    for i in range(3):
        assert api.post("/api/v1/ratings", json=rating(code(), comment=f"ý kiến {i}")).status_code == 201
    first = admin.get("/api/v1/ratings", params={"per_page": 2}).json()
    assert first["total"] == before + 3 and len(first["items"]) == 2 and first["per_page"] == 2
    last = admin.get("/api/v1/ratings", params={"per_page": 1, "page": before + 3}).json()
    assert last["items"][0]["comment"] == "ý kiến 2" and set(last["items"][0]["answers"]) == {
        "tiep-can", "thu-tuc", "cong-chuc", "ket-qua", "phan-anh"}
    assert "dossier" not in str(last["items"][0]).lower()
    assert admin.get("/api/v1/ratings", params={"per_page": 501}).status_code == 422


def test_csv_export_opens_in_excel(api: httpx.Client, admin: httpx.Client) -> None:
    formula = '=HYPERLINK("http://x","bấm")'
    resp = api.post("/api/v1/ratings", json=rating(code(), comment=f"{formula}"))
    receipt = resp.json()["receipt_id"]
    multiline = api.post("/api/v1/ratings", json=rating(code(), instrument="5-muc", level="binh-thuong",
                                                       comment="dòng 1\ndòng 2, có dấu phẩy")).json()["receipt_id"]
    export = admin.get("/api/v1/ratings.csv", params={"delimiter": "comma"})
    assert export.status_code == 200 and export.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in export.headers["content-disposition"]
    raw = export.content
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert raw.count(b"\r\n") >= len(rows) + 1
    by_receipt = {r["Mã biên nhận"]: r for r in rows}
    assert by_receipt[receipt]["Ý kiến"] == "'" + formula  # not a formula in Excel
    assert by_receipt[receipt]["Tên dịch vụ"] == "Đăng ký kinh doanh"
    assert by_receipt[receipt]["Cơ quan"] == "Sở Kế hoạch và Đầu tư"
    five = by_receipt[multiline]
    assert five["Ý kiến"] == "dòng 1\ndòng 2, có dấu phẩy" and five["cong-chuc-thai-do"] == "binh-thuong"
    assert five["Không hài lòng (QĐ 766)"] == "0" and five["Điểm (0-100)"] == "50"
    semicolons = admin.get("/api/v1/ratings.csv", params={"delimiter": "semicolon", "lang": "en"}).content
    header = semicolons.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("Receipt;Rated on;Service id")


def test_survey_windows_open_and_close_a_service(api: httpx.Client, admin: httpx.Client) -> None:
    today = date.today()
    service = "tra-cuu-ho-so"
    closed = {"opens_on": str(today + timedelta(days=2)), "closes_on": str(today + timedelta(days=30))}
    assert admin.put(f"/api/v1/windows/{service}", json=closed).json()["opens_on"] == closed["opens_on"]
    resp = api.post("/api/v1/ratings", json=rating(code(), service=service))
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "service_id"]
    assert "closed" in resp.json()["detail"][0]["msg"]
    listed = {s["id"]: s for s in api.get("/api/v1/services").json()}
    assert listed[service]["open"] is False and listed[service]["window"]["closes_on"] == closed["closes_on"]
    assert api.get(f"/danh-gia/{service}").text.count("<form") == 0  # the form says it is closed instead
    opened = {"opens_on": str(today - timedelta(days=1)), "closes_on": None}
    assert admin.put(f"/api/v1/windows/{service}", json=opened).status_code == 200
    assert api.post("/api/v1/ratings", json=rating(code(), service=service)).status_code == 201
    assert [w["service_id"] for w in admin.get("/api/v1/windows").json()] == [service]
    assert admin.delete(f"/api/v1/windows/{service}").status_code == 204
    assert admin.delete(f"/api/v1/windows/{service}").status_code == 404
    bad = admin.put("/api/v1/windows/khong-co", json={"opens_on": "2025-02-01", "closes_on": "2025-01-01"})
    assert {tuple(e["loc"]) for e in bad.json()["detail"]} == {("path", "service_id"), ("body", "closes_on")}


@pytest.mark.parametrize("path", ["/api/v1/ratings", "/api/v1/ratings.csv"])
def test_admin_reads_never_show_the_dossier_code(api: httpx.Client, admin: httpx.Client, path: str) -> None:
    c = code()
    assert api.post("/api/v1/ratings", json=rating(c)).status_code == 201
    body = admin.get(path, params={"per_page": 500} if path.endswith("ratings") else {}).text
    assert c not in body and c.lower() not in body
