"""The catalogue's on-call part (contacts, severity routing, working hours) and `catalog import-blackbox`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dvcops.catalog import parse_catalog
from dvcops.errors import CatalogError

BASE = """\
version: 1
province: {code: HG, name: "Tỉnh Hà Giang", reviewer: "Sở KH&CN"}
agencies:
  - {id: so-khdt, name: "Sở Kế hoạch và Đầu tư", kind: department}
services:
  - {id: dkkd, name: "Đăng ký kinh doanh", agency: so-khdt, level: 3}
oncall:
  email: {relay: "127.0.90.1:2525", sender: canh-bao@tinh.example}
contacts:
  - name: Tổ trực
    agency: so-khdt
    email: [truc-ban@so-khdt.example]
    webhooks: ["http://127.0.90.2:8080/so-khdt"]
    severities: [page, ticket]
"""


def test_contacts_load_with_their_defaults() -> None:
    cat = parse_catalog(BASE + "  - {name: Văn thư, service: dkkd, webhook_secrets: [chat-so-khdt], hours: working}\n")
    first, second = cat.contacts
    assert first.severities == ["page", "ticket"] and first.hours == "always"
    assert second.service == "dkkd" and second.severities == ["page", "ticket"]
    assert cat.oncall.working_hours.days == ["mon", "tue", "wed", "thu", "fri"]
    assert (cat.oncall.working_hours.start, cat.oncall.working_hours.end) == ("07:30", "17:00")
    assert cat.contacts_of(agency_id="so-khdt") == [first] and cat.contacts_of(service_id="dkkd") == [second]


@pytest.mark.parametrize("change, expected", [
    (("truc-ban@so-khdt.example", "truc-ban@"),
     "catalog.yml:12: contacts[0].email[0]: 'truc-ban@' is not an e-mail address: expected name@domain"),
    (('"http://127.0.90.2:8080/so-khdt"', '"127.0.90.2/so-khdt"'),
     "catalog.yml:13: contacts[0].webhooks[0]: '127.0.90.2/so-khdt' is not a webhook URL: expected http(s)://"),
    (("agency: so-khdt\n    email", "agency: so-xd\n    email"),
     "catalog.yml:11: contacts[0].agency: 'so-xd' is not a declared agency"),
    (("[page, ticket]", "[page, urgent]"),
     "catalog.yml:14: contacts[0].severities[1]: 'urgent' is not a severity: expected page or ticket"),
    (("  email: {relay", "  working_hours: {start: '17:00', end: '07:30'}\n  email: {relay"),
     "catalog.yml:8: oncall.working_hours.end: '07:30': working hours must end after they start (17:00)"),
    (("oncall:\n  email: {relay: \"127.0.90.1:2525\", sender: canh-bao@tinh.example}\n", ""),
     "catalog.yml:10: contacts[0].email: e-mail contacts need oncall.email"),
])
def test_each_oncall_rule_names_line_path_and_expectation(change: tuple[str, str], expected: str) -> None:
    text = BASE.replace(*change)
    assert text != BASE
    with pytest.raises(CatalogError) as err:
        parse_catalog(text)
    assert len(err.value.lines) == 1, err.value.lines
    assert err.value.lines[0].startswith(expected), err.value.lines


def test_a_contact_needs_one_scope_and_a_channel() -> None:
    with pytest.raises(CatalogError) as err:
        parse_catalog(BASE + "  - {name: Không kênh, agency: so-khdt, service: dkkd}\n")
    assert err.value.lines == ["catalog.yml:15: contacts[1]: give exactly one of agency or service"]


PROMETHEUS = """\
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params: {module: [http_ok]}
    static_configs: [{targets: ["https://dichvucong.example/", "portal.example/tra-cuu"]}]
    relabel_configs:
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [__param_target], target_label: instance}
      - {target_label: __address__, replacement: "127.0.0.1:9115"}
  - job_name: blackbox-tcp
    metrics_path: /probe
    file_sd_configs: [{files: [targets/*.yml]}]
    relabel_configs:
      - {target_label: __param_module, replacement: ssl}
  - job_name: dns
    metrics_path: /probe
    params: {module: [dns_portal]}
    static_configs: [{targets: ["10.0.0.53:53"]}]
  - job_name: node
    static_configs: [{targets: ["127.0.0.1:9100"]}]
"""
BLACKBOX = """\
modules:
  http_ok: {prober: http, http: {valid_status_codes: [200, 301], fail_if_body_not_matches_regexp: ["Dịch vụ"]}}
  ssl: {prober: tcp, tcp: {tls: true}}
  dns_portal: {prober: dns, dns: {query_name: portal.example, query_type: A}}
"""


def test_import_blackbox_writes_a_valid_draft_flagged_for_a_person(dvcops_cli, tmp_path: Path) -> None:
    (tmp_path / "prometheus.yml").write_text(PROMETHEUS)
    (tmp_path / "blackbox.yml").write_text(BLACKBOX, encoding="utf-8")
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "db.yml").write_text("- targets: ['10.0.0.7:5432']\n")
    out = tmp_path / "draft.yml"
    done = dvcops_cli("catalog", "import-blackbox", "--prometheus", str(tmp_path / "prometheus.yml"),
                      "--blackbox", str(tmp_path / "blackbox.yml"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert "NOTE: target https://dichvucong.example/ (module http_ok): not converted, add conditions by hand: " \
           "fail_if_body_not_matches_regexp" in text
    data = yaml.safe_load(text)
    eps = {s["id"]: s["endpoints"][0] for s in data["services"]}
    assert all(s["draft"] is True and s["agency"] == "chua-phan-cong" for s in data["services"])
    assert eps == {
        "dichvucong-example": {"url": "https://dichvucong.example/", "conditions": ["[STATUS] == any(200, 301)"]},
        "portal-example-tra-cuu": {"url": "http://portal.example/tra-cuu", "conditions": ["[STATUS] == any(200, 301)"]},
        "10-0-0-7-5432": {"url": "tls://10.0.0.7:5432"},
        "10-0-0-53-53": {"url": "dns://portal.example?type=A", "resolver": "10.0.0.53:53"},
    }
    check = dvcops_cli("catalog", "check", str(out))
    assert check.returncode == 0 and "4 services are imported drafts" in check.stdout, check.stdout
    again = dvcops_cli("catalog", "import-blackbox", "--prometheus", str(tmp_path / "prometheus.yml"),
                       "--blackbox", str(tmp_path / "blackbox.yml"), "--out", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr and out.read_text(encoding="utf-8") == text


def test_import_blackbox_bad_input_names_file_and_line(dvcops_cli, tmp_path: Path) -> None:
    (tmp_path / "prometheus.yml").write_text(PROMETHEUS.replace("[http_ok]", "[http_missing]"))
    (tmp_path / "blackbox.yml").write_text(BLACKBOX, encoding="utf-8")
    done = dvcops_cli("catalog", "import-blackbox", "--prometheus", str(tmp_path / "prometheus.yml"),
                      "--blackbox", str(tmp_path / "blackbox.yml"))
    assert done.returncode == 2
    assert done.stderr.strip() == (f"{tmp_path / 'prometheus.yml'}:4: scrape_configs[0].params: module 'http_missing' "
                                   f"is not in {tmp_path / 'blackbox.yml'}")
