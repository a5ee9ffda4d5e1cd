"""Fast checks of the playbooks part: lint, syntax, inventory from the catalogue, bad input, secrets handling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest
import yaml

from playbooks import PLAYBOOK_DIR, SITE
from playbooks import secrets as secret_store
from playbooks.errors import ProvisionError
from playbooks.runner import _environment
from tests.conftest import ROOT, run_dvcops

HA_GIANG = ROOT / "examples" / "ha-giang.yml"
CATALOG = Path(__file__).with_name("catalog.yml")
BIN = Path(sys.executable).parent


def test_ansible_lint_production_profile_has_no_violation() -> None:
    proc = subprocess.run([str(BIN / "ansible-lint"), "--nocolor", "--profile", "production"], cwd=PLAYBOOK_DIR,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Passed: 0 failure(s), 0 warning(s)" in out
    assert "Profile 'production' was required, and it passed" in out


def test_syntax_check_against_the_inventory_of_a_real_catalogue(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yml"
    assert run_dvcops("inventory", "--catalog", str(HA_GIANG), "--output", str(inv)).returncode == 0
    proc = subprocess.run([str(BIN / "ansible-playbook"), "--syntax-check", "-i", str(inv), str(SITE)],
                          cwd=PLAYBOOK_DIR, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ANSIBLE_CONFIG": str(PLAYBOOK_DIR / "ansible.cfg")})
    assert proc.returncode == 0, proc.stderr
    assert "playbook: " in proc.stdout


def test_every_template_parses() -> None:
    env = jinja2.Environment()
    templates = sorted(PLAYBOOK_DIR.glob("roles/*/templates/**/*.j2"))
    assert len(templates) >= 20
    for t in templates:
        env.parse(t.read_text(encoding="utf-8"))  # raises TemplateSyntaxError naming the line


def test_every_role_has_argument_specs_and_role_prefixed_defaults() -> None:
    roles = sorted(p for p in (PLAYBOOK_DIR / "roles").iterdir() if p.is_dir())
    assert {r.name for r in roles} >= {"baseline", "ssh", "firewall", "nginx", "postgresql", "prometheus",
                                       "node_exporter", "survey", "prober"}
    for role in roles:
        specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
        defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
        for name in [*specs, *defaults]:
            assert name.startswith(role.name + "_"), f"{role.name}: variable {name} lacks the role prefix"
        assert set(defaults) <= set(specs), f"{role.name}: defaults without a spec: {set(defaults) - set(specs)}"


def test_inventory_from_the_catalogue(tmp_path: Path) -> None:
    proc = run_dvcops("inventory", "--catalog", str(HA_GIANG))
    assert proc.returncode == 0, proc.stderr
    inv = yaml.safe_load(proc.stdout)["all"]
    assert set(inv["children"]["role_web"]["hosts"]) == {"portal-1", "portal-2", "motcua-1"}
    assert set(inv["children"]["zone_app"]["hosts"]) == {"dvc-app-1", "dvc-app-2", "dvc-app-3"}
    assert set(inv["children"]["role_app"]["hosts"]) == {"dvc-app-1", "dvc-app-2", "dvc-app-3"}
    mon = inv["hosts"]["mon-1"]
    assert mon["ansible_host"] == "10.20.4.41" and mon["dvcops_zone"] == "mgmt"
    assert mon["dvcops_roles"] == ["monitoring", "survey"]
    assert mon["dvcops_allowed_ports"] == [8000, 9090, 9100, 9115]
    assert mon["dvcops_security_level"] == 2
    assert inv["vars"]["dvcops_catalog_file"] == str(HA_GIANG.resolve())
    # Ansible itself reads it the same way
    path = tmp_path / "inv.yml"
    path.write_text(proc.stdout)
    listed = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(path), "--list"], capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert sorted(data["role_db"]["hosts"]) == ["db-1"]
    assert data["_meta"]["hostvars"]["bastion-1"]["dvcops_allowed_ports"] == [22]


def test_plan_shows_roles_per_host() -> None:
    proc = run_dvcops("inventory", "--catalog", str(CATALOG), "--plan", env={"COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    lines = {ln.split("│")[1].strip(): ln for ln in proc.stdout.splitlines() if ln.startswith("│")}
    assert "nginx" in lines["web-1"] and "survey" in lines["web-1"] and "postgresql" not in lines["web-1"]
    assert "postgresql" in lines["mon-1"] and "prometheus" in lines["mon-1"] and "node_exporter" in lines["mon-1"]


def _secrets_dir(tmp_path: Path, mode: int = 0o600, **values: str) -> Path:
    d = tmp_path / "secrets"
    d.mkdir()
    for name, value in values.items():
        (d / name).write_text(value)
        (d / name).chmod(mode)
    return d


def test_missing_secrets_are_bad_input_naming_each(tmp_path: Path) -> None:
    d = _secrets_dir(tmp_path, db_password="x" * 20)
    proc = run_dvcops("provision", "--catalog", str(CATALOG), "--secrets-dir", str(d), state=tmp_path / "st")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2
    assert "secret 'survey_admin_password'" in lines[0] and "DVCOPS_SECRET_SURVEY_ADMIN_PASSWORD" in lines[0]
    assert "secret 'survey_hmac_key'" in lines[1] and "Traceback" not in proc.stderr


def test_readable_secret_file_is_refused(tmp_path: Path) -> None:
    d = _secrets_dir(tmp_path, 0o644, db_password="x" * 20, survey_admin_password="y" * 20, survey_hmac_key="z" * 40)
    proc = run_dvcops("provision", "--catalog", str(CATALOG), "--secrets-dir", str(d), state=tmp_path / "st")
    assert proc.returncode == 2
    assert f"{d / 'db_password'}: secret file is readable by others (mode 0644): run chmod 600" in proc.stderr


def test_secrets_from_environment_and_never_from_the_repo(tmp_path: Path) -> None:
    env = {"DVCOPS_SECRET_DB_PASSWORD": "from-the-environment-1"}
    assert secret_store.load(["db_password"], None, env) == {"db_password": "from-the-environment-1"}
    with pytest.raises(ProvisionError, match="at least 12 characters"):
        secret_store.load(["db_password"], None, {"DVCOPS_SECRET_DB_PASSWORD": "short"})
    with pytest.raises(ProvisionError, match="must not live in the repository"):
        secret_store.load(["db_password"], PLAYBOOK_DIR, {})  # a folder inside the checkout


def test_each_secret_has_the_minimum_its_consumer_enforces() -> None:
    """The survey refuses HMAC keys under 32 characters: 24 must fail before the run, not loop the unit after it."""
    env = {"DVCOPS_SECRET_SURVEY_HMAC_KEY": "k" * 24, "DVCOPS_SECRET_DB_PASSWORD": "p" * 24}
    with pytest.raises(ProvisionError) as err:
        secret_store.load(["survey_hmac_key", "db_password"], None, env)
    assert err.value.lines == ["secret 'survey_hmac_key' (key that hashes dossier codes in the survey): expected one "
                               "line of at least 32 characters (got 24)"]
    env["DVCOPS_SECRET_SURVEY_HMAC_KEY"] = "k" * 32
    assert secret_store.load(["survey_hmac_key"], None, env) == {"survey_hmac_key": "k" * 32}


def test_secrets_file_is_private_and_removed() -> None:
    with secret_store.secrets_file({"db_password": "abc-secret-value"}) as path:
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
        assert json.loads(path.read_text()) == {"dvcops_secrets": {"db_password": "abc-secret-value"}}
    assert not path.exists() and not path.parent.exists()


def test_runner_environment_is_an_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DVCOPS_SECRET_DB_PASSWORD", "leak-me-not")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "leak-me-not-either")
    monkeypatch.setenv("ANSIBLE_FORKS", "3")
    env = _environment({"ANSIBLE_CONFIG": "/x/ansible.cfg"})
    assert "DVCOPS_SECRET_DB_PASSWORD" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert env["ANSIBLE_FORKS"] == "3" and env["ANSIBLE_CONFIG"] == "/x/ansible.cfg"
    assert env["PATH"].split(os.pathsep)[0] == str(BIN)


@pytest.mark.parametrize("args,message", [
    (["--limit", "web-9"], "--limit web-9: 'web-9' is neither a catalogue host nor a group"),
    (["--chroot-root", "/nonexistent-dvcops"], "is not a Debian tree (no etc/debian_version)"),
    (["--wheel", str(CATALOG)], "expected a dvcops-*.whl file"),
    (["--tags", "ssh; rm"], "expected comma-separated tag names"),
    (["--rules", "/nonexistent.rules.yml"], "--rules /nonexistent.rules.yml: no such file"),
])
def test_bad_options_are_one_line_errors(tmp_path: Path, args: list[str], message: str) -> None:
    proc = run_dvcops("provision", "--catalog", str(CATALOG), *args, state=tmp_path / "st")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_bad_catalogue_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\nprovince: {code: X, name: X, reviewer: X}\n"
                   "hosts: [{name: a, address: nope, zone: dmz}]\n")
    proc = run_dvcops("inventory", "--catalog", str(bad))
    assert proc.returncode == 2
    assert "hosts[0].address: 'nope' is not an IP address" in proc.stderr
