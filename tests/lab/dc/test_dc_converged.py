"""The real site.yml converged over SSH onto the example DC, then checked from its controller like a sysadmin
and an attacker would: services, TLS, the survey into PostgreSQL, Prometheus, sshd, the firewall, handlers.

Replaces the chroot converge tests: here every service the playbooks configure really starts, every handler
really restarts it, and nmap sees what the nftables rules let through.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from dvcops.catalog import load_catalog
from playbooks import PLAYBOOK_DIR
from tests.lab.dc.conftest import UNITS, ConvergedDC

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the first test waits for the session DC
SSH_DEFAULTS = yaml.safe_load((PLAYBOOK_DIR / "roles/ssh/defaults/main.yml").read_text())


def test_first_converge_succeeds_and_says_what_a_container_cannot_apply(converged_dc: ConvergedDC) -> None:
    hosts = converged_dc.recap("first")
    assert set(hosts) == set(UNITS)
    for name, h in hosts.items():
        assert h["failed"] == 0 and h["unreachable"] == 0 and h["changed"] > 0, (name, h)
    first = converged_dc.runs["first"]["recap"]["private_data_dir"]  # not the base's seeding run, if one ran
    stdout = (Path(first) / "artifacts" / "run" / "stdout").read_text()
    said = " ".join(stdout.split())  # the YAML callback folds long messages
    assert "container (systemd-nspawn): fs.protected_fifos" in said
    assert "container (systemd-nspawn): the audit subsystem of the kernel is not per container" in said
    assert "container (systemd-nspawn): chrony cannot set the clock here" in said


def test_second_converge_and_check_diff_change_nothing(converged_dc: ConvergedDC) -> None:
    for label in ("second", "check"):
        for name, h in converged_dc.recap(label).items():
            assert h["changed"] == 0 and h["failed"] == 0, (label, name, h["changed_tasks"])
    assert converged_dc.runs["check"]["recap"]["check"] is True


def test_an_unchanged_run_restarts_nothing(converged_dc: ConvergedDC) -> None:
    before, after = converged_dc.pids.get("before second"), converged_dc.pids.get("after second")
    assert before and after, "the second converge did not run"
    assert all(pid > 0 for units in before.values() for pid in units.values()), before
    assert after == before


def test_every_roles_service_is_active(converged_dc: ConvergedDC) -> None:
    for host, units in UNITS.items():
        proc = converged_dc.ssh(host, "sudo -n systemctl is-active " + " ".join(units))
        assert proc.returncode == 0, (host, proc.stdout, proc.stderr)
        assert proc.stdout.split() == ["active"] * len(units)


def test_nginx_serves_tls_with_the_security_headers(converged_dc: ConvergedDC) -> None:
    ca = converged_dc.dc.ca_path
    for address in ("10.77.0.11", "10.77.0.12"):
        proc = converged_dc.ctl("curl", "-sS", "--cacert", str(ca), "--tlsv1.2", "-D", "-", "-o", "/dev/null",
                                f"https://{address}/healthz")
        assert proc.returncode == 0, proc.stderr  # the certificate verifies against the DC's CA
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in proc.stdout.splitlines()[1:])}
        assert proc.stdout.startswith("HTTP/2 200")
        assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        plain = converged_dc.ctl("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                                 f"http://{address}/healthz")
        assert plain.stdout == f"301 https://{address}/healthz"
    old = converged_dc.ctl("curl", "-sS", "--cacert", str(ca), "--tls-max", "1.1", "https://10.77.0.11/healthz")
    assert old.returncode != 0, "TLS 1.1 must be refused"


def test_the_survey_behind_nginx_stores_into_postgresql_on_the_db_host(converged_dc: ConvergedDC) -> None:
    rating = {"service_id": "cong-dich-vu-cong", "dossier_code": "DC-LAB-TEST-0001", "instrument": "3-muc",
              "answers": {"tiep-can": "rat-hai-long", "thu-tuc": "hai-long", "cong-chuc": "rat-hai-long",
                          "ket-qua": "hai-long", "phan-anh": "hai-long"}, "channel": "web"}
    proc = converged_dc.ctl("curl", "-sS", "--cacert", str(converged_dc.dc.ca_path), "-w", "\n%{http_code}",
                            "-H", "content-type: application/json", "-d", json.dumps(rating),
                            "https://10.77.0.11/api/v1/ratings")
    body, _, code = proc.stdout.rpartition("\n")
    assert code == "201" or code == "200", proc.stdout + proc.stderr
    receipt = json.loads(body)["receipt_id"]
    query = (f"SELECT service_id, level FROM survey_ratings WHERE receipt_id = '{receipt}'")
    row = converged_dc.ssh("db-1", f"sudo -n -u postgres psql -d survey -XtA -c \"{query}\"")
    assert row.returncode == 0, row.stderr
    assert row.stdout.strip() == "cong-dich-vu-cong|hai-long"
    again = converged_dc.ctl("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                             str(converged_dc.dc.ca_path), "-H", "content-type: application/json", "-d",
                             json.dumps(rating), "https://10.77.0.11/api/v1/ratings")
    assert again.stdout == "409", "one rating per dossier, across the DC's database"


def test_prometheus_scrapes_every_target(converged_dc: ConvergedDC) -> None:
    deadline = time.monotonic() + 120
    targets: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        proc = converged_dc.ctl("curl", "-sS", "http://10.77.0.31:9090/api/v1/targets")
        targets = json.loads(proc.stdout)["data"]["activeTargets"] if proc.returncode == 0 else []
        if targets and all(t["health"] == "up" for t in targets):
            break
        time.sleep(3)
    urls = sorted(str(t["scrapeUrl"]) for t in targets)
    assert urls == sorted([*(f"http://{a}:9100/metrics" for a in ("10.77.0.11", "10.77.0.12", "10.77.0.21",
                                                                    "10.77.0.31")),
                           "http://10.77.0.11:8000/metrics", "http://10.77.0.12:8000/metrics",
                           "http://10.77.0.31:9115/metrics", "http://10.77.0.31:9090/metrics"])
    assert [t["health"] for t in targets] == ["up"] * len(targets), targets


def test_alertmanager_runs_on_loopback_and_prometheus_sends_to_it(converged_dc: ConvergedDC) -> None:
    check = converged_dc.ssh("mon-1", "sudo -n amtool check-config /etc/prometheus/alertmanager.yml")
    assert check.returncode == 0, check.stdout + check.stderr
    listening = converged_dc.ssh("mon-1", "ss -Htln").stdout
    assert "127.0.0.1:9093 " in listening and "0.0.0.0:9093" not in listening
    proc = converged_dc.ctl("curl", "-sS", "http://10.77.0.31:9090/api/v1/alertmanagers")
    active = json.loads(proc.stdout)["data"]["activeAlertmanagers"]
    assert [a["url"] for a in active] == ["http://127.0.0.1:9093/api/v2/alerts"]


def test_sshd_takes_the_admin_key_and_refuses_root_and_passwords(converged_dc: ConvergedDC) -> None:
    for host in UNITS:
        ok = converged_dc.ssh(host, "sudo -n true && id -un")
        assert ok.returncode == 0 and ok.stdout.strip() == "quantri", ok.stderr
        root = converged_dc.ssh(host, "true", "root")
        assert root.returncode == 255 and "Permission denied (publickey)" in root.stderr
        password = converged_dc.ssh(host, "true", "quantri", "-o", "PubkeyAuthentication=no", "-o",
                                    "PreferredAuthentications=password,keyboard-interactive")
        assert password.returncode == 255 and "Permission denied (publickey)" in password.stderr
    cfg = converged_dc.ssh("db-1", "sudo -n /usr/sbin/sshd -T -C user=quantri,host=c,addr=10.77.0.254")
    settings = dict(line.split(" ", 1) for line in cfg.stdout.splitlines() if " " in line)
    assert settings["permitrootlogin"] == "no" and settings["passwordauthentication"] == "no"
    assert settings["authenticationmethods"] == "publickey"
    assert settings["ciphers"].split(",") == SSH_DEFAULTS["ssh_ciphers"]
    assert settings["kexalgorithms"].split(",") == SSH_DEFAULTS["ssh_kex_algorithms"]


@pytest.mark.parametrize("transport", ["--mitogen", "--no-mitogen"])
def test_a_host_key_that_is_not_the_pinned_one_is_refused(converged_dc: ConvergedDC, tmp_path: Path,
                                                           transport: str) -> None:
    """known_hosts pins db-1's keys under web-1's name: Ansible must not reach web-1, with Mitogen or without.
    ansible-runner sets ANSIBLE_HOST_KEY_CHECKING=False, and then Ansible's ssh and Mitogen put
    StrictHostKeyChecking=no before the inventory's =yes (ssh keeps the first value): until runner.py forced it on,
    this run went through."""
    dc = converged_dc.dc
    lines = dc.known_hosts.read_text().splitlines()
    web1 = next(line.split()[0] for line in lines if line.startswith("web-1,"))
    swapped = [f"{web1} {' '.join(line.split()[1:])}" for line in lines if line.startswith("db-1,")]
    wrong = tmp_path / "known_hosts"
    wrong.write_text("\n".join([*(line for line in lines if not line.startswith("web-1,")), *swapped]) + "\n")
    args = dc.provision_args()
    args[args.index("--known-hosts") + 1] = str(wrong)
    proc = subprocess.run(dc.exec_argv([sys.executable, "-m", "dvcops", "provision", *args, "--limit", "web-1",
                                        "--tags", "ssh", "--json", "--state", str(converged_dc.state), transport]),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    recap = json.loads(proc.stdout)
    assert [(h["host"], h["unreachable"], h["changed"]) for h in recap["hosts"]] == [("web-1", 1, 0)], recap
    stdout = (Path(recap["private_data_dir"]) / "artifacts" / "run" / "stdout").read_text()
    said = " ".join(stdout.split())
    assert "Host key verification failed" in said or "mismatching host key" in said, stdout[-2000:]


def _open_ports(converged_dc: ConvergedDC, ports: str) -> dict[str, dict[int, str]]:
    xml = converged_dc.ctl("nmap", "-sT", "-n", "-Pn", "-T4", "--max-retries", "1", "-p", ports, "-oX", "-",
                           "10.77.0.11", "10.77.0.12", "10.77.0.21", "10.77.0.31", timeout=300)
    assert xml.returncode == 0, xml.stderr
    out: dict[str, dict[int, str]] = {}
    wanted = [int(p) for part in ports.split(",") for p in
              (range(int(part.split("-")[0]), int(part.split("-")[1]) + 1) if "-" in part else [part])]
    for host in ET.fromstring(xml.stdout).iter("host"):
        addr = host.find("address").get("addr")  # type: ignore[union-attr]
        listed = {int(p.get("portid", 0)): p.find("state").get("state", "")  # type: ignore[union-attr]
                  for p in host.iter("port")}
        # nmap folds the many ports of one state into <extraports state="filtered" count=...>
        folded = [e.get("state", "") for e in host.iter("extraports")]
        assert len(folded) <= 1, folded
        out[str(addr)] = {p: listed.get(p, folded[0] if folded else "") for p in wanted}
    return out


def test_nmap_from_the_controller_sees_exactly_the_role_ports_and_an_extra_listener_filtered(
        converged_dc: ConvergedDC) -> None:
    catalog = load_catalog(converged_dc.dc.catalog_path)
    listener = converged_dc.dc.on_host("web-1", ["systemd-run", "--unit=dvcops-test-listener", "python3", "-m",
                                                 "http.server", "--bind", "0.0.0.0", "6390"])
    assert listener.returncode == 0, listener.stderr
    try:
        inside = converged_dc.ssh("web-1", "ss -Htln 'sport = :6390'")
        deadline = time.monotonic() + 20
        while "6390" not in inside.stdout and time.monotonic() < deadline:
            time.sleep(0.5)
            inside = converged_dc.ssh("web-1", "ss -Htln 'sport = :6390'")
        assert "6390" in inside.stdout, "the injected listener must really listen"
        # the base runs every role's daemons on every host (nginx on db-1, prometheus on web-1...): the firewall
        # is what the scan sees
        states = _open_ports(converged_dc, "1-1024,5432,6390,8000,9090,9100,9115")
    finally:
        converged_dc.dc.on_host("web-1", ["systemctl", "stop", "dvcops-test-listener"])
    for host in catalog.hosts:
        seen = {p for p, s in states[host.address].items() if s == "open"}
        assert seen == {22, *catalog.allowed_ports(host)}, (host.name, states[host.address])
    assert states["10.77.0.11"][6390] == "filtered"
    # nginx and Prometheus also run on db-1 (the base has every role's packages): listening, but dropped
    listening = converged_dc.ssh("db-1", "ss -Htln").stdout
    assert "0.0.0.0:80 " in listening and ":9090 " in listening
    assert states["10.77.0.21"][80] == "filtered" and states["10.77.0.21"][9090] == "filtered"


def test_a_config_change_restarts_its_service(converged_dc: ConvergedDC) -> None:
    converged_dc.recap("second")
    before = converged_dc.main_pids()["db-1"]["prometheus-node-exporter"]
    drift = converged_dc.dc.on_host("db-1", ["sh", "-c", "echo '# drift' >> /etc/default/prometheus-node-exporter"])
    assert drift.returncode == 0
    rc, recap, stderr = converged_dc.provision("--limit", "db-1", "--tags", "node_exporter")
    assert rc == 0, stderr[-2000:]
    tasks = recap["hosts"][0]["changed_tasks"]
    assert "node_exporter : Set the listen address and collectors" in tasks
    assert "node_exporter : Restart node_exporter" in tasks
    after = converged_dc.main_pids()["db-1"]["prometheus-node-exporter"]
    assert after not in (before, 0)
    assert converged_dc.ssh("db-1", "sudo -n systemctl is-active prometheus-node-exporter").stdout.strip() == "active"


def test_no_secret_in_any_run_artifact(converged_dc: ConvergedDC) -> None:
    secrets = [p.read_text().strip() for p in converged_dc.dc.secrets_dir.iterdir()]
    assert len(secrets) == 3 and all(len(s) >= 32 for s in secrets)
    needles = [s.encode() for s in secrets]
    scanned = 0
    for root in (converged_dc.state / "playbooks" / "runs", converged_dc.state / "dc"):
        for f in root.rglob("*"):
            if f.is_file() and not f.is_symlink() and "/merged/" not in str(f) and "/upper/" not in str(f):
                data = f.read_bytes()
                scanned += 1
                for needle in needles:
                    assert needle not in data, f"{f} holds a secret"
    assert scanned > 100
    # each run's command names its secrets file (other work on this machine makes its own in /dev/shm too)
    used = {m for f in (converged_dc.state / "playbooks" / "runs").glob("*/artifacts/run/command")
            for m in re.findall(r"/dev/shm/dvcops-secrets-[A-Za-z0-9_]+", f.read_text())}
    assert len(used) >= 3
    assert not [u for u in used if Path(u).exists()], "a run left its secrets file behind"
    env = converged_dc.ssh("web-1", "sudo -n stat -c '%a %U' /etc/dvcops/survey.env")
    assert env.stdout.strip() == "600 root"


def test_audit_rules_and_a_real_backup_on_the_level_4_db_host(converged_dc: ConvergedDC) -> None:
    rules = converged_dc.ssh("db-1", "sudo -n cat /etc/audit/rules.d/60-dvcops.rules")
    assert rules.returncode == 0 and "-w /etc/sudoers -p wa -k scope" in rules.stdout
    assert not converged_dc.ssh("web-2", "test -e /etc/audit/rules.d/60-dvcops.rules").returncode == 0, \
        "web-2 is security level 2: no audit rules"
    assert re.search(r"dvcops-pg-backup\.timer", converged_dc.ssh("db-1", "sudo -n systemctl list-timers --all").stdout)
    backup = converged_dc.ssh("db-1", "sudo -n systemctl start dvcops-pg-backup.service && "
                                      "sudo -n ls /var/backups/postgresql")
    assert backup.returncode == 0, backup.stderr
    dumps = backup.stdout.split()
    assert dumps and all(d.startswith("survey-") and d.endswith(".dump") for d in dumps)
    listing = converged_dc.ssh("db-1", f"sudo -n pg_restore -l /var/backups/postgresql/{dumps[-1]}")
    assert "dbname: survey" in listing.stdout
