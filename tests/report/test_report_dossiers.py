"""The report with dossier data: online, fully-online, on-time and 766 satisfaction figures from the dossiers
in the summary and roadmap, --online-rate only as a labelled override, --reference reconciled per indicator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dossiers.db import open_database
from dossiers.importer import import_file
from dvcops.catalog import Catalog
from dvcops.state import StateDir
from tests.conftest import run_dvcops
from tests.report.conftest import CATALOG, build_state

HEADER = "dossier_code,service_id,received_at,due_at,returned_at,channel,online_level,status,rating,complaints\n"
# June 2025: s1 (level 3) and s2 (toàn trình). By hand: received 5, online 3 of 5 (s1 and s2 are both offered
# online); s2 received 3, 1 of them fully online -> 1/3; returned in June 4, on time 3 -> 0.75; satisfaction
# over the 4 returned: one rated khong-hai-long, one with a complaint -> 2/4 = 0.5; one open and overdue.
ROWS = [
    "H56.001.01-250602-DV0001,s1,2025-06-02T08:00:00+07:00,2025-06-05T08:00:00+07:00,2025-06-04T08:00:00+07:00,"
    "online,mot-phan,returned,hai-long,0",
    "H56.001.01-250602-DV0002,s1,2025-06-02T09:00:00+07:00,2025-06-05T08:00:00+07:00,2025-06-09T08:00:00+07:00,"
    "counter,none,returned,khong-hai-long,0",
    "H56.001.01-250603-DV0003,s2,2025-06-03T08:00:00+07:00,2025-06-10T08:00:00+07:00,2025-06-10T08:00:00+07:00,"
    "online,toan-trinh,returned,,1",
    "H56.001.01-250603-DV0004,s2,2025-06-03T10:00:00+07:00,2025-06-20T08:00:00+07:00,2025-06-11T08:00:00+07:00,"
    "online,mot-phan,returned,rat-hai-long,0",
    "HS-OLD-0005,s2,2025-06-04T08:00:00+07:00,2025-06-06T08:00:00+07:00,,post,none,processing,,0",
]


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory, catalog: Catalog) -> StateDir:
    folder = tmp_path_factory.mktemp("report-dossiers")
    st = build_state(folder / "state", catalog)
    export = folder / "export.csv"
    export.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    with open_database(state=st) as db:
        import_file(db, catalog, export)
    return st


def report(state: StateDir, tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "r.json"
    res = run_dvcops("report", "--catalog", str(CATALOG), "--period", "2025-06", "-f", "json", "--out", str(out),
                     *args, state=state.root)
    assert res.returncode == 0, res.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def test_the_summary_and_roadmap_use_the_dossiers(state: StateDir, tmp_path: Path) -> None:
    r = report(state, tmp_path)
    ind = {i["id"]: i for i in r["dossiers"]["indicators"]}
    assert ind["online_rate"]["value"] == pytest.approx(3 / 5)
    assert ind["full_online_rate"]["value"] == pytest.approx(1 / 3)
    assert ind["on_time_rate"]["value"] == pytest.approx(3 / 4)
    assert ind["satisfaction_766"]["value"] == pytest.approx(2 / 4)
    assert (r["dossiers"]["received"], r["dossiers"]["overdue_open"], r["dossiers"]["legacy_codes"]) == (5, 1, 1)
    rm = r["roadmap"]
    assert (rm["online_rate"], rm["online_rate_source"], rm["online_rate_target"]) == (pytest.approx(0.6), "dossiers",
                                                                                       0.70)
    assert rm["online_rate_status"] == "amber"   # within 10 points of the catalogue's 70 %
    summary = {h["key"]: h for h in r["summary"]}
    assert summary["online_rate"]["display"] == "60,0%"
    assert summary["dossiers_on_time_rate"]["value"] == pytest.approx(0.75)
    assert summary["dossiers_satisfaction_766"]["status"] == "red"
    assert any("CHƯA ĐỐI CHIẾU" in m and "766" in m for m in r["methodology"])


def test_online_rate_typed_in_is_an_override_labelled_so(state: StateDir, tmp_path: Path) -> None:
    r = report(state, tmp_path, "--online-rate", "0.72")
    assert (r["roadmap"]["online_rate"], r["roadmap"]["online_rate_source"]) == (0.72, "override")
    assert {h["key"]: h for h in r["summary"]}["online_rate"]["display"] == "72,0% (nhập tay, không từ dữ liệu hồ sơ)"


def test_reference_figures_are_reconciled(state: StateDir, tmp_path: Path) -> None:
    ref = tmp_path / "portal.yml"
    ref.write_text('source: "Cổng DVCQG, chỉ số 766, tra cứu 05/07/2025"\nperiod: "2025-06"\n'
                   "indicators: {online_rate: 0.55, on_time_rate: 0.8}\n", encoding="utf-8")
    r = report(state, tmp_path, "--reference", str(ref))
    ind = {i["id"]: i for i in r["dossiers"]["indicators"]}
    assert ind["online_rate"]["difference"] == pytest.approx(0.05)
    assert ind["on_time_rate"]["difference"] == pytest.approx(-0.05)
    assert ind["satisfaction_766"]["reference"] is None
    html = tmp_path / "r.html"
    res = run_dvcops("report", "--catalog", str(CATALOG), "--period", "2025-06", "--out", str(html), "--reference",
                     str(ref), state=state.root)
    assert res.returncode == 0, res.stderr
    assert 'class="num difference">+5,0<' in html.read_text(encoding="utf-8")
    for text, line in (('source: x\nperiod: "2025-06"\nindicators: {online_rate: 55}\n',
                        f"{ref}:3: indicators.online_rate: 55: Input should be less than or equal to 1"),
                       ('source: x\nperiod: "2025-05"\nindicators: {online_rate: 0.5}\n',
                        f"{ref}:2: period: '2025-05': expected the report's period '2025-06'")):
        ref.write_text(text, encoding="utf-8")
        res = run_dvcops("report", "--catalog", str(CATALOG), "--period", "2025-06", "--out", str(html),
                         "--reference", str(ref), state=state.root)
        assert res.returncode == 2 and res.stderr.strip() == line
