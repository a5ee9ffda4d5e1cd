"""Real converges of site.yml into Debian 12 chroots (a web host and a db/monitoring host), checked with testinfra.

One session fixture converges, re-runs and dry-runs (`--check`) through the real CLI; these tests read
its results and the trees. Needs root (chroot, unshare) and network to Debian's mirror and PyPI only
when the cached base tarball has to be built.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any

import pytest
import testinfra
import yaml

from playbooks import PLAYBOOK_DIR
from tests.playbooks.conftest import ADMIN_KEY, HOSTS, TEST_SECRETS, Converged, nft_ruleset

pytestmark = pytest.mark.slow
SSH_DEFAULTS = yaml.safe_load((PLAYBOOK_DIR / "roles/ssh/defaults/main.yml").read_text())


def host(c: Converged, name: str) -> Any:
    return testinfra.get_host(str(c.tree(name)), connection="chroot")


def recap(c: Converged, label: str) -> dict[str, dict[str, Any]]:
    run = c.runs.get(label)
    assert run is not None, f"the {label} run did not happen (an earlier run failed): {c.runs}"
    assert run["rc"] == 0, f"{label} run failed: {json.dumps(run['recap'], ensure_ascii=False)[:3000]}"
    return {h["host"]: h for h in run["recap"]["hosts"]}


def test_first_converge_succeeds_on_every_host(converged: Converged) -> None:
    hosts = recap(converged, "first")
    assert set(hosts) == set(HOSTS)
    for name, h in hosts.items():
        assert h["failed"] == 0 and h["unreachable"] == 0, name
        assert h["ok"] > 30, f"{name}: too few tasks ran: {h}"
        assert h["changed"] > 0, f"{name}: a first converge of a fresh tree must change something"
    assert converged.runs["first"]["recap"]["ok"] is True


def test_second_run_changes_nothing(converged: Converged) -> None:
    for name, h in recap(converged, "second").items():
        assert h["changed"] == 0, f"{name} changed on a re-run: {h['changed_tasks']}"
        assert h["failed"] == 0 and h["unreachable"] == 0


def test_check_mode_on_converged_hosts_changes_nothing(converged: Converged) -> None:
    run = converged.runs["check"]
    assert run["recap"]["check"] is True
    for name, h in recap(converged, "check").items():
        assert h["changed"] == 0, f"{name} would change in --check: {h['changed_tasks']}"
        assert h["failed"] == 0


def test_sshd_is_hardened_and_keys_only(converged: Converged) -> None:
    for name in HOSTS:
        h = host(converged, name)
        cfg = h.run("/usr/sbin/sshd -T -C user=quantri,host=admin.example,addr=127.0.80.9")
        assert cfg.rc == 0, cfg.stderr
        settings = dict(line.split(" ", 1) for line in cfg.stdout.splitlines() if " " in line)
        assert settings["permitrootlogin"] == "no"
        assert settings["passwordauthentication"] == "no"
        assert settings["kbdinteractiveauthentication"] == "no"
        assert settings["authenticationmethods"] == "publickey"
        assert settings["maxauthtries"] == "4"
        assert settings["x11forwarding"] == "no"
        assert settings["ciphers"].split(",") == SSH_DEFAULTS["ssh_ciphers"]
        assert settings["macs"].split(",") == SSH_DEFAULTS["ssh_macs"]
        assert settings["kexalgorithms"].split(",") == SSH_DEFAULTS["ssh_kex_algorithms"]
        assert h.file("/home/quantri/.ssh/authorized_keys").content_string.strip() == ADMIN_KEY
        assert h.user("quantri").password.startswith("!"), "admin password must be locked"
        assert h.run("visudo -c").rc == 0
        assert "%dvcops-admins ALL=(ALL:ALL) NOPASSWD: ALL" in h.file("/etc/sudoers.d/dvcops-admins").content_string


def _accepted_tcp_ports(ruleset: dict[str, Any]) -> tuple[str, set[int]]:
    policy, ports = "", set()
    for item in ruleset["nftables"]:
        if "chain" in item and item["chain"]["name"] == "input":
            policy = item["chain"]["policy"]
        rule = item.get("rule")
        if not rule or rule["chain"] != "input" or not any("accept" in e for e in rule["expr"]):
            continue
        for e in rule["expr"]:
            match = e.get("match", {})
            if match.get("left", {}).get("payload", {}).get("field") == "dport":
                right = match["right"]
                values = right["set"] if isinstance(right, dict) and "set" in right else [right]
                ports |= {int(v) for v in values}
    return policy, ports


@pytest.mark.parametrize("name,expected", [("web-1", {80, 443, 8000, 9100}), ("mon-1", {5432, 9090, 9100, 9115})])
def test_nftables_allows_exactly_the_catalogue_ports(converged: Converged, name: str, expected: set[int]) -> None:
    h = host(converged, name)
    assert h.run("nft -c -f /etc/nftables.conf").rc == 0
    assert h.file("/etc/systemd/system/sysinit.target.wants/nftables.service").is_symlink
    policy, ports = _accepted_tcp_ports(nft_ruleset(converged.tree(name) / "etc/nftables.conf"))
    assert policy == "drop"
    assert ports == expected


def test_nginx_config_is_valid_with_tls_headers_and_rate_limits(converged: Converged) -> None:
    h = host(converged, "web-1")
    check = h.run("nginx -t")
    assert check.rc == 0, check.stderr
    dump = h.run("nginx -T").stdout
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in dump
    assert 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;' in dump
    assert 'add_header X-Content-Type-Options "nosniff" always;' in dump
    assert "limit_req zone=dvcops_per_ip burst=20 nodelay;" in dump
    assert "return 301 https://$host$request_uri;" in dump
    assert "proxy_pass http://127.0.0.1:8000;" in dump
    assert not h.file("/etc/nginx/sites-enabled/default").exists
    key = h.file("/etc/nginx/tls/server.key")
    assert key.mode == 0o600 and key.user == "root"
    # the seeded base holds every role's packages; what matters is that mon-1 got no nginx configuration
    assert not host(converged, "mon-1").file("/etc/nginx/sites-enabled/dvcops.conf").exists


def test_auditd_rules_only_on_the_level_3_host(converged: Converged) -> None:
    mon, web = host(converged, "mon-1"), host(converged, "web-1")
    rules = mon.file("/etc/audit/rules.d/60-dvcops.rules")
    assert mon.package("auditd").is_installed and rules.exists and rules.mode == 0o640
    assert "-w /etc/sudoers -p wa -k scope" in rules.content_string
    assert "-e 1" in rules.content_string
    assert mon.file("/etc/systemd/system/multi-user.target.wants/auditd.service").is_symlink
    assert not web.file("/etc/audit/rules.d/60-dvcops.rules").exists


def test_baseline_files(converged: Converged) -> None:
    for name in HOSTS:
        h = host(converged, name)
        sysctl = h.file("/etc/sysctl.d/60-dvcops-hardening.conf").content_string
        assert "kernel.kptr_restrict = 2" in sysctl and "net.ipv4.tcp_syncookies = 1" in sysctl
        assert "Debian-Security" in h.file("/etc/apt/apt.conf.d/52dvcops-unattended-upgrades").content_string
        assert h.run("chronyd -p -f /etc/chrony/chrony.conf").rc == 0
        assert "MaxRetentionSec=1year" in h.file("/etc/systemd/journald.conf.d/60-dvcops.conf").content_string


def _scram_matches(verifier: str, password: str) -> bool:
    """Check a PostgreSQL SCRAM-SHA-256 verifier against a password, independently of the role's filter."""
    m = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", verifier)
    assert m, verifier
    iterations, salt, stored = int(m[1]), base64.b64decode(m[2]), base64.b64decode(m[3])
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest() == stored


def test_postgresql_survey_database_and_backup_job(converged: Converged) -> None:
    """The survey role and database exist with the right password, and the backup job dumps and prunes."""
    h = host(converged, "mon-1")
    assert h.run("runuser -u postgres -- /usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main "
                 "-c config_file=/etc/postgresql/15/main/postgresql.conf -C listen_addresses").stdout.strip() \
        == "localhost,127.0.80.2"
    hba = h.file("/etc/postgresql/15/main/pg_hba.conf").content_string
    assert re.search(r"hostssl\s+survey\s+survey\s+127\.0\.80\.1/32\s+scram-sha-256", hba)
    script = h.file("/usr/local/sbin/dvcops-pg-backup")
    assert script.mode == 0o755 and "pg_dump" in script.content_string
    assert "OnCalendar=*-*-* 01:30:00" in h.file("/etc/systemd/system/dvcops-pg-backup.timer").content_string
    assert h.file("/etc/systemd/system/timers.target.wants/dvcops-pg-backup.timer").is_symlink
    assert h.file("/var/backups/postgresql").mode == 0o700
    # Start the converged cluster on its Unix socket only (no TCP, so nothing on this machine's network),
    # the way the timer's service would find it, run the real backup script, then stop it again.
    pg_ctl = ("runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D /var/lib/postgresql/15/main -w -t 60 "
              "-o \"-c config_file=/etc/postgresql/15/main/postgresql.conf -c listen_addresses=''\"")
    h.run("mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql")
    started = h.run(pg_ctl + " -l /tmp/pg.log start")
    assert started.rc == 0, started.stdout + started.stderr + h.file("/tmp/pg.log").content_string
    try:
        verifier = h.run("runuser -u postgres -- psql -XtAc \"SELECT rolpassword FROM pg_authid "
                         "WHERE rolname = 'survey'\"").stdout.strip()
        assert _scram_matches(verifier, TEST_SECRETS["db_password"])
        assert not _scram_matches(verifier, "not-the-password")
        owner = h.run("runuser -u postgres -- psql -XtAc \"SELECT pg_get_userbyid(datdba) FROM pg_database "
                      "WHERE datname = 'survey'\"").stdout.strip()
        assert owner == "survey"
        h.run("runuser -u postgres -- touch -d '30 days ago' /var/backups/postgresql/survey-20000101T000000Z.dump")
        backup = h.run("runuser -u postgres -- /usr/local/sbin/dvcops-pg-backup")
        assert backup.rc == 0, backup.stderr
        dumps = h.run("ls /var/backups/postgresql").stdout.split()
        assert len(dumps) == 1 and dumps[0].startswith("survey-") and dumps[0] != "survey-20000101T000000Z.dump"
        listing = h.run(f"pg_restore -l /var/backups/postgresql/{dumps[0]}")
        assert listing.rc == 0 and "dbname: survey" in listing.stdout
        assert h.file(f"/var/backups/postgresql/{dumps[0]}").mode == 0o600
    finally:
        h.run(pg_ctl + " -m fast stop")


def test_survey_and_prober_services(converged: Converged) -> None:
    web, mon = host(converged, "web-1"), host(converged, "mon-1")
    env = web.file("/etc/dvcops/survey.env")
    assert env.mode == 0o600 and env.user == "root" and env.group == "root"
    content = env.content_string
    assert f"DVCOPS_SURVEY_ADMIN_PASSWORD={TEST_SECRETS['survey_admin_password']}" in content
    assert f"DVCOPS_SURVEY_HMAC_KEY={TEST_SECRETS['survey_hmac_key']}" in content
    assert "DVCOPS_SURVEY_DATABASE_URL=postgresql+psycopg://survey:PgTest-Secret-db%2F7Qx9w2%40x@127.0.80.2:5432/" \
           "survey?sslmode=require" in content
    prober_env = mon.file("/etc/dvcops/prober.env")
    assert prober_env.mode == 0o600 and prober_env.user == "root"
    unit = web.file("/etc/systemd/system/dvcops-survey.service").content_string
    for setting in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "CapabilityBoundingSet=",
                    "User=dvcops", "EnvironmentFile=/etc/dvcops/survey.env"):
        assert setting in unit
    # the survey command requires --catalog: the unit must pass the catalogue the role installed
    assert "dvcops survey serve --catalog /etc/dvcops/catalog.yml --host 127.0.80.1 --port 8000" in unit
    assert web.file("/etc/dvcops/catalog.yml").exists
    assert "dvcops probe serve --catalog /etc/dvcops/catalog.yml --listen 127.0.80.2:9115" in \
        mon.file("/etc/systemd/system/dvcops-prober.service").content_string
    assert web.file("/etc/systemd/system/multi-user.target.wants/dvcops-survey.service").is_symlink
    assert web.run("systemd-analyze verify --man=no /etc/systemd/system/dvcops-survey.service").rc == 0
    for h in (web, mon):
        cli = h.run("/opt/dvcops/venv/bin/dvcops catalog check /etc/dvcops/catalog.yml")
        assert cli.rc == 0, cli.stderr
        assert h.file("/etc/dvcops/catalog.yml").mode == 0o640


def test_prometheus_config_and_rules_checked(converged: Converged) -> None:
    mon = host(converged, "mon-1")
    assert mon.run("promtool check rules /etc/prometheus/rules/dvcops.rules.yml").rc == 0
    assert mon.run("promtool check config /etc/prometheus/prometheus.yml").rc == 0
    config = yaml.safe_load(mon.file("/etc/prometheus/prometheus.yml").content_string)
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert jobs["node"] == ["127.0.80.1:9100", "127.0.80.2:9100"]
    assert jobs["dvcops_prober"] == ["127.0.80.2:9115"]
    assert jobs["dvcops_survey"] == ["127.0.80.1:8000"]
    assert "--storage.tsdb.retention.time=400d" in mon.file("/etc/default/prometheus").content_string


def test_alertmanager_runs_on_loopback_and_prometheus_sends_to_it(converged: Converged) -> None:
    mon = host(converged, "mon-1")
    assert mon.package("prometheus-alertmanager").is_installed
    assert mon.run("amtool check-config /etc/prometheus/alertmanager.yml").rc == 0
    am = yaml.safe_load(mon.file("/etc/prometheus/alertmanager.yml").content_string)
    assert am["route"]["receiver"] == "khong-gui"  # no rendered configuration given: nothing is sent
    args = mon.file("/etc/default/prometheus-alertmanager").content_string
    assert "--web.listen-address=127.0.0.1:9093" in args and "--cluster.listen-address=" in args
    prom = yaml.safe_load(mon.file("/etc/prometheus/prometheus.yml").content_string)
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9093"]
    rules = mon.file("/etc/prometheus/rules/dvcops.rules.yml").content_string
    assert "Certificate" not in rules and "probe_success" not in rules  # one family each: dvcops alerts render's


def test_no_secret_in_any_run_artifact(converged: Converged) -> None:
    """Every file ansible-runner wrote (stdout, job events, command, env...) for all three runs is free of secrets."""
    runs = sorted((converged.state / "playbooks" / "runs").iterdir())
    assert len(runs) >= 3
    needles = [v.encode() for v in TEST_SECRETS.values()] + [b"PgTest-Secret-db%2F7Qx9w2"]
    scanned = 0
    for run in runs:
        for f in run.rglob("*"):
            if f.is_file():
                data = f.read_bytes()
                scanned += 1
                for needle in needles:
                    assert needle not in data, f"{f} holds a secret"
    assert scanned > 100, "the runs wrote suspiciously few artifacts"
    assert any((run / "artifacts" / "run" / "job_events").is_dir() for run in runs)
    assert not list(Path("/dev/shm").glob("dvcops-secrets-*")), "a run left its secrets file behind"


def test_recap_table_from_the_cli(converged: Converged) -> None:
    """Without --json the CLI ends with the per-host table (here a --check run limited to one host and tag)."""
    from tests.conftest import run_dvcops
    proc = run_dvcops("provision", "--catalog", str(Path(__file__).with_name("catalog.yml")), "--chroot-root",
                      str(converged.root), "--secrets-dir", str(converged.secrets_dir), "--wheel",
                      str(converged.wheel), "--check", "--limit", "web-1", "--tags", "ssh",
                      state=converged.state, timeout=600, env={"COLUMNS": "120"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert re.search(r"web-1\s+│\s+\d+\s+│\s+0\s+│\s+0\s+│\s+0", proc.stdout), proc.stdout
    assert "mon-1" not in proc.stdout.split("artifacts:")[0].split("┃ host")[-1]
