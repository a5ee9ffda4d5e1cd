"""`dvcops probe once|uptime|rules` as an operator runs them, against the lab on 127.0.30.x."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from lab import Lab
from tests.conftest import run_dvcops

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def once(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]], int]:
    state = tmp_path_factory.mktemp("probe-cli-state")
    done = run_dvcops("probe", "once", "--catalog", str(lab.catalog_path), "--json", state=state)
    assert done.stderr == ""
    return state, json.loads(done.stdout), done.returncode


def test_once_json_has_one_object_per_endpoint(once: tuple[Path, list[dict[str, object]], int], lab: Lab) -> None:
    _, results, code = once
    assert code == 1  # the lab has a down host
    assert len(results) == 10
    for r in results:
        assert {"service", "agency", "endpoint", "success", "status_code", "duration_seconds", "failure_reason",
                "cert_expiry"} <= set(r)
    by = {(r["service"], r["endpoint"]): r for r in results}
    a = lab.spec.address
    assert by[("tam-tru-tam-vang", f"http://{a('lab-down')}:8080/dv/tam-tru-tam-vang")]["failure_reason"] == "connect"
    gpxd = by[("giay-phep-xay-dung", f"https://{a('lab-dvc-2')}:8443/dv/giay-phep-xay-dung")]
    assert (gpxd["success"], gpxd["failure_reason"], gpxd["status_code"]) == (False, "condition", 200)
    assert str(gpxd["cert_expiry"]).startswith("20")  # an ISO time: the lab certificate expiring in 7 days
    portal = by[("cong-thong-tin", f"http://{a('lab-portal')}:8080/")]
    assert (portal["success"], portal["cert_expiry"]) == (True, None)
    redirect = by[("dang-ky-kinh-doanh", f"http://{a('lab-dvc-1')}:8080/dv/dang-ky-kinh-doanh")]
    assert (redirect["success"], redirect["status_code"]) == (True, 200)
    slow = by[("tra-cuu-ho-so", f"http://{a('lab-slow')}:8080/dv/tra-cuu-ho-so")]
    assert (slow["success"], slow["failure_reason"]) == (False, "condition")  # 1 s answers vs [RESPONSE_TIME] < 1000


def test_once_exits_0_when_everything_is_up(lab: Lab, tmp_path: Path) -> None:
    data = yaml.safe_load(lab.catalog_path.read_text(encoding="utf-8"))
    data["services"] = [s for s in data["services"] if s["id"] in ("cong-thong-tin", "dang-ky-kinh-doanh")]
    path = tmp_path / "up.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    done = run_dvcops("probe", "once", "--catalog", str(path), "--no-record", state=tmp_path / "s")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Kết quả thăm dò" in done.stdout and not (tmp_path / "s" / "probes" / "history.sqlite").exists()


def test_uptime_reads_what_once_recorded(once: tuple[Path, list[dict[str, object]], int], lab: Lab) -> None:
    state, _, _ = once
    month = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
    done = run_dvcops("probe", "uptime", "--catalog", str(lab.catalog_path), "--period", month, "--json", state=state)
    assert done.returncode == 1, done.stderr  # services below their SLO
    rep = json.loads(done.stdout)
    svc = {s["id"]: s for s in rep["services"]}
    assert svc["tam-tru-tam-vang"]["uptime"] == 0 and svc["tam-tru-tam-vang"]["meets_slo"] is False
    assert svc["cong-thong-tin"]["uptime"] == 1 and svc["cong-thong-tin"]["attempts"] == 3
    assert svc["tam-tru-tam-vang"]["incidents"] == 1
    assert {a["id"] for a in rep["agencies"]} == {"so-tttt", "so-khdt", "so-xd", "so-gtvt", "cong-an"}
    assert any(c["endpoint"].endswith("/dv/giay-phep-xay-dung") for c in rep["certificates"])
    table = run_dvcops("probe", "uptime", "--catalog", str(lab.catalog_path), "--period", month, "--lang", "en",
                       state=state)
    assert "By service" in table.stdout and "tam-tru-tam-vang" in table.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--period", "2025-13"], "period '2025-13': month must be 01-12"),
    (["--period", "2025", "--from", "2025-01-01"], "either --period or --from/--to"),
    (["--period", "2025", "--source", "prometheus"], "--source prometheus needs --url"),
    (["--period", "2025", "--source", "prometheus", "--url", "ftp://x"], "--url 'ftp://x'"),
    (["--period", "2025", "--source", "influx"], "--source 'influx': expected sqlite or prometheus"),
])
def test_uptime_bad_input_is_one_line_and_exit_2(lab: Lab, tmp_path: Path, args: list[str], message: str) -> None:
    done = run_dvcops("probe", "uptime", "--catalog", str(lab.catalog_path), *args, state=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_condition_that_does_not_parse_is_a_catalogue_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("""version: 1
province: {code: HG, name: "Tỉnh Hà Giang", reviewer: "Sở KH&CN"}
agencies: [{id: so-khdt, name: "Sở Kế hoạch và Đầu tư", kind: department}]
services:
  - id: dkkd
    name: "Đăng ký kinh doanh"
    agency: so-khdt
    level: 3
    endpoints:
      - url: http://127.0.31.10:8080/ok
        conditions: ["[STATUS] = 200"]
""", encoding="utf-8")
    done = run_dvcops("probe", "once", "--catalog", str(bad), state=tmp_path)
    assert done.returncode == 2 and "bad.yml:11:" in done.stderr and "[STATUS] = 200" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_options_are_one_line_and_exit_2(lab: Lab, tmp_path: Path) -> None:
    done = run_dvcops("probe", "once", "--catalog", str(lab.catalog_path), "--resolver", "dns.example:53",
                      state=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("--resolver: 'dns.example:53': expected"), done.stderr
    done = run_dvcops("probe", "once", "--catalog", str(lab.catalog_path), "--canary", "tcp://10.0.0.1",
                      state=tmp_path)
    assert done.returncode == 2 and "canary 'tcp://10.0.0.1'" in done.stderr, done.stderr
    done = run_dvcops("probe", "serve", "--catalog", str(lab.catalog_path), "--listen", "localhost", state=tmp_path)
    assert done.returncode == 2 and "--listen 'localhost': expected ADDRESS:PORT" in done.stderr, done.stderr


def test_rules_command_writes_a_file(lab: Lab, tmp_path: Path) -> None:
    out = tmp_path / "rules.yml"
    done = run_dvcops("probe", "rules", "--catalog", str(lab.catalog_path), "--out", str(out), state=tmp_path)
    assert done.returncode == 0, done.stderr
    names = {r.get("alert") or r.get("record") for g in yaml.safe_load(out.read_text())["groups"] for r in g["rules"]}
    assert {"ProbeErrorBudgetBurnFast", "ProbeErrorBudgetBurnSlow", "ProbeCertificateExpiresSoon",
            "probe:sli_error:ratio_rate30d"} <= names
