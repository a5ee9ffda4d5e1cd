"""`dvcops status-page`: the page from 90 days of history, with a person's note and the next maintenance
window, opened in headless Chromium (Debian's) with every request outside the loopback server refused;
no request fails, the role's Content-Security-Policy holds, screenshots at phone and desktop width."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import yaml

from dvcops.catalog import load_catalog
from dvcops.state import StateDir
from probes.history import EndpointRef, History, Sample
from tests.browser import chromium_page
from tests.conftest import ROOT, run_dvcops

SERVER = ("127.0.112.1", 8088)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROLE_HEADERS = yaml.safe_load((ROOT / "playbooks/roles/nginx/defaults/main.yml").read_text())["nginx_security_headers"]
SHOTS = Path(os.environ.get("DVCOPS_SCREENSHOTS", "/tmp/dvcops-status-page"))


def _catalog(folder: Path) -> Path:
    soon = (datetime.now(TZ) + timedelta(days=3)).replace(hour=22, minute=0, second=0, microsecond=0)
    data = {
        "version": 1, "province": {"code": "TN", "name": "Tỉnh Thử Nghiệm", "reviewer": "Sở KH&CN"},
        "agencies": [{"id": "so-tp", "name": "Sở Tư pháp", "kind": "department"},
                     {"id": "so-khcn", "name": "Sở Khoa học và Công nghệ", "kind": "department"}],
        "services": [
            {"id": "ly-lich-tu-phap", "name": "Cấp phiếu lý lịch tư pháp", "agency": "so-tp", "level": "toan-trinh",
             "endpoints": [{"url": "http://127.0.112.10:8080/"}]},
            {"id": "chung-thuc", "name": "Chứng thực bản sao điện tử", "agency": "so-tp", "level": "4",
             "endpoints": [{"url": "http://127.0.112.11:8080/"}]},
            {"id": "cong-dvc", "name": "Cổng Dịch vụ công", "agency": "so-khcn", "level": "2", "slo": 0.999,
             "endpoints": [{"url": "http://127.0.112.12:8080/"}]},
            {"id": "csdl-noi-bo", "name": "Cơ sở dữ liệu nội bộ", "agency": "so-khcn", "level": "1", "public": False,
             "endpoints": [{"url": "tcp://127.0.112.13:5432"}]},
        ],
        "maintenance": [{"services": ["cong-dvc"], "start": soon.isoformat(), "duration": "2h",
                         "reason": "Nâng cấp máy chủ"}],
    }
    path = folder / "catalog.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _history(catalog: Path, state: Path) -> None:
    cat = load_catalog(catalog)
    now = datetime.now(TZ)
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start = hour - timedelta(days=91)
    with History.in_state(StateDir(state), cat.province.timezone) as h:
        for s in cat.services:
            ref = EndpointRef(service=s.id, agency=s.agency, level=s.level, endpoint=s.endpoints[0].url)
            outages = []
            if s.id == "chung-thuc":  # a long outage 20 days ago
                outages = [(hour - timedelta(days=20, hours=3), hour - timedelta(days=20))]
            if s.id == "ly-lich-tu-phap":
                outages = [(hour - timedelta(days=5, minutes=40), hour - timedelta(days=5))]
            h.backfill(ref, start, hour, timedelta(minutes=5), outages=outages)
            # the last hour or two attempt by attempt, as the prober records them; chung-thuc down for 30 min
            samples = []
            t = hour
            while t < now:
                down = s.id == "chung-thuc" and t > now - timedelta(minutes=30)
                samples.append(Sample(at=t, state="down" if down else "up", latency_seconds=0.05,
                                      reason="connect" if down else None))
                t += timedelta(minutes=1)
            h.write(ref, samples)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    tmp = tmp_path_factory.mktemp("status")
    catalog = _catalog(tmp)
    state = tmp / "state"
    _history(catalog, state)
    out = tmp / "site"
    done = run_dvcops("status-page", "--catalog", str(catalog), "--out", str(out), "--note",
                      "Đang khắc phục sự cố đường truyền tới máy chủ chứng thực.", "--note-en",
                      "Fixing the network link to the certification server.", "--service", "chung-thuc", state=state)
    assert done.returncode == 0, done.stderr
    yield catalog, state, out


class _Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        for name, value in ROLE_HEADERS.items():  # the nginx role's headers, CSP included
            self.send_header(name, value)
        super().end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served(site: tuple[Path, Path, Path]) -> Iterator[str]:
    handler = lambda *a, **kw: _Handler(*a, directory=str(site[2]), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(SERVER, handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{SERVER[0]}:{SERVER[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_page_says_what_a_citizen_needs(site: tuple[Path, Path, Path]) -> None:
    _, _, out = site
    vi = (out / "index.html").read_text(encoding="utf-8")
    en = (out / "en.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in out.iterdir()) == ["en.html", "index.html", "status.json", "style.css"]
    assert '<html lang="vi">' in vi and '<html lang="en">' in en
    assert "Cấp phiếu lý lịch tư pháp" in vi and "Cơ sở dữ liệu nội bộ" not in vi  # not public
    assert "Một số dịch vụ đang gặp sự cố" in vi and "Some services are down" in en
    assert vi.count('<ol class="bars"') == 3 and vi.count('<li class="') >= 3 * 90
    assert vi.count("✕ Gián đoạn") == 1 and vi.count("✓ Hoạt động") == 2  # chung-thuc is down now
    assert "đang xảy ra" in vi
    assert "Đang khắc phục sự cố đường truyền" in vi and "Fixing the network link" in en
    assert "Nâng cấp máy chủ" in vi and "Bảo trì theo kế hoạch" in vi
    assert "http://" not in vi.replace('xmlns="http://', "") and "https://" not in vi  # no external reference
    assert "<script" not in vi


def test_regeneration_replaces_files_atomically_and_keeps_notes(site: tuple[Path, Path, Path]) -> None:
    catalog, state, out = site
    before = (out / "index.html").stat().st_ino
    done = run_dvcops("status-page", "--catalog", str(catalog), "--out", str(out), state=state)
    assert done.returncode == 0, done.stderr
    assert (out / "index.html").stat().st_ino != before  # a new file renamed over the old one
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert "Đang khắc phục sự cố đường truyền" in (out / "index.html").read_text(encoding="utf-8")


def test_bad_notes_file_is_one_line_with_its_line(site: tuple[Path, Path, Path], tmp_path: Path) -> None:
    catalog, state, _ = site
    notes = tmp_path / "notes.yml"
    notes.write_text("notes:\n  - at: 2025-06-01T08:00:00+07:00\n    text: Sự cố\n    service: khong-co\n",
                     encoding="utf-8")
    out = tmp_path / "site"
    done = run_dvcops("status-page", "--catalog", str(catalog), "--out", str(out), "--notes", str(notes),
                      state=state)
    assert done.returncode == 2
    assert done.stderr.strip() == f"{notes}:4: notes[0].service: 'khong-co' is not a service of the catalogue"
    assert not out.exists()


@pytest.mark.slow
@pytest.mark.parametrize("width,name", [(390, "phone"), (1280, "desktop")])
def test_chromium_loads_everything_from_loopback(served: str, width: int, name: str) -> None:
    failed: list[str] = []
    refused: list[str] = []
    console: list[str] = []
    with chromium_page(viewport=(width, 900)) as page:
        def only_loopback(route: object) -> None:
            url = route.request.url  # type: ignore[attr-defined]
            if urlsplit(url).hostname != SERVER[0]:
                refused.append(url)
                route.abort()  # type: ignore[attr-defined]
            else:
                route.continue_()  # type: ignore[attr-defined]

        page.route("**/*", only_loopback)
        page.on("requestfailed", lambda r: failed.append(r.url))
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
        for path, lang in (("/", "vi"), ("/en.html", "en")):
            page.goto(served + path, wait_until="load")
            assert page.evaluate("document.documentElement.lang") == lang
            # the stylesheet applied under the role's CSP: the banner has its red background
            assert page.evaluate("getComputedStyle(document.querySelector('.banner')).backgroundColor") \
                == "rgb(179, 38, 30)"
            labels = page.evaluate("[...document.querySelectorAll('ol.bars')].map(e => e.getAttribute('aria-label'))")
            assert len(labels) == 3 and all("90" in label for label in labels)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"status-{lang}-{name}.png"), full_page=True)
        page.click("text=Tiếng Việt")
        assert page.evaluate("document.documentElement.lang") == "vi"
    assert failed == [] and refused == [] and console == [], (failed, refused, console)


@pytest.mark.slow
def test_the_nginx_role_serves_the_page_with_its_headers(site: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """The role's own templates (site and hardening) with nginx_status_page_root set, run by Debian's nginx on
    loopback: the page, its stylesheet, the security headers, the redirect to the trailing slash, GET only."""
    import subprocess

    import httpx
    import jinja2

    from dvcops.system import require_program

    role = ROOT / "playbooks/roles/nginx"
    values = {**yaml.safe_load((role / "defaults/main.yml").read_text()), "ansible_managed": "test",
              "nginx_server_name": "status.test", "nginx_http_port": 18080, "nginx_https_port": 18443,
              "nginx_tls_dir": str(tmp_path), "nginx_status_page_root": str(site[2]),
              "nginx_upstream": "http://127.0.112.3:8000"}  # the default is itself a template (the host's address)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    conf = {}
    for name in ("conf.d/dvcops-hardening.conf.j2", "sites-available/dvcops.conf.j2"):
        text = env.from_string((role / "templates/etc/nginx" / name).read_text()).render(values)
        text = "\n".join(line for line in text.splitlines() if "[::]" not in line)  # loopback only in tests
        conf[name] = text.replace("listen 18080", "listen 127.0.112.2:18080").replace(
            "listen 18443", "listen 127.0.112.2:18443")
    (tmp_path / "hardening.conf").write_text(conf["conf.d/dvcops-hardening.conf.j2"])
    (tmp_path / "site.conf").write_text(conf["sites-available/dvcops.conf.j2"])
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-subj", "/CN=status.test", "-days", "2", "-keyout", str(tmp_path / "server.key"),
                    "-out", str(tmp_path / "server.crt")], check=True, capture_output=True, timeout=30)
    (tmp_path / "nginx.conf").write_text(
        f"{'user root;' if os.geteuid() == 0 else ''}\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "daemon off;\nevents {}\nhttp {\n include /etc/nginx/mime.types;\n access_log off;\n"
        f" client_body_temp_path {tmp_path}/body;\n include {tmp_path}/hardening.conf;\n"
        f" include {tmp_path}/site.conf;\n}}\n")
    nginx = str(require_program("nginx"))
    check = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                            stderr=subprocess.DEVNULL)
    try:
        base = "https://127.0.112.2:18443"
        with httpx.Client(verify=False, timeout=5) as client:
            for _ in range(50):
                try:
                    page = client.get(f"{base}/trang-thai/")
                    break
                except httpx.ConnectError:
                    import time

                    time.sleep(0.1)
            assert page.status_code == 200 and "Tình trạng dịch vụ công trực tuyến" in page.text
            assert page.headers["content-security-policy"] == ROLE_HEADERS["Content-Security-Policy"]
            assert page.headers["x-content-type-options"] == "nosniff" and "max-age" in page.headers["cache-control"]
            assert client.get(f"{base}/trang-thai/style.css").headers["content-type"].startswith("text/css")
            assert client.get(f"{base}/trang-thai/en.html").status_code == 200
            moved = client.get(f"{base}/trang-thai")
            assert moved.status_code == 301 and moved.headers["location"].endswith("/trang-thai/")
            assert client.post(f"{base}/trang-thai/index.html").status_code == 403
    finally:
        proc.terminate()
        proc.wait(timeout=10)
