"""Only real dossiers are rated: with DVCOPS_SURVEY_INVITATIONS=required a rating needs a valid invitation
(or its channel's API key), on SQLite and PostgreSQL. Servers on 127.0.100.10 (see tests/dossiers/conftest.py)."""

from __future__ import annotations

import csv
import io
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from survey.invitations import sign
from tests.conftest import run_dvcops
from tests.survey.helpers import ADMIN, HMAC_KEY, LiveServer, make_settings, new_database, rating

HOST = "127.0.100.10"
KIOSK_KEY = "kiosk-" + "k" * 40
SERVICE = "dang-ky-kinh-doanh"
_n = itertools.count(1)


def code() -> str:
    return f"H56.100.01-250601-IN{next(_n):04d}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, catalog_path: Path
         ) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp(f"invitations-{request.param}")
    settings = make_settings(catalog_path, folder / "state", new_database(request.param, request, folder),
                             invitations="required", channel_keys={"kiosk": KIOSK_KEY})
    with LiveServer(settings, host=HOST) as server:
        yield server


def stored(live: LiveServer) -> int:
    with live.client(auth=ADMIN) as admin:
        return int(admin.get("/api/v1/ratings", params={"per_page": 1}).json()["total"])


def post(client: httpx.Client, body: dict, **headers: str) -> httpx.Response:
    return client.post("/api/v1/ratings", json=body, headers=headers)


def test_only_a_valid_invitation_rates_and_refusals_store_nothing(live: LiveServer) -> None:
    key = HMAC_KEY.encode()
    later = int(time.time()) + 3600
    mine, other = code(), code()
    token = sign(key, mine, SERVICE, later)
    start = stored(live)
    with live.client() as api:
        assert post(api, rating(mine)).status_code == 403                                   # none
        forged = token.split(".")[0] + "." + "A" * 22
        assert post(api, rating(mine, invitation=forged)).status_code == 403               # forged
        assert post(api, rating(other, invitation=token)).status_code == 403               # another dossier
        assert post(api, rating(mine, service="giay-phep-xay-dung", invitation=token)).status_code == 403
        expired = sign(key, mine, SERVICE, int(time.time()) - 1)
        refused = post(api, rating(mine, invitation=expired))
        assert refused.status_code == 403 and "expired" in refused.json()["detail"]
        assert post(api, rating(mine, invitation="not-a-token")).status_code == 403
        assert stored(live) == start                                                         # nothing stored
        ok = post(api, rating(mine.lower(), invitation=token))  # codes are case-insensitive
        assert ok.status_code == 201, ok.text
        assert post(api, rating(mine, invitation=token)).status_code in (403, 409)           # used: once only
        assert stored(live) == start + 1
        # kiosks and apps: their channel's key instead of an invitation
        assert post(api, rating(code(), channel="kiosk"), **{"X-Survey-Channel-Key": KIOSK_KEY}).status_code == 201
        assert post(api, rating(code(), channel="mobile"), **{"X-Survey-Channel-Key": KIOSK_KEY}).status_code == 403
        assert post(api, rating(code(), channel="kiosk"), **{"X-Survey-Channel-Key": "x" * 40}).status_code == 403
    assert stored(live) == start + 2


def test_the_form_needs_the_link(live: LiveServer) -> None:
    mine = code()
    token = sign(HMAC_KEY.encode(), mine, SERVICE, int(time.time()) + 3600)
    with live.client() as api:
        assert api.get(f"/danh-gia/{SERVICE}", params={"ma_ho_so": mine}).status_code == 403
        page = api.get(f"/danh-gia/{SERVICE}", params={"ma_ho_so": mine, "moi": token})
        assert page.status_code == 200 and f'name="moi" value="{token}"' in page.text
        assert api.get(f"/danh-gia/{SERVICE}", params={"ma_ho_so": code(), "moi": token}).status_code == 403


def test_the_cli_makes_links_that_work(live: LiveServer, catalog_path: Path, tmp_path: Path) -> None:
    env = {"DVCOPS_SURVEY_HMAC_KEY": HMAC_KEY, "DVCOPS_SURVEY_PUBLIC_URL": live.url}
    mine = code()
    res = run_dvcops("survey", "invite", "--catalog", str(catalog_path), "--dossier", mine, "--service", SERVICE,
                     "--days", "2", env=env)
    assert res.returncode == 0, res.stderr
    link = res.stdout.strip()
    assert link.startswith(f"{live.url}/danh-gia/{SERVICE}?")
    query = parse_qs(urlsplit(link).query)
    with live.client() as api:
        assert api.get(link).status_code == 200
        assert post(api, rating(query["ma_ho_so"][0], invitation=query["moi"][0])).status_code == 201
    # in bulk, from a dossier list (as `dvcops dossiers export` writes it): only those returned in the period
    dossiers = tmp_path / "returned.csv"
    dossiers.write_text(
        "dossier_code,service_id,received_at,due_at,returned_at,channel,online_level,status\r\n"
        f"{code()},{SERVICE},2025-06-01T08:00:00+07:00,2025-06-05T08:00:00+07:00,2025-06-04T08:00:00+07:00,"
        "online,toan-trinh,returned\r\n"
        f"{code()},{SERVICE},2025-06-01T08:00:00+07:00,2025-06-05T08:00:00+07:00,2025-07-04T08:00:00+07:00,"
        "online,toan-trinh,returned\r\n"
        f"{code()},{SERVICE},2025-06-01T08:00:00+07:00,2025-06-05T08:00:00+07:00,,online,toan-trinh,processing\r\n",
        encoding="utf-8")
    out = tmp_path / "sms.csv"
    res = run_dvcops("survey", "invite", "--catalog", str(catalog_path), "--from-dossiers", str(dossiers),
                     "--period", "2025-06", "-o", str(out), env=env)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 1 and list(rows[0]) == ["dossier_code", "service_id", "phone", "link", "expires_at"]
    bad = tmp_path / "bad.csv"
    bad.write_text("dossier_code,service_id,returned_at\r\nX,khong-co,2025-06-04T08:00:00+07:00\r\n", encoding="utf-8")
    res = run_dvcops("survey", "invite", "--catalog", str(catalog_path), "--from-dossiers", str(bad),
                     "--period", "2025-06", env=env)
    assert res.returncode == 2
    assert f"{bad}:2: service_id: khong-co: expected a service id of the catalogue" in res.stderr
