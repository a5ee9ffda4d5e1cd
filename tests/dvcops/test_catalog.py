"""The catalogue: the example validates; every kind of mistake is reported once, with file:line."""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dvcops.catalog import load_catalog, parse_catalog
from dvcops.errors import CatalogError
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "ha-giang.yml"

MINIMAL = """\
version: 1
province: {code: HG, name: "Tỉnh Hà Giang", reviewer: "Sở Thông tin và Truyền thông"}
agencies:
  - {id: so-khdt, name: "Sở Kế hoạch và Đầu tư", kind: department}
services:
  - id: dang-ky-kinh-doanh
    name: "Đăng ký kinh doanh"
    agency: so-khdt
    level: 3
    endpoints:
      - url: https://dichvucong.example/dkkd
hosts:
  - {name: portal-1, address: 10.20.1.11, zone: dmz, roles: [web], security_level: 3}
roles:
  web: {ports: [80, 443]}
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(CatalogError) as info:
        parse_catalog(text, "t.yml")
    return info.value.lines


def test_example_catalogue_is_valid_and_complete() -> None:
    cat = load_catalog(EXAMPLE)
    assert cat.province.reviewer == "Sở Thông tin và Truyền thông"
    # decision 1653's 15 priority service groups are all there, plus the portal and a district one-stop shop
    assert len(cat.services) == 17
    assert {s.agency for s in cat.services} >= {"so-khdt", "so-xd", "so-yt", "so-ldtbxh", "so-gtvt", "thanh-tra",
                                                 "cong-an", "so-tnmt"}
    web = cat.host("portal-1")
    assert cat.allowed_ports(web) == [80, 443]
    assert cat.slo_of(cat.service("dang-ky-kinh-doanh")) == 0.999
    assert cat.slo_of(cat.service("cap-phep-dau-tu")) == 0.995


def test_cli_check_reports_four_problems_each_with_file_and_line(dvcops_cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    text = (MINIMAL.replace("agency: so-khdt", "agency: so-xd")
            .replace("https://dichvucong.example/dkkd", "/dkkd")
            .replace("ports: [80, 443]", "ports: [80, 70000]")
            .replace("hosts:", "  - {id: dang-ky-kinh-doanh, name: Trùng, agency: so-khdt, level: 3}\nhosts:"))
    bad.write_text(text, encoding="utf-8")
    res = dvcops_cli("catalog", "check", str(bad))
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 4, lines
    assert all(line.startswith(f"{bad}:") for line in lines)
    assert f"{bad}:8: services[0].agency: 'so-xd' is not a declared agency" in lines
    assert any(":11: services[0].endpoints[0].url: '/dkkd' is not an absolute URL" in x for x in lines)
    assert any(":12: services[1].id: duplicate service id 'dang-ky-kinh-doanh'" in x for x in lines)
    assert any(":16: roles.web.ports[1]: 70000 is not a port" in x for x in lines)
    assert "Traceback" not in res.stderr


def test_cli_check_and_show_example(dvcops_cli) -> None:
    assert dvcops_cli("catalog", "check", str(EXAMPLE)).returncode == 0
    res = dvcops_cli("catalog", "show", str(EXAMPLE), "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["defaults"]["interval"] == "1m"
    assert data["services"][1]["level"] == "toan-trinh"
    summary = dvcops_cli("catalog", "show", str(EXAMPLE))
    assert "Services per delivery" in summary.stdout and "toan-trinh" in summary.stdout


def test_normalised_json_is_itself_a_valid_catalogue(tmp_path: Path) -> None:
    data = load_catalog(EXAMPLE).to_data()
    again = tmp_path / "again.yml"
    again.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    assert load_catalog(again).to_data() == data


@pytest.mark.parametrize(("change", "expected"), [
    (("kind: department", "kind: ministry"), "t.yml:4: agencies[0].kind: 'ministry' is not allowed"),
    (("level: 3", "level: 5"), "t.yml:9: services[0].level: 5 is not a delivery level"),
    (("zone: dmz", "zone: internet"), "t.yml:13: hosts[0].zone: 'internet' is not allowed"),
    (("address: 10.20.1.11", "address: portal.example"), "t.yml:13: hosts[0].address: 'portal.example' is not an IP"),
    (("security_level: 3", "security_level: 6"), "t.yml:13: hosts[0].security_level: 6 is not a security level"),
    (("roles: [web]", "roles: [mail]"), "t.yml:13: hosts[0].roles[0]: role 'mail' is not declared under roles"),
    (("level: 3\n", "level: 3\n    slo: 1.0\n"), "t.yml:10: services[0].slo: 1.0: expected a fraction strictly"),
    (("level: 3\n", "level: 3\n    colour: red\n"), "t.yml:10: services[0].colour: unknown key 'colour'"),
    (("level: 3\n", "level: 3\n    interval: 5 minutes\n"),
     "t.yml:10: services[0].interval: '5 minutes' is not a duration"),
    (("- url: https://dichvucong.example/dkkd",
      "- {url: 'https://dichvucong.example/dkkd', conditions: ['[STATUS] 200']}"),
     "t.yml:11: services[0].endpoints[0].conditions: condition '[STATUS] 200' does not parse"),
    (("name: \"Đăng ký kinh doanh\"\n", "name: \"Đăng ký kinh doanh\"\n    name: x\n"),
     "t.yml:8: services[0].name: duplicate key 'name'"),
])
def test_each_rule_names_line_path_and_expectation(change: tuple[str, str], expected: str) -> None:
    lines = errors_of(MINIMAL.replace(*change, 1))
    assert any(line.startswith(expected) for line in lines), lines


def test_missing_required_field_points_at_its_parent() -> None:
    lines = errors_of(MINIMAL.replace("    agency: so-khdt\n", ""))
    assert lines == ["t.yml:6: services[0].agency: required field is missing"]


def test_not_yaml_is_one_line() -> None:
    assert errors_of("version: 1\nprovince: [unclosed\n")[0].startswith("t.yml:3: not valid YAML")


def test_vietnamese_names_are_nfc_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "Đăng ký kinh doanh")
    assert decomposed != "Đăng ký kinh doanh"
    cat = parse_catalog(MINIMAL.replace("Đăng ký kinh doanh", decomposed))
    assert cat.service("dang-ky-kinh-doanh").name == "Đăng ký kinh doanh"


def test_weekly_maintenance_windows_expand_over_a_period() -> None:
    cat = parse_catalog(MINIMAL + "maintenance:\n  - {services: [dang-ky-kinh-doanh], "
                        "start: '2025-01-05T01:00:00+07:00', duration: 2h, every: week}\n")
    (m,) = cat.maintenance_for("dang-ky-kinh-doanh")
    tz = m.start.tzinfo
    windows = list(m.windows(datetime(2025, 6, 1, tzinfo=tz), datetime(2025, 7, 1, tzinfo=tz)))
    assert [w[0].day for w in windows] == [1, 8, 15, 22, 29]  # Sundays of June 2025
    assert all(e - s == timedelta(hours=2) for s, e in windows)
    assert cat.maintenance_for("other") == []
