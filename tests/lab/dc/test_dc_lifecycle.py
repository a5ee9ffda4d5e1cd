"""`dvcops dc up|status|exec|down` on a one-host DC, and bad input that must leave nothing half-made.

Needs root (as CI runs): namespaces, overlay mounts, cgroups and systemd-nspawn are real. The DC's
subnet here is 10.78.0.0/24 (the converged DC of test_dc_converged uses examples/dc-lab.yml's 10.77.0.0/24);
both exist only inside the namespaces the tests make. `dc forward` is tested on loopback prefix 127.0.85.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from lab.dc.datacentre import teardown_census
from tests.conftest import ROOT, run_dvcops

pytestmark = pytest.mark.slow
SUBNET = "10.78.0.0/24"
EXAMPLE = ROOT / "examples" / "dc-lab.yml"


def catalogue(tmp_path: Path, hosts: list[dict[str, object]], name: str = "dc.yml") -> Path:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["hosts"] = hosts
    data["services"] = [{**s, "hosts": []} for s in data["services"]]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _forward_reaches_sshd(state: Path) -> None:
    """`dc forward` on a loopback address of this package's prefix (127.0.85) reaches the host's sshd."""
    env = {**os.environ, "DVCOPS_STATE": str(state)}
    fwd = subprocess.Popen([sys.executable, "-m", "dvcops", "dc", "forward", "--name", "tlife", "--map",
                            "127.0.85.1:2222=app-1:22", "--seconds", "20"], cwd=ROOT, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = b""
        deadline = time.monotonic() + 15
        while not banner and time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.85.1", 2222), timeout=5) as conn:
                    banner = conn.recv(64)
            except OSError:
                time.sleep(0.3)
        assert banner.startswith(b"SSH-2.0-OpenSSH"), banner
    finally:
        fwd.terminate()
        fwd.wait(timeout=30)
    refused = run_dvcops("dc", "forward", "--name", "tlife", "--map", "10.0.0.1:80=app-1:22", state=state)
    assert refused.returncode == 2 and "expected LOOPBACK:PORT=HOST:PORT" in refused.stderr


def one_host(tmp_path: Path) -> Path:
    return catalogue(tmp_path, [{"name": "app-1", "address": "10.78.0.5", "zone": "app", "roles": ["node"],
                                 "security_level": 2}])


def test_hosts_outside_the_subnet_are_refused_before_anything_is_made(tmp_path: Path) -> None:
    before = teardown_census()
    cat = catalogue(tmp_path, [
        {"name": "web-1", "address": "10.78.0.11", "zone": "dmz", "roles": ["web"]},
        {"name": "db-1", "address": "192.168.5.21", "zone": "data", "roles": ["db"]},
        {"name": "mon-1", "address": "10.78.1.31", "zone": "mgmt", "roles": ["monitoring"]},
    ])
    proc = run_dvcops("dc", "up", "--catalog", str(cat), "--subnet", SUBNET, "--name", "tbad", state=tmp_path / "st")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"{cat}: hosts[{i}] ({name}): address {addr} is outside the DC subnet {SUBNET}: expected a host address "
        "in it (10.78.0.1 to 10.78.0.254), or pass --subnet"
        for i, name, addr in ((1, "db-1", "192.168.5.21"), (2, "mon-1", "10.78.1.31"))
    ]
    assert teardown_census() == before
    assert not (tmp_path / "st" / "dc" / "tbad" / "ledger.json").exists()


def test_a_duplicate_address_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    before = teardown_census()
    cat = catalogue(tmp_path, [
        {"name": "web-1", "address": "10.78.0.11", "zone": "dmz", "roles": ["web"]},
        {"name": "web-2", "address": "10.78.0.11", "zone": "dmz", "roles": ["web"]},
    ])
    proc = run_dvcops("dc", "up", "--catalog", str(cat), "--subnet", SUBNET, "--name", "tbad", state=tmp_path / "st")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "hosts[1].address: duplicate host address '10.78.0.11'" in lines[0], lines
    assert teardown_census() == before


def test_a_host_without_an_address_is_a_catalogue_error(tmp_path: Path) -> None:
    cat = catalogue(tmp_path, [{"name": "web-1", "zone": "dmz", "roles": ["web"]}])
    proc = run_dvcops("dc", "up", "--catalog", str(cat), "--subnet", SUBNET, state=tmp_path / "st")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "hosts[0].address" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("subnet,expected", [
    ("8.8.8.0/24", "expected a private IPv4 network"),
    ("10.0.0.0/8", "expected a prefix from /16 to /29"),
    ("10.78.0.1/24", "not a network"),
])
def test_a_public_or_huge_subnet_is_refused(tmp_path: Path, subnet: str, expected: str) -> None:
    proc = run_dvcops("dc", "up", "--catalog", str(one_host(tmp_path)), "--subnet", subnet, state=tmp_path / "st")
    assert proc.returncode == 2 and expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_not_root_is_refused_in_one_line(tmp_path: Path) -> None:
    cat = one_host(tmp_path)
    tmp_path.chmod(0o755)
    cat.chmod(0o644)
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                           "dvcops", "dc", "up", "--catalog", str(cat), "--subnet", SUBNET, "--state", "/tmp/none"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "HOME": "/tmp"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("dvcops dc needs root (network namespaces, overlay mounts, cgroups, "
                                   "systemd-nspawn): run it as root or with sudo")


def test_missing_nspawn_names_the_package(tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("ip", "nsenter", "ssh-keygen", "ssh"):
        found = shutil.which(tool)
        assert found
        (bare / tool).symlink_to(found)
    proc = run_dvcops("dc", "up", "--catalog", str(one_host(tmp_path)), "--subnet", SUBNET, state=tmp_path / "st",
                      env={"PATH": str(bare)})
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("'systemd-nspawn' not found: install the Debian package 'systemd-container' "
                                   "(apt-get install systemd-container)")


@pytest.mark.timeout(1200)  # builds the role-seeded base first when the machine has none (a few minutes)
def test_up_status_exec_down_leaves_nothing_behind(tmp_path: Path) -> None:
    """A one-host DC: up, up again (refused), status, exec, ssh, down twice; the census matches before and after."""
    before = teardown_census(SUBNET)
    assert before["root_routes"] == []
    cat, state = one_host(tmp_path), tmp_path / "st"
    up = run_dvcops("dc", "up", "--catalog", str(cat), "--subnet", SUBNET, "--name", "tlife", "--json", state=state,
                    timeout=900)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        status = json.loads(up.stdout)
        assert status["up"] and status["controller"] == "10.78.0.254"
        assert [(h["name"], h["running"]) for h in status["hosts"]] == [("app-1", True)]
        assert status["hosts"][0]["systemd"] in ("running", "degraded")
        during = teardown_census(SUBNET)
        assert during["root_routes"] == [], "the root namespace must never reach the DC subnet"
        assert set(during["netns"]) - set(before["netns"]) == {"dvcops-tlife-net", "dvcops-tlife-ctl",
                                                               "dvcops-tlife-h-app-1"}
        assert during["veths_root"] == before["veths_root"], "no DC veth may appear in the root namespace"
        assert len(during["nspawn"]) == len(before["nspawn"]) + 1
        assert during["inotify"] >= before["inotify"] + 16

        again = run_dvcops("dc", "up", "--catalog", str(cat), "--subnet", SUBNET, "--name", "tlife", state=state)
        assert again.returncode == 2
        assert again.stderr.strip().startswith("DC 'tlife' is already up")
        assert teardown_census(SUBNET) == during, "a refused second up must not make or remove anything"

        st = run_dvcops("dc", "status", "--name", "tlife", "--json", state=state)
        assert st.returncode == 0 and json.loads(st.stdout)["hosts"][0]["address"] == "10.78.0.5"
        ex = run_dvcops("dc", "exec", "--name", "tlife", "--", "ip", "-4", "-o", "addr", "show", "dev", "eth0",
                        state=state)
        assert ex.returncode == 0 and "10.78.0.254/24" in ex.stdout
        dc_dir = state / "dc" / "tlife"
        ssh = run_dvcops("dc", "exec", "--name", "tlife", "--", "ssh", "-F", "/dev/null", "-i",
                         str(dc_dir / "ssh" / "admin"), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o",
                         f"UserKnownHostsFile={dc_dir / 'ssh' / 'known_hosts'}", "quantri@10.78.0.5", "hostname",
                         state=state)
        assert ssh.returncode == 0 and ssh.stdout.strip() == "app-1", ssh.stderr
        _forward_reaches_sshd(state)
    finally:
        down = run_dvcops("dc", "down", "--name", "tlife", state=state, timeout=300)
    assert down.returncode == 0 and "removed" in down.stdout
    after = teardown_census(SUBNET)
    assert after == before
    twice = run_dvcops("dc", "down", "--name", "tlife", state=state)
    assert twice.returncode == 0 and "was not up" in twice.stdout
    st = run_dvcops("dc", "status", "--name", "tlife", state=state)
    assert st.returncode == 1
