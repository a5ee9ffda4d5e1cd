"""The alertmanager role and its wiring, without a converge: the secrets the catalogue's on-call part needs,
the filter that puts secret webhook URLs in, and the real templates rendered by Ansible and checked by
amtool check-config and promtool check config (the role's own `validate:` commands)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dvcops.catalog import parse_catalog
from dvcops.system import require_program
from playbooks import PLAYBOOK_DIR
from playbooks import secrets as secret_store
from playbooks.errors import ProvisionError
from tests.conftest import run_dvcops

BIN = Path(sys.executable).parent
CATALOG = """
version: 1
province: {code: PB, name: "Tỉnh Diễn Tập", reviewer: "Sở KH&CN"}
agencies: [{id: so-khcn, name: "Sở Khoa học và Công nghệ", kind: department}]
services: [{id: khao-sat, name: "Khảo sát", agency: so-khcn, level: 2, endpoints: [{url: "https://127.0.80.1/"}]}]
hosts: [{name: mon-1, address: 127.0.80.2, zone: data, roles: [monitoring]}]
roles: {monitoring: {ports: [9090, 9100, 9115]}}
oncall:
  email: {relay: "mail.tinh.example:587", sender: canh-bao@tinh.example, username: canhbao}
  operator: so-khcn
contacts:
  - {name: Trung tâm, agency: so-khcn, email: [truc-ban@tinh.example], webhook_secrets: [chat-so-khcn]}
"""


def _filter() -> object:
    path = PLAYBOOK_DIR / "roles/alertmanager/filter_plugins/alertmanager_secrets.py"
    spec = importlib.util.spec_from_file_location("alertmanager_secrets", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.alertmanager_secret_urls


def test_the_catalogue_names_the_oncall_secrets_a_monitoring_host_needs() -> None:
    cat = parse_catalog(CATALOG)
    assert secret_store.needed(cat) == ["alertmanager_smtp_password", "alertmanager_webhook_chat_so_khcn"]
    with pytest.raises(ProvisionError) as err:
        secret_store.load(secret_store.needed(cat), None, {"DVCOPS_SECRET_ALERTMANAGER_SMTP_PASSWORD": "x" * 16})
    assert err.value.lines == ["secret 'alertmanager_webhook_chat_so_khcn' (URL of an on-call webhook (webhook_secrets "
                               "in the catalogue)) is missing: put it in --secrets-dir DIR with a file "
                               "'alertmanager_webhook_chat_so_khcn' (mode 0600), or set "
                               "DVCOPS_SECRET_ALERTMANAGER_WEBHOOK_CHAT_SO_KHCN"]
    no_monitoring = parse_catalog(CATALOG.replace("roles: [monitoring]", "roles: []"))
    assert secret_store.needed(no_monitoring) == []


def test_secret_webhook_urls_are_put_in_and_a_missing_one_is_named() -> None:
    fill = _filter()
    text = "url: https://dvcops-secret.invalid/alertmanager_webhook_chat_so_khcn\n"
    assert fill(text, {"alertmanager_webhook_chat_so_khcn": "https://chat.example/bot/T0K3N"}) == \
        "url: https://chat.example/bot/T0K3N\n"  # type: ignore[operator]
    with pytest.raises(Exception, match="needs these secrets .*: alertmanager_webhook_chat_so_khcn"):
        fill(text, {})  # type: ignore[operator]


PLAY = """
- name: Render the role templates locally
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: prometheus.yml
      ansible.builtin.template:
        src: "{{ playbook_dir_roles }}/prometheus/templates/etc/prometheus/prometheus.yml.j2"
        dest: "{{ out }}/prometheus.yml"
        mode: "0644"
      vars:
        prometheus_listen_address: 127.0.0.1
        prometheus_port: 9090
        prometheus_scrape_interval: 30s
        prometheus_evaluation_interval: 30s
        prometheus_rules_dir: "{{ out }}/rules"
        prometheus_node_targets: ["127.0.80.2:9100"]
        prometheus_prober_targets: ["127.0.80.2:9115"]
        prometheus_survey_targets: []
        prometheus_alertmanager_targets: ["127.0.0.1:9093"]
        prometheus_prober_instance_is_endpoint: true
    - name: alertmanager.yml with the secrets put in
      ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.file', rendered) | alertmanager_secret_urls(urls) }}\\n"
        dest: "{{ out }}/alertmanager.yml"
        mode: "0640"
        validate: amtool check-config %s
"""


def test_templates_render_and_pass_the_daemons_checkers(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(CATALOG, encoding="utf-8")
    done = run_dvcops("alerts", "render", "--catalog", str(catalog), "--out", str(tmp_path / "alerting"))
    assert done.returncode == 0, done.stderr
    (tmp_path / "play.yml").write_text(PLAY)
    extra = {"out": str(tmp_path), "playbook_dir_roles": str(PLAYBOOK_DIR / "roles"),
             "rendered": str(tmp_path / "alerting" / "alertmanager.yml"),
             "urls": {"alertmanager_webhook_chat_so_khcn": "https://chat.example/bot/T0K3N"}}
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(tmp_path / "play.yml"),
                           "-e", json.dumps(extra)], capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}",
                               "ANSIBLE_FILTER_PLUGINS": str(PLAYBOOK_DIR / "roles/alertmanager/filter_plugins"),
                               "ANSIBLE_NOCOLOR": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    prom = yaml.safe_load((tmp_path / "prometheus.yml").read_text())
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9093"]
    prober = next(j for j in prom["scrape_configs"] if j["job_name"] == "dvcops_prober")
    assert prober["metric_relabel_configs"] == [{"source_labels": ["endpoint"], "regex": "(.+)",
                                                 "target_label": "instance"}]
    check = subprocess.run([str(require_program("promtool")), "check", "config", str(tmp_path / "prometheus.yml")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    am = yaml.safe_load((tmp_path / "alertmanager.yml").read_text(encoding="utf-8"))
    hooks = [w["url"] for r in am["receivers"] for w in r.get("webhook_configs", [])]
    assert hooks and set(hooks) == {"https://chat.example/bot/T0K3N"}
    assert am["global"]["smtp_auth_password_file"] == "/etc/prometheus/alertmanager-smtp-password"
    tasks = yaml.safe_load((PLAYBOOK_DIR / "roles/alertmanager/tasks/main.yml").read_text(encoding="utf-8"))
    secret_tasks = [t for t in tasks if "alertmanager_secret_urls" in json.dumps(t) or "smtp_password }}" in
                    json.dumps(t)]
    assert len(secret_tasks) == 2 and all(t.get("no_log") is True and t.get("diff") is False for t in secret_tasks)
    assert all(t["ansible.builtin.copy"].get("validate", "amtool check-config %s") == "amtool check-config %s"
               for t in secret_tasks)
