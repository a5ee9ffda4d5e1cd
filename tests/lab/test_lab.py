"""The lab answers as its catalogue says, and `lab down` leaves nothing behind."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from dnslib import DNSRecord

from dvcops.catalog import load_catalog
from lab import Lab
from tests.conftest import start_lab

PREFIX = "127.0.20"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from start_lab(tmp_path_factory, PREFIX)


def test_lab_catalogue_is_valid_and_only_loopback(lab: Lab) -> None:
    cat = load_catalog(lab.catalog_path)
    assert all(h.address.startswith(f"{PREFIX}.") for h in cat.hosts)
    assert cat.ca_path() == lab.ca_path and lab.ca_path.exists()


def test_every_http_endpoint_answers_as_the_catalogue_says(lab: Lab) -> None:
    cat = load_catalog(lab.catalog_path)
    ctx = ssl.create_default_context(cafile=str(lab.ca_path))
    seen = {}
    with httpx.Client(verify=ctx, timeout=5, follow_redirects=False) as client:
        for svc, ep in cat.endpoints():
            if ep.scheme not in ("http", "https"):
                continue
            try:
                seen[(svc.id, ep.url)] = client.get(ep.url).status_code
            except httpx.ConnectError:
                seen[(svc.id, ep.url)] = "refused"
    by_service = {}
    for (sid, url), status in seen.items():
        by_service.setdefault(sid, []).append((url, status))
    assert {s for _, s in by_service["cong-thong-tin"]} == {200}
    assert sorted(s for _, s in by_service["dang-ky-kinh-doanh"]) == [200, 301]  # https ok, http redirects
    assert by_service["giay-phep-xay-dung"] == [(by_service["giay-phep-xay-dung"][0][0], 200)]
    assert by_service["tam-tru-tam-vang"][0][1] == "refused"
    assert by_service["tra-cuu-ho-so"][0][1] == 200


def test_slow_host_is_slow_and_flapping_host_flaps(lab: Lab) -> None:
    t0 = time.monotonic()
    assert httpx.get(lab.spec.url("lab-slow", "/healthz"), timeout=5).status_code == 200
    assert time.monotonic() - t0 >= lab.spec.slow_seconds
    statuses = set()
    deadline = time.monotonic() + lab.spec.flap_period + 1
    while time.monotonic() < deadline and len(statuses) < 2:  # bounded: one flap period
        statuses.add(httpx.get(lab.spec.url("lab-flap", "/healthz"), timeout=5).status_code)
        time.sleep(0.25)
    assert statuses == {200, 503}


def test_one_certificate_expires_within_ten_days(lab: Lab) -> None:
    def not_after(host: str) -> datetime:
        ctx = ssl.create_default_context(cafile=str(lab.ca_path))
        with socket.create_connection((lab.spec.address(host), lab.spec.https_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=lab.spec.address(host)) as tls:
                cert = tls.getpeercert()
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC)

    now = datetime.now(UTC)
    assert 0 < (not_after("lab-dvc-2") - now).days < 10
    assert (not_after("lab-dvc-1") - now).days > 300


def test_dossier_round_trip_and_portal_search(lab: Lab) -> None:
    base = lab.spec.url("lab-dvc-1", "", https=True)
    with httpx.Client(verify=ssl.create_default_context(cafile=str(lab.ca_path)), timeout=5) as c:
        r = c.post(f"{base}/dv/dang-ky-kinh-doanh/ho-so", json={"ho_ten": "Nguyễn Văn A"})
        assert r.status_code == 201
        code = r.json()["ma_ho_so"]
        assert c.get(f"{base}/dv/dang-ky-kinh-doanh/ho-so/{code}").json()["trang_thai"] == "da-tiep-nhan"
        assert c.get(f"{base}/dv/dang-ky-kinh-doanh/ho-so/KHONG-CO").status_code == 404
    hits = httpx.get(lab.spec.url("lab-portal", "/thu-tuc?q=kinh doanh"), headers={"Accept": "application/json"})
    assert [h["id"] for h in hits.json()["ket_qua"]] == ["dang-ky-kinh-doanh"]


def test_db_host_and_lab_dns(lab: Lab) -> None:
    with socket.create_connection((lab.spec.address("lab-db"), lab.spec.db_port), timeout=3):
        pass
    with socket.create_connection((lab.spec.address("lab-db"), 16379), timeout=3) as s:  # the unapproved port
        assert s.recv(64).startswith(b"-NOAUTH")
    reply = DNSRecord.parse(DNSRecord.question("portal.lab.dvc.internal").send(
        lab.spec.dns_address, lab.spec.dns_port, timeout=3))
    assert [str(r.rdata) for r in reply.rr] == [f"{PREFIX}.1"]
    missing = DNSRecord.parse(DNSRecord.question("nope.lab.dvc.internal").send(
        lab.spec.dns_address, lab.spec.dns_port, timeout=3))
    assert missing.header.rcode == 3  # NXDOMAIN


def test_control_actions_change_the_lab(lab: Lab) -> None:
    url = lab.spec.url("lab-portal", "/")
    lab.action("deface", host="lab-portal")
    assert "HACKED" in httpx.get(url).text
    lab.action("open-port", host="lab-portal", port=2222, banner="SSH-2.0-OpenSSH_9.2")
    with socket.create_connection((lab.spec.address("lab-portal"), 2222), timeout=3) as s:
        assert s.recv(64).startswith(b"SSH-2.0")
    lab.action("restore", host="lab-portal")
    assert "Dịch vụ công" in httpx.get(url).text
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((lab.spec.address("lab-portal"), 2222), timeout=3)


def test_control_api_refuses_without_token(lab: Lab) -> None:
    control = f"http://{lab.spec.control_address}:{lab.spec.control_port}"
    r = httpx.post(f"{control}/actions/deface", json={"host": "lab-portal"})
    assert r.status_code == 401


def live_group_members(pgid: int) -> list[int]:
    """Processes of a process group that still run (zombies waiting for init to reap them don't)."""
    out = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(stat[2]) == pgid and stat[0] != "Z":
            out.append(int(proc.name))
    return out


def test_cli_up_status_down_leaves_no_process(dvcops_cli, tmp_path: Path) -> None:
    up = dvcops_cli("lab", "up", "--prefix", "127.0.21", "--json")
    assert up.returncode == 0, up.stderr
    lab_folder = tmp_path / "state" / "lab"
    pid = int((lab_folder / "lab.pid").read_text())
    started = json.loads(up.stdout)
    assert started["pid"] == pid and "127.0.21.1:8080" in started["listeners"]
    assert dvcops_cli("lab", "status").returncode == 0
    assert httpx.get("http://127.0.21.1:8080/healthz", timeout=5).status_code == 200
    down = dvcops_cli("lab", "down", "--json")
    assert down.returncode == 0 and json.loads(down.stdout) == {"stopped": True}
    assert live_group_members(pid) == []  # nothing of the lab's process group is left
    assert dvcops_cli("lab", "status").returncode == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://127.0.21.1:8080/healthz", timeout=2)


def test_lab_refuses_non_loopback_prefix(dvcops_cli) -> None:
    res = dvcops_cli("lab", "up", "--prefix", "10.20.1")
    assert res.returncode == 2
    assert "only binds loopback" in res.stderr and "Traceback" not in res.stderr
