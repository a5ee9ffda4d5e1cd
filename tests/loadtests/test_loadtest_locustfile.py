"""`dvcops loadtest run -f`: the operator's own locustfile under the profile, thresholds, scope and verdict.

Against the real lab on 127.0.50.x (its portal on 127.0.50.1:8080); servers this module adds (a
listener that must see no connection, a server redirecting out of scope) live on 127.0.120.x.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import Lab
from loadtests.verdict import Verdict
from tests.conftest import run_dvcops, start_lab
from tests.loadtests.servers import Listener, write_catalog

PREFIX = "127.0.50"
OWN = "127.0.120"
pytestmark = pytest.mark.slow

LOCUSTFILE = '''\
import os

from locust import FastHttpUser, HttpUser, constant, task


class Citizen(HttpUser):
    """requests-based user; no host: the run gives it the catalogue's portal."""
    wait_time = constant(0.05)

    @task(2)
    def home(self):
        self.client.get("/", name="my.home")

    @task
    def search(self):
        self.client.get("/thu-tuc?q=ho+tich", name="my.search")


class FastCitizen(FastHttpUser):
    host = "http://127.0.50.1:8080"
    wait_time = constant(0.05)

    @task
    def service(self):
        with self.client.get("/dv/dang-ky-kinh-doanh", name="my.service", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"expected 200, got {resp.status_code}")
'''
OUTSIDE_TASKS = '''

OUTSIDE = os.environ["OUTSIDE_URL"]


class Stray(HttpUser):
    wait_time = constant(0.05)

    @task
    def outside(self):
        self.client.get(OUTSIDE + "/khong-duoc-phep", name="stray.http")


class FastStray(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def outside(self):
        self.client.get(OUTSIDE + "/khong-duoc-phep", name="stray.fast")
'''
PROFILE = "users: 6\nspawn_rate: 6\nduration: 4s\n"
THRESHOLDS = """\
thresholds:
  http_req_duration{name:my.home}: ["p(95)<800"]
  http_req_duration{name:my.service}: ["p(95)<800"]
  http_req_failed: ["rate<0.01"]
  http_reqs{name:my.search}: ["count>3"]
"""
TIGHT = """\
thresholds:
  http_req_failed: ["rate<0.01"]
  http_req_duration{name:my.home}: ["max<0.01"]
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    yield from start_lab(tmp_path_factory, PREFIX)


def loadtest(catalog: Path, tmp_path: Path, locustfile: str, thresholds: str = THRESHOLDS, profile: str = PROFILE,
             *extra: str, env: dict[str, str] | None = None) -> tuple[int, Verdict | None, str, str]:
    (tmp_path / "my_locustfile.py").write_text(locustfile)
    (tmp_path / "thresholds.yml").write_text(thresholds)
    (tmp_path / "profile.yml").write_text(profile)
    out = tmp_path / "run"
    proc = run_dvcops("loadtest", "run", "--catalog", str(catalog), "-f", str(tmp_path / "my_locustfile.py"),
                      "--profile", str(tmp_path / "profile.yml"), "--thresholds", str(tmp_path / "thresholds.yml"),
                      "--out", str(out), *extra, state=tmp_path / "state", env=env)
    verdict = Verdict.read(out) if (out / "verdict.json").exists() else None
    return proc.returncode, verdict, proc.stdout, proc.stderr


def test_own_http_and_fasthttp_users_pass_their_thresholds_by_their_request_names(lab: Lab, tmp_path: Path) -> None:
    code, v, out, err = loadtest(lab.catalog_path, tmp_path, LOCUSTFILE)
    assert code == 0, out + err
    assert v is not None and v.verdict == "pass" and v.stopped_by == "duration"
    rows = {r.name: r for r in v.requests}
    assert set(rows) == {"my.home", "my.search", "my.service"}
    assert all(r.requests > 3 and r.failures == 0 for r in rows.values()), rows
    assert {r.threshold for r in v.thresholds if r.ok} == {
        "http_req_duration{name:my.home}: p(95)<800", "http_req_duration{name:my.service}: p(95)<800",
        "http_req_failed: rate<0.01", "http_reqs{name:my.search}: count>3"}
    assert v.user_types == ["Citizen", "FastCitizen"] and v.locustfiles == [str(tmp_path / "my_locustfile.py")]
    assert "ĐẠT / PASS (exit 0)" in out
    # Locust's own HTML report names the real target host, not "None"
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert re.search(r'"host": "http://127\.0\.50\.1:8080"', html)


def test_a_tight_threshold_on_an_own_request_name_exits_1(lab: Lab, tmp_path: Path) -> None:
    code, v, out, err = loadtest(lab.catalog_path, tmp_path, LOCUSTFILE, TIGHT)
    assert code == 1, out + err
    assert v is not None and v.verdict == "fail"
    [missed] = [r for r in v.thresholds if not r.ok]
    assert missed.threshold == "http_req_duration{name:my.home}: max<0.01"
    assert missed.observed is not None and missed.observed > 0.01
    assert f"✗ {missed.message}" in out


def test_requests_outside_the_scope_are_refused_before_any_connection_and_exit_2(lab: Lab, tmp_path: Path) -> None:
    listener = Listener(f"{OWN}.9")
    try:
        code, v, out, err = loadtest(lab.catalog_path, tmp_path, LOCUSTFILE + OUTSIDE_TASKS,
                                     env={"OUTSIDE_URL": listener.url})
        connections = listener.connections
    finally:
        listener.close()
    assert code == 2, out + err
    assert connections == 0
    assert v is not None and v.verdict == "refused" and "outside the scope" in v.stopped_by
    rows = {r.name: r for r in v.requests}
    for name in ("stray.http", "stray.fast"):  # requests (HttpUser) and geventhttpclient (FastHttpUser) alike
        assert rows[name].requests == rows[name].failures > 0
        assert any(line.startswith(f"{rows[name].failures} × GET {name}: out-of-scope: {listener.url} ")
                   for line in v.refused), v.refused
    assert rows["my.home"].failures == 0  # the in-scope users ran meanwhile
    assert "TỪ CHỐI / REFUSED (exit 2)" in out


class _Redirect(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(302)
        self.send_header("Location", self.target + "/sau-chuyen-huong")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


def test_a_redirect_out_of_the_scope_is_refused_at_the_hop(tmp_path: Path) -> None:
    listener = Listener(f"{OWN}.9")
    handler = type("Redirect", (_Redirect,), {"target": listener.url})
    server = http.server.ThreadingHTTPServer((f"{OWN}.2", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://{OWN}.2:{server.server_address[1]}"
    follow = ("from locust import FastHttpUser, HttpUser, constant, task\n\n\n"
              "class Follows(HttpUser):\n    wait_time = constant(0.1)\n\n    @task\n"
              "    def go(self):\n        self.client.get('/di', name='redirect.http')\n\n\n"
              "class FastFollows(FastHttpUser):\n    wait_time = constant(0.1)\n\n    @task\n"
              "    def go(self):\n        self.client.get('/di', name='redirect.fast')\n")
    try:
        code, v, out, err = loadtest(write_catalog(tmp_path / "c.yml", base), tmp_path, follow,
                                     "thresholds:\n  http_req_failed: ['rate<0.01']\n", "users: 2\nduration: 3s\n")
        connections = listener.connections
    finally:
        server.shutdown()
        server.server_close()
        listener.close()
    assert code == 2, out + err
    assert connections == 0
    assert v is not None and {r.split(": ")[0].split(" GET ")[1] for r in v.refused} == {"redirect.http",
                                                                                         "redirect.fast"}


@pytest.mark.parametrize(("source", "line", "message"), [
    ("from locust import HttpUser, task\n\n\nclass A(HttpUser)\n    pass\n", 4, "syntax error: expected ':'"),
    ("from locust import HttpUser, task\nimport mo_dun_khong_co\n", 2,
     "ModuleNotFoundError: No module named 'mo_dun_khong_co'"),
    ("from locust import HttpUser\n\nSETTINGS = {}\nTIMEOUT = SETTINGS['timeout']\n", 4, "KeyError: 'timeout'"),
    ("from locust import task\n\nX = 1\n", None, "no User class"),
])
def test_a_broken_locustfile_exits_2_with_one_line_naming_file_and_line(tmp_path: Path, source: str,
                                                                        line: int | None, message: str) -> None:
    catalog = write_catalog(tmp_path / "c.yml", f"http://{OWN}.3:8080")  # nothing listens: nothing may be sent
    code, v, out, err = loadtest(catalog, tmp_path, source)
    assert code == 2 and v is None, out + err
    [shown] = err.strip().splitlines()
    where = f"{tmp_path / 'my_locustfile.py'}" + (f":{line}" if line else "")
    assert shown.startswith(f"{where}: ") and message in shown, shown
    assert "Traceback" not in out + err


def test_progress_lines_when_the_output_is_not_a_terminal(lab: Lab, tmp_path: Path) -> None:
    code, v, out, err = loadtest(lab.catalog_path, tmp_path, LOCUSTFILE, THRESHOLDS,
                                 "users: 4\nspawn_rate: 4\nduration: 7s\n", "--progress-every", "2s")
    assert code == 0, out + err
    lines = [x for x in out.splitlines() if x.startswith("Tiến độ / progress ")]
    assert 2 <= len(lines) <= 4, out
    pattern = re.compile(r"progress (\d\d):(\d\d) / còn (\d\d):(\d\d) left · (\d+) users · ([\d.]+) req/s · "
                         r"(\d+) requests, (\d+) failed \([\d.]+%\) · p95 \d+ ms · at risk: (.+)$")
    seen = [pattern.search(x) for x in lines]
    assert all(seen), lines
    elapsed = [int(m[1]) * 60 + int(m[2]) for m in seen if m]
    assert elapsed == sorted(elapsed) and all(1 <= b - a <= 3 for a, b in zip(elapsed, elapsed[1:], strict=False))
    assert all(2 <= e <= 7 for e in elapsed)
    first = seen[0]
    assert first is not None and int(first[5]) == 4 and float(first[6]) > 0 and int(first[7]) > 0
    assert json.loads((tmp_path / "run" / "progress.json").read_text())["requests"] > 0
