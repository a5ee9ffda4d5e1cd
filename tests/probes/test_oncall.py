"""On-call end to end, all real and on loopback (127.0.90.x): `dvcops probe serve` probing two agencies'
services, Debian's Prometheus loading the rules `dvcops alerts render` wrote, Debian's Alertmanager with
its alertmanager.yml, an SMTP sink (aiosmtpd) and a webhook listener as the contacts' inboxes.

One outage hits two services of agency so-a; one of them is in a catalogue maintenance window that
`dvcops alerts silences` turned into a silence. so-a's contacts get one page, in Vietnamese, naming
the service, the agency, the reason and a link, then "resolved"; nothing about the service under
maintenance; agency so-b gets nothing. Timings are divided by 60 (`--time-scale`, tests only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dvcops.system import require_program, stop_process, wait_until_answers
from tests.conftest import ROOT, run_dvcops, wait_for
from tests.probes.oncall_servers import Hooks, SmtpSink, Switch, smtp_sink, switchable_service, webhook_listener

pytestmark = pytest.mark.slow
SMTP = ("127.0.90.1", 2525)
HOOKS = ("127.0.90.2", 8080)
EXPORTER = "127.0.90.10:9115"
PROMETHEUS = "127.0.90.11:9090"
ALERTMANAGER = "127.0.90.12:9093"
AM_URL = f"http://{ALERTMANAGER}"


def catalogue(now: datetime) -> dict[str, Any]:
    return {
        "version": 1,
        "province": {"code": "OC", "name": "Tỉnh Trực Ban", "reviewer": "Sở Khoa học và Công nghệ"},
        "defaults": {"interval": "1s", "timeout": "2s", "slo": 0.99},
        "agencies": [{"id": "so-a", "name": "Sở Tư pháp", "kind": "department"},
                     {"id": "so-b", "name": "Sở Xây dựng", "kind": "department"}],
        "services": [
            {"id": "ly-lich-tu-phap", "name": "Cấp phiếu lý lịch tư pháp", "agency": "so-a", "level": 4,
             "endpoints": [{"url": "http://127.0.90.3:8080/"}]},
            {"id": "chung-thuc", "name": "Chứng thực bản sao", "agency": "so-a", "level": 3,
             "endpoints": [{"url": "http://127.0.90.4:8080/"}]},
            {"id": "cap-phep-xay-dung", "name": "Cấp giấy phép xây dựng", "agency": "so-b", "level": 3,
             "endpoints": [{"url": "http://127.0.90.5:8080/"}]},
        ],
        "maintenance": [{"services": ["chung-thuc"], "start": (now - timedelta(minutes=1)).isoformat(),
                         "duration": "2h", "reason": "Nâng cấp máy chủ"}],
        "oncall": {"email": {"relay": f"{SMTP[0]}:{SMTP[1]}", "sender": "canh-bao@tinh.example",
                             "require_tls": False}},
        "contacts": [
            {"name": "Tổ trực Sở Tư pháp", "agency": "so-a", "email": ["truc-ban@so-a.example"],
             "webhooks": [f"http://{HOOKS[0]}:{HOOKS[1]}/so-a"]},
            {"name": "Tổ trực Sở Xây dựng", "agency": "so-b", "email": ["truc-ban@so-b.example"],
             "webhooks": [f"http://{HOOKS[0]}:{HOOKS[1]}/so-b"]},
        ],
    }




@dataclass
class Stack:
    tmp: Path
    catalog: Path
    rendered: Path
    smtp: SmtpSink
    hooks: Hooks
    switches: dict[str, Switch]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("oncall")
    catalog = tmp / "catalog.yml"
    catalog.write_text(yaml.safe_dump(catalogue(datetime.now(UTC)), allow_unicode=True), encoding="utf-8")
    rendered = tmp / "alerting"
    done = run_dvcops("alerts", "render", "--catalog", str(catalog), "--out", str(rendered), "--time-scale", "60")
    assert done.returncode == 0, done.stderr
    (tmp / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rendered / "dvcops.rules.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [ALERTMANAGER]}]}]},
        "scrape_configs": [{"job_name": "dvcops_prober", "static_configs": [{"targets": [EXPORTER]}]}],
    }))
    procs: list[subprocess.Popen[bytes]] = []
    with (smtp_sink(*SMTP) as smtp, webhook_listener(*HOOKS) as hooks,
          switchable_service("127.0.90.3", 8080) as a1, switchable_service("127.0.90.4", 8080) as a2,
          switchable_service("127.0.90.5", 8080) as b):
        try:
            procs.append(subprocess.Popen(
                [str(require_program("prometheus-alertmanager")), f"--config.file={rendered / 'alertmanager.yml'}",
                 f"--storage.path={tmp / 'am'}", f"--web.listen-address={ALERTMANAGER}", "--cluster.listen-address=",
                 f"--web.external-url={AM_URL}/"],
                stdout=(tmp / "alertmanager.log").open("wb"), stderr=subprocess.STDOUT))
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "dvcops", "probe", "serve", "--catalog", str(catalog), "--listen", EXPORTER,
                 "--no-record", "--log-format", "json"], cwd=ROOT, stdout=(tmp / "serve.log").open("wb"),
                stderr=subprocess.STDOUT, env={**os.environ, "DVCOPS_PROBE_JITTER": "0.2"}))
            procs.append(subprocess.Popen(
                [str(require_program("prometheus")), f"--config.file={tmp / 'prometheus.yml'}",
                 f"--storage.tsdb.path={tmp / 'tsdb'}", f"--web.listen-address={PROMETHEUS}",
                 f"--web.external-url=http://{PROMETHEUS}/"],
                stdout=(tmp / "prometheus.log").open("wb"), stderr=subprocess.STDOUT))
            for url, proc in ((f"{AM_URL}/-/ready", procs[0]), (f"http://{EXPORTER}/-/healthy", procs[1]),
                              (f"http://{PROMETHEUS}/-/ready", procs[2])):
                assert wait_until_answers(url, 30, proc), f"{url} did not answer; see the logs in {tmp}"
            yield Stack(tmp, catalog, rendered, smtp, hooks, {"ly-lich-tu-phap": a1, "chung-thuc": a2,
                                                              "cap-phep-xay-dung": b})
        finally:
            for proc in reversed(procs):
                stop_process(proc)


def test_rendered_files_pass_amtool_and_promtool(stack: Stack) -> None:
    am = subprocess.run([str(require_program("amtool")), "check-config", str(stack.rendered / "alertmanager.yml")],
                        capture_output=True, text=True, timeout=60)
    assert am.returncode == 0 and "SUCCESS" in am.stdout and "1 templates" in am.stdout, am.stdout + am.stderr
    rules = subprocess.run([str(require_program("promtool")), "check", "rules",
                            str(stack.rendered / "dvcops.rules.yml")], capture_output=True, text=True, timeout=60)
    assert rules.returncode == 0 and "SUCCESS" in rules.stdout, rules.stdout + rules.stderr
    routes = {labels: subprocess.run(
        [str(require_program("amtool")), "config", "routes", "test",
         f"--config.file={stack.rendered / 'alertmanager.yml'}", *labels.split()],
        capture_output=True, text=True, timeout=60).stdout.strip()
        for labels in ("agency=so-a service=ly-lich-tu-phap severity=page", "agency=so-b severity=ticket",
                       "agency=so-x severity=page")}
    assert routes == {"agency=so-a service=ly-lich-tu-phap severity=page": "so-a-page",
                      "agency=so-b severity=ticket": "so-b-ticket", "agency=so-x severity=page": "khong-gui"}


def _dvcops_silences() -> list[dict[str, Any]]:
    silences = httpx.get(f"{AM_URL}/api/v2/silences", timeout=5).json()
    return [s for s in silences if s["createdBy"] == "dvcops" and s["status"]["state"] in ("active", "pending")]


def _page_notifications(hooks: Hooks, path: str, status: str) -> list[dict[str, Any]]:
    return [n for n in hooks.at(path) if n["status"] == status and n["commonLabels"].get("severity") == "page"]


def test_outage_pages_the_owning_agency_once_silences_maintenance_and_resolves(stack: Stack) -> None:
    first = run_dvcops("alerts", "silences", "--catalog", str(stack.catalog), "--alertmanager", AM_URL, "--json")
    assert first.returncode == 0, first.stderr
    again = run_dvcops("alerts", "silences", "--catalog", str(stack.catalog), "--alertmanager", AM_URL, "--json")
    assert again.returncode == 0, again.stderr
    assert len(json.loads(first.stdout)["created"]) == 1
    assert json.loads(again.stdout) == {"created": [], "kept": json.loads(first.stdout)["created"], "expired": []}
    silences = _dvcops_silences()
    assert len(silences) == 1 and silences[0]["matchers"][0]["value"] == "chung-thuc"

    wait_for(lambda: float(httpx.get(f"http://{PROMETHEUS}/api/v1/query", timeout=5, params={
        "query": 'sum(probe_attempts_total{job="dvcops_prober"})'}).json()["data"]["result"][0]["value"][1]) >= 9,
        30, "a few successful attempts scraped")
    stack.switches["ly-lich-tu-phap"].up = False
    stack.switches["chung-thuc"].up = False

    firing = wait_for(lambda: _page_notifications(stack.hooks, "/so-a", "firing"), 90, "so-a's page")
    # the service under maintenance: its endpoint alert fires in Prometheus and Alertmanager silences it
    suppressed = wait_for(lambda: [a for a in httpx.get(f"{AM_URL}/api/v2/alerts", timeout=5, params={
        "filter": 'service="chung-thuc"'}).json() if a["status"]["state"] == "suppressed"
        and a["status"]["silencedBy"] == [silences[0]["id"]]], 60, "the maintenance alert, silenced")
    assert suppressed[0]["labels"]["alertname"] == "ProbeEndpointDown"
    stack.switches["ly-lich-tu-phap"].up = True
    wait_for(lambda: _page_notifications(stack.hooks, "/so-a", "resolved"), 90, "so-a's resolved page")
    wait_for(lambda: any("ĐÃ KHẮC PHỤC" in m.subject for m in stack.smtp.to("truc-ban@so-a.example")), 30,
             "the resolved e-mail")
    stack.switches["chung-thuc"].up = True

    firing = _page_notifications(stack.hooks, "/so-a", "firing")
    assert len(firing) == 1, json.dumps(firing, ensure_ascii=False)[:2000]
    alert = firing[0]["alerts"][0]
    assert firing[0]["commonLabels"]["service"] == "ly-lich-tu-phap"
    assert alert["labels"]["alertname"] == "ProbeErrorBudgetBurnFast"
    assert alert["labels"]["service_name"] == "Cấp phiếu lý lịch tư pháp"
    assert alert["labels"]["agency_name"] == "Sở Tư pháp"
    assert "Cấp phiếu lý lịch tư pháp (Sở Tư pháp): ngân sách lỗi đang cạn nhanh" in alert["annotations"]["summary"]
    assert alert["annotations"]["reason"] == "mã trạng thái HTTP không đạt (status)"
    assert alert["generatorURL"].startswith(f"http://{PROMETHEUS}/graph?")

    mails = [m for m in stack.smtp.to("truc-ban@so-a.example") if "KHẨN" in m.subject]
    assert len(mails) == 1, [m.subject for m in stack.smtp.to("truc-ban@so-a.example")]
    assert "Cấp phiếu lý lịch tư pháp — Sở Tư pháp" in mails[0].subject and "Sự cố" in mails[0].subject
    body = mails[0].text
    assert "Nguyên nhân" in body and "mã trạng thái HTTP không đạt (status)" in body
    assert f"http://{PROMETHEUS}/graph" in body
    assert "Cơ quan" in body and "Sở Tư pháp" in body

    everything = json.dumps(stack.hooks.at("/so-a"), ensure_ascii=False) + "".join(
        m.subject + m.text for m in stack.smtp.mails)
    assert "chung-thuc" not in everything and "Chứng thực bản sao" not in everything  # maintenance: nobody told
    assert stack.hooks.at("/so-b") == [] and stack.smtp.to("truc-ban@so-b.example") == []  # another agency: nothing

    log = [json.loads(line) for line in (stack.tmp / "serve.log").read_text().splitlines() if line.startswith("{")]
    changes = [(e["service"], e["from_state"], e["to_state"]) for e in log if e.get("event") == "state_change"]
    assert ("ly-lich-tu-phap", "up", "down") in changes and ("ly-lich-tu-phap", "down", "up") in changes
    down = next(e for e in log if e.get("event") == "state_change" and e["to_state"] == "down")
    assert down["reason"] == "status" and "503" in down["error"]
    assert not any(s == "chung-thuc" for s, _, _ in changes)  # in maintenance: no charged transition


def test_silences_follow_the_catalogue(stack: Stack) -> None:
    """A window moved to another service: its silence is created, the old one expired, nothing duplicated."""
    data = yaml.safe_load(stack.catalog.read_text(encoding="utf-8"))
    data["maintenance"][0]["services"] = ["cap-phep-xay-dung"]
    moved = stack.tmp / "moved.yml"
    moved.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    before = _dvcops_silences()
    done = run_dvcops("alerts", "silences", "--catalog", str(moved), "--alertmanager", AM_URL, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["created"]) == 1 and result["kept"] == [] and result["expired"] == [s["id"] for s in before]
    after = _dvcops_silences()
    assert [(s["id"], s["matchers"][0]["value"]) for s in after] == [(result["created"][0], "cap-phep-xay-dung")]


def test_silences_for_an_unreachable_alertmanager_is_bad_input(stack: Stack) -> None:
    done = run_dvcops("alerts", "silences", "--catalog", str(stack.catalog), "--alertmanager", "http://127.0.90.99:9")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "http://127.0.90.99:9" in lines[0] and "cannot reach Alertmanager" in lines[0]
