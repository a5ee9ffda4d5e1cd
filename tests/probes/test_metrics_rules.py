"""/metrics keeps blackbox_exporter's names and meaning and passes `promtool check metrics`; the
generated rules pass `promtool check rules` and their alerts fire as designed (`promtool test rules`);
the Grafana dashboard only uses series that exist."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from dvcops.catalog import load_catalog, parse_catalog
from dvcops.system import require_program
from probes.engine import Prober
from probes.metrics import ProbeMetrics
from probes.rules import rules, rules_yaml
from tests.probes.conftest import target
from tests.probes.servers import DNS, DNS_PORT, EXPIRED, HTTP, ProbeTestServers

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "probes" / "dashboards" / "dvcops-probes.json"


@pytest.fixture(scope="module")
def exposition(servers: ProbeTestServers) -> str:
    targets = [target(f"http://{HTTP}:8080/ok", service="ok"), target(f"http://{HTTP}:8080/error", service="error"),
               target(f"https://{EXPIRED}:8443/ok", service="expired", ca_file=servers.pki.ca_file),
               target("dns://web.probe.test", service="dns", resolver=f"{DNS}:{DNS_PORT}", expect=(HTTP,)),
               target(f"http://{HTTP}:8080/redirect/2", service="redirect")]
    prober = Prober(targets)
    metrics = ProbeMetrics(targets)
    for _ in range(2):
        for t, r in zip(targets, asyncio.run(prober.cycle()), strict=True):
            metrics.observe(r, t)
    return metrics.exposition().decode()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k in ("service", "phase", "reason", "cause",
                                                                               "version", "le")))
            out[(s.name, labels)] = s.value
    return out


def test_blackbox_names_and_values(exposition: str, servers: ProbeTestServers) -> None:
    s = _samples(exposition)
    assert s[("probe_success", (("service", "ok"),))] == 1
    assert s[("probe_success", (("service", "error"),))] == 0
    assert s[("probe_http_status_code", (("service", "error"),))] == 500
    assert s[("probe_http_redirects", (("service", "redirect"),))] == 2
    assert s[("probe_http_ssl", (("service", "ok"),))] == 0
    assert s[("probe_http_version", (("service", "ok"),))] == 1.1
    for phase in ("resolve", "connect", "tls", "processing", "transfer"):
        assert ("probe_http_duration_seconds", (("phase", phase), ("service", "ok"))) in s
    # the expired certificate: verification failed, yet its expiry is exported
    assert s[("probe_ssl_earliest_cert_expiry", (("service", "expired"),))] == \
        servers.pki.expiry[EXPIRED].timestamp()
    assert ("probe_ssl_last_chain_expiry_timestamp_seconds", (("service", "expired"),)) not in s
    assert any(k[0] == "probe_tls_version_info" and ("service", "expired") in k[1] for k in s)
    assert s[("probe_dns_answer_rrs", (("service", "dns"),))] == 1
    assert s[("probe_success", (("service", "dns"),))] == 1


def test_counters_a_stateless_exporter_cannot_keep(exposition: str) -> None:
    s = _samples(exposition)
    assert s[("probe_attempts_total", (("service", "error"),))] == 2
    assert s[("probe_failures_total", (("reason", "status"), ("service", "error")))] == 2
    assert s[("probe_failures_total", (("reason", "tls"), ("service", "expired")))] == 2
    assert s[("probe_failures_total", (("reason", "connect"), ("service", "error")))] == 0  # all reasons exported
    assert s[("probe_excluded_total", (("cause", "maintenance"), ("service", "ok")))] == 0
    assert s[("probe_attempt_duration_seconds_count", (("service", "ok"),))] == 2
    assert s[("probe_attempt_duration_seconds_bucket", (("le", "+Inf"), ("service", "error")))] == 0


def test_promtool_check_metrics(exposition: str) -> None:
    done = subprocess.run([str(require_program("promtool")), "check", "metrics"], input=exposition,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_reload_keeps_counters_of_targets_that_stay() -> None:
    a, b = target("http://127.0.31.10:8080/a", service="a"), target("http://127.0.31.10:8080/b", service="b")
    metrics = ProbeMetrics([a, b])
    metrics.series[a.key].attempts = metrics.series[b.key].attempts = 7
    c = target("http://127.0.31.10:8080/c", service="c")
    metrics.set_targets([a, c])
    s = _samples(metrics.exposition().decode())
    assert s[("probe_attempts_total", (("service", "a"),))] == 7
    assert s[("probe_attempts_total", (("service", "c"),))] == 0
    assert not any(("service", "b") in k[1] for k in s)


def test_generated_rules_pass_promtool(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(rules_yaml(load_catalog(ROOT / "examples" / "ha-giang.yml")), encoding="utf-8")
    done = subprocess.run([str(require_program("promtool")), "check", "rules", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


UNIT_CATALOG = """
version: 1
province: {code: HG, name: "Tỉnh Hà Giang", reviewer: "Sở KH&CN"}
agencies: [{id: so-khdt, name: "Sở Kế hoạch và Đầu tư", kind: department}]
services:
  - {id: dkkd, name: "Đăng ký kinh doanh", agency: so-khdt, level: 3, slo: 0.999, endpoints: [{url: "https://dvc.example/a"}]}
"""


def test_alerts_fire_as_designed(tmp_path: Path) -> None:
    """A service failing every attempt from minute 31 pages by minute 40, not before, and tickets once its
    `for:` (1h) has passed; the endpoint-down ticket names the reason; a certificate with 10 days left is a
    ticket but not a page; series of another job never match."""
    cat = parse_catalog(UNIT_CATALOG)
    (tmp_path / "rules.yml").write_text(rules_yaml(cat), encoding="utf-8")
    lv = 'service="dkkd",agency="so-khdt",level="3",endpoint="https://dvc.example/a"'
    other = 'service="dkkd",agency="so-khdt",level="3",endpoint="https://dvc.example/a",job="other-exporter"'
    page = next(r for r in rules(cat)["groups"][1]["rules"] if r.get("alert") == "ProbeErrorBudgetBurnFast")
    ticket = next(r for r in rules(cat)["groups"][1]["rules"] if r.get("alert") == "ProbeErrorBudgetBurnSlow")
    cert = rules(cat)["groups"][2]["rules"][0]
    reason = "không kết nối được (connect)"
    names = {"service_name": "Đăng ký kinh doanh", "agency_name": "Sở Kế hoạch và Đầu tư"}

    def expected(rule: dict[str, object], speed: str, en: str) -> dict[str, object]:
        return {"exp_labels": {**rule["labels"], "level": "3"},  # type: ignore[dict-item]
                "exp_annotations": {
                    "summary": f"Đăng ký kinh doanh (Sở Kế hoạch và Đầu tư): ngân sách lỗi đang cạn {speed} "
                               f"(SLO 99.900%), nguyên nhân: {reason}",
                    "summary_en": f"Đăng ký kinh doanh: error budget burning {en} (SLO 99.900%)",
                    "reason": reason,
                    "description": rule["annotations"]["description"]}}  # type: ignore[index]

    job = 'job="dvcops_prober"'
    tests = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [
            {"series": f"probe_attempts_total{{{lv},{job}}}", "values": "0+60x120"},
            {"series": f'probe_failures_total{{{lv},{job},reason="connect"}}', "values": "0x30 60+60x89"},
            {"series": f'probe_excluded_total{{{lv},{job},cause="maintenance"}}', "values": "0x120"},
            {"series": f'probe_excluded_total{{{lv},{job},cause="unknown"}}', "values": "0x120"},
            {"series": f"probe_success{{{lv},{job}}}", "values": "1x30 0x89"},
            {"series": f"probe_ssl_earliest_cert_expiry{{{lv},{job}}}", "values": f"{10 * 86400}x120"},
            {"series": f"probe_ssl_earliest_cert_expiry{{{other}}}", "values": "0x120"},
        ],
        "alert_rule_test": [
            {"eval_time": "25m", "alertname": "ProbeErrorBudgetBurnFast", "exp_alerts": []},
            {"eval_time": "40m", "alertname": "ProbeErrorBudgetBurnFast",
             "exp_alerts": [expected(page, "nhanh", "fast")]},
            {"eval_time": "40m", "alertname": "ProbeErrorBudgetBurnSlow", "exp_alerts": []},
            {"eval_time": "100m", "alertname": "ProbeErrorBudgetBurnSlow",
             "exp_alerts": [expected(ticket, "chậm", "slowly")]},
            {"eval_time": "40m", "alertname": "ProbeEndpointDown", "exp_alerts": [{
                "exp_labels": {"severity": "ticket", "service": "dkkd", "agency": "so-khdt", "level": "3",
                               "endpoint": "https://dvc.example/a", "job": "dvcops_prober", **names},
                "exp_annotations": {
                    "summary": f"Đăng ký kinh doanh (Sở Kế hoạch và Đầu tư): https://dvc.example/a không hoạt động, "
                               f"nguyên nhân: {reason}",
                    "summary_en": "Đăng ký kinh doanh: https://dvc.example/a is down", "reason": reason}}]},
            {"eval_time": "70m", "alertname": "ProbeCertificateExpiresSoon", "exp_alerts": [{
                "exp_labels": {**cert["labels"], "service": "dkkd", "agency": "so-khdt", "level": "3",
                               "endpoint": "https://dvc.example/a", "job": "dvcops_prober"},
                "exp_annotations": {
                    "summary": "Chứng chỉ của https://dvc.example/a (dkkd) hết hạn trong 9d 22h 50m 0s",
                    "summary_en": "Certificate of https://dvc.example/a (dkkd) expires in 9d 22h 50m 0s"}}]},
            {"eval_time": "70m", "alertname": "ProbeCertificateExpiresCritical", "exp_alerts": []},
        ],
    }]}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, allow_unicode=True), encoding="utf-8")
    done = subprocess.run([str(require_program("promtool")), "test", "rules", "tests.yml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dashboard_uses_only_series_that_exist(exposition: str) -> None:
    dash = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["query"]["query"] for v in dash["templating"]["list"] if isinstance(v.get("query"), dict)]
    exported = {s.name for f in text_string_to_metric_families(exposition) for s in f.samples}
    recorded = {r["record"] for g in rules(parse_catalog(UNIT_CATALOG))["groups"] for r in g["rules"] if "record" in r}
    used = {m for e in exprs for m in re.findall(r"\b(probe[a-z_:0-9]*)", e)}
    assert used and used <= exported | recorded, used - exported - recorded
    assert len({p["id"] for p in dash["panels"]}) == len(dash["panels"])
    # the prober's own series only (recorded ones are scoped by the rules), and 0 rather than "No data"
    for e in exprs:
        for selector in re.findall(r"\bprobe_[a-z_]+(\{[^}]*\})?", e):
            assert selector.startswith('{job=~"$job"'), e
    for p in dash["panels"]:
        if p["type"] == "stat" and "count(" in p["targets"][0]["expr"]:
            assert p["targets"][0]["expr"].endswith(" or vector(0)"), p["title"]
    assert next(v for v in dash["templating"]["list"] if v["name"] == "job")["query"]["query"] == \
        "label_values(dvcops_probe_targets, job)"
