"""The DoIC report: figures built through the parts' own APIs, expected values computed by hand here,
compared with the JSON the CLI writes and with what the HTML shows."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dvcops.formatting import fmt_percent
from dvcops.state import StateDir
from survey.instruments import SIPAS_FACTORS, load_instruments
from tests.report.conftest import CATALOG, COMMENT

# ---- expected figures, by hand (see conftest.build_state) -----------------------------------------
JUNE_MINUTES = 30 * 1440
MAINTENANCE = 5 * 120            # Sundays 1, 8, 15, 22, 29 June 2025, 01:00-03:00
OUTAGE = 90                      # 10/06 08:00-09:30
S1_CHARGED = JUNE_MINUTES - MAINTENANCE
S1_UP = S1_CHARGED - OUTAGE
S1_UPTIME = S1_UP / S1_CHARGED                                  # 0.997887...
PROVINCE_UPTIME = (S1_UP + JUNE_MINUTES) / (S1_CHARGED + JUNE_MINUTES)
RATINGS, KHL = 10 + 8, 1 + 2
RATIO = (RATINGS - KHL) / RATINGS                               # 0.8333...
MEAN = (6 * 100 + 3 * 50 + 0 + 2 * 100 + 2 * 75 + 2 * 50 + 25 + 0) / RATINGS
MAY_RATIO = 1.0


@pytest.fixture(scope="module")
def outputs(state: StateDir, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.conftest import run_dvcops

    out = tmp_path_factory.mktemp("report-out")
    files = {}
    for fmt in ("json", "html", "md"):
        files[fmt] = out / f"r.{fmt}"
        res = run_dvcops("report", "--catalog", str(CATALOG), "--period", "2025-06", "--format", fmt,
                         "--out", str(files[fmt]), "--online-rate", "0.65", state=state.root)
        assert res.returncode == 0, res.stderr
    files["en"] = out / "r-en.html"
    res = run_dvcops("report", "--catalog", str(CATALOG), "--period", "2025-06", "--lang", "en", "--out",
                     str(files["en"]), state=state.root)
    assert res.returncode == 0, res.stderr
    return files


@pytest.fixture(scope="module")
def report(outputs: dict[str, Path]) -> dict:
    return json.loads(outputs["json"].read_text(encoding="utf-8"))


def test_meta_names_the_reviewer_from_the_catalogue(report: dict) -> None:
    assert report["meta"]["reviewer"] == "Sở Khoa học và Công nghệ"
    assert report["meta"]["period"] == "2025-06" and report["meta"]["due"] is None


def test_availability_matches_hand_computed_figures(report: dict) -> None:
    av = report["availability"]
    services = {s["id"]: s for s in av["services"]}
    assert services["s1"]["attempts"] == S1_CHARGED
    assert services["s1"]["uptime"] == pytest.approx(S1_UPTIME, abs=1e-12)
    assert services["s1"]["downtime_minutes"] == pytest.approx(OUTAGE)
    assert services["s1"]["incidents"] == 1
    assert services["s1"]["status"] == "red"          # below 1 - 2 x budget (0.998)
    assert services["s2"]["uptime"] == 1.0 and services["s2"]["status"] == "green"
    assert services["s3"]["uptime"] is None and services["s3"]["status"] == "none"
    assert av["province_uptime"] == pytest.approx(PROVINCE_UPTIME, abs=1e-12)
    assert (av["services_meeting_slo"], av["services_with_data"]) == (1, 2)
    (incident,) = av["incidents"]
    assert incident["service"] == "s1"
    assert incident["start"].startswith("2025-06-10T08:00:00") and incident["end"].startswith("2025-06-10T09:30:00")
    assert incident["duration_minutes"] == pytest.approx(90)
    agencies = {a["id"]: a for a in av["agencies"]}
    assert agencies["so-a"]["status"] == "red" and agencies["so-b"]["status"] == "none"


def test_satisfaction_matches_hand_computed_figures(report: dict) -> None:
    sat = report["satisfaction"]
    assert (sat["ratings"], sat["khong_hai_long"]) == (RATINGS, KHL)
    assert sat["ratio_766"] == pytest.approx(RATIO)
    assert sat["mean_score"] == pytest.approx(MEAN)
    assert sat["previous_period"] == "2025-05" and sat["previous_ratio_766"] == pytest.approx(MAY_RATIO)
    assert sat["change"] == pytest.approx(RATIO - MAY_RATIO)
    assert sat["status"] == "red"                      # below 0.85 (policy.yml)
    levels = {lv["id"]: lv["count"] for lv in sat["levels"]}
    assert levels == {"rat-hai-long": 8, "hai-long": 5, "binh-thuong": 2, "khong-hai-long": 2,
                      "rat-khong-hai-long": 1}
    services = {s["id"]: s for s in sat["services"]}
    assert services["s1"]["ratio_766"] == pytest.approx(0.9) and services["s2"]["ratio_766"] == pytest.approx(0.75)
    assert services["s1"]["previous_ratio_766"] == pytest.approx(1.0)
    # every rating answers every question of its instrument: 5-muc asks two civil-servant questions
    per_factor = {f: (sum(q.factor == f for q in load_instruments().instruments[0].questions),
                      sum(q.factor == f for q in load_instruments().instruments[1].questions)) for f in SIPAS_FACTORS}
    assert per_factor["cong-chuc"] == (1, 2)
    for f in sat["factors"]:
        q3, q5 = per_factor[f["id"]]
        assert (f["answers"], f["khong_hai_long"]) == (10 * q3 + 8 * q5, 1 * q3 + 2 * q5), f
    assert [c["text"] for c in sat["comments"]] == [COMMENT]  # raw in JSON, escaped in HTML
    assert [p["label"] for p in sat["trend"]] == ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
    assert sat["trend"][0] == {"label": "2025-01", "ratings": 0, "ratio_766": None}   # empty months stay in
    assert sat["trend"][-2]["ratio_766"] == pytest.approx(1.0) and sat["trend"][-1]["ratio_766"] == pytest.approx(RATIO)


def test_security_obligations(report: dict) -> None:
    sec = report["security"]
    assert sec["last_drill"].startswith("2024-05-15") and sec["drill_within"] is False   # 13.5 months old
    assert sec["last_check"].startswith("2025-03-01") and sec["check_within"] is True
    assert sec["open_findings"] == {"critical": 1, "high": 0, "medium": 1, "low": 0, "info": 0}
    assert sec["systems_without_level"] == ["he-thong-b"]
    systems = {s["system"]: s for s in sec["systems"]}
    assert systems["he-thong-a"]["drill_ok"] is False and systems["he-thong-a"]["check_ok"] is True
    assert systems["he-thong-b"]["last_drill"] is None


def test_roadmap_and_summary(report: dict) -> None:
    rm = report["roadmap"]
    assert (rm["level3"], rm["level3_target"], rm["level3_status"]) == (1, 2, "red")
    assert (rm["level4"], rm["level4_target"], rm["level4_status"]) == (1, 1, "green")   # toàn trình counts as 4
    assert (rm["online_rate"], rm["online_rate_target"], rm["online_rate_status"]) == (0.65, 0.70, "amber")
    summary = {h["key"]: h for h in report["summary"]}
    assert PROVINCE_UPTIME > 0.995 and summary["province_uptime"]["status"] == "green"   # vs defaults.slo
    assert summary["drill"]["status"] == "red" and summary["check"]["status"] == "green"
    assert summary["critical_findings"]["value"] == 1 and summary["critical_findings"]["status"] == "red"
    assert summary["ratio_766"]["status"] == "red"


def test_html_shows_the_same_figures_escaped(report: dict, outputs: dict[str, Path]) -> None:
    html = outputs["html"].read_text(encoding="utf-8")
    assert f'id="province-uptime">{fmt_percent(PROVINCE_UPTIME, 3)}<' in html
    assert f'id="ratio-766">{fmt_percent(RATIO, 1)}<' in html
    assert f'id="ratings">{RATINGS}<' in html
    row = re.search(r'<tr data-service="s1">.*?</tr>', html, re.S)
    assert row and fmt_percent(S1_UPTIME, 3) in row.group(0) and "1 giờ 30 phút" in row.group(0)
    assert html.count('class="incident"') == 1
    assert 'id="last-drill">15/05/2024<' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Kính gửi: <strong>Sở Khoa học và Công nghệ</strong>" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    english = outputs["en"].read_text(encoding="utf-8")
    assert "Availability" in english and f'id="province-uptime">{fmt_percent(PROVINCE_UPTIME, 3, "en")}<' in english
    md = outputs["md"].read_text(encoding="utf-8")
    assert "| Đăng ký kinh doanh | Sở A | " + fmt_percent(S1_UPTIME, 3) in md


def test_half_year_report_is_due_before_30_june(state: StateDir, tmp_path: Path) -> None:
    from tests.conftest import run_dvcops

    out = tmp_path / "h1.json"
    res = run_dvcops("report", "--catalog", str(CATALOG), "--period", "2025-H1", "-f", "json", "--out", str(out),
                     state=state.root)
    assert res.returncode == 0, res.stderr
    data = json.loads(out.read_text())
    assert data["meta"]["due"] == "2025-06-30"
    # H1 ends before the 10/06 outage's month is over: June counts fully, the incident is there
    assert len(data["availability"]["incidents"]) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--period", "2025-13"], "period '2025-13': month must be 01-12"),
    (["--period", "2025-06", "--format", "pdf"], "--format 'pdf': expected html, json or md"),
    (["--period", "2025-06", "--lang", "fr"], "--lang 'fr': expected vi or en"),
    (["--period", "2025-06", "--uptime-source", "prometheus"], "--uptime-source prometheus needs --url"),
    (["--period", "2025-06", "--online-rate", "63"], "--online-rate 63.0: expected a fraction"),
])
def test_bad_input_is_one_line(state: StateDir, tmp_path: Path, args: list[str], message: str) -> None:
    from tests.conftest import run_dvcops

    res = run_dvcops("report", "--catalog", str(CATALOG), *args, "--out", str(tmp_path / "x"), state=state.root)
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
