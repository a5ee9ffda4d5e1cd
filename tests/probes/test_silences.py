"""`dvcops alerts silences` against an Alertmanager API that fails half-way (a small stand-in on 127.0.90.40):
the silences this run created are expired again and the command exits 2 naming the URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from dvcops.catalog import parse_catalog
from probes.alerts.silences import planned
from tests.conftest import run_dvcops

ADDRESS = ("127.0.90.40", 9093)


@pytest.fixture
def failing_api() -> Iterator[list[tuple[str, str]]]:
    """Accepts the first silence, refuses the second with 500; records every call."""
    calls: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            calls.append(("GET", self.path))
            self._answer(200, [])

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            calls.append(("POST", self.path))
            posts = sum(1 for m, _ in calls if m == "POST")
            self._answer(200, {"silenceID": "s-1"}) if posts == 1 else self._answer(500, "store full")

        def do_DELETE(self) -> None:  # noqa: N802
            calls.append(("DELETE", self.path))
            self._answer(200, {})

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(ADDRESS, Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield calls
    finally:
        server.shutdown()
        server.server_close()


def _catalog(tmp_path: Path) -> Path:
    now = datetime.now(UTC)
    data = {"version": 1, "province": {"code": "OC", "name": "Tỉnh", "reviewer": "Sở KH&CN"},
            "agencies": [{"id": "so-a", "name": "Sở A", "kind": "department"}],
            "services": [{"id": "a", "name": "A", "agency": "so-a", "level": 3},
                         {"id": "b", "name": "B", "agency": "so-a", "level": 3}],
            "maintenance": [{"services": ["a"], "start": (now + timedelta(hours=1)).isoformat(), "duration": "1h"},
                            {"services": ["b"], "start": (now + timedelta(hours=2)).isoformat(), "duration": "1h"}]}
    path = tmp_path / "catalog.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_failure_half_way_undoes_what_this_run_created(failing_api: list[tuple[str, str]], tmp_path: Path) -> None:
    url = f"http://{ADDRESS[0]}:{ADDRESS[1]}"
    done = run_dvcops("alerts", "silences", "--catalog", str(_catalog(tmp_path)), "--alertmanager", url)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"--alertmanager {url}: POST /api/v2/silences answered 500: \"store full\""]
    assert failing_api == [("GET", "/api/v2/silences"), ("POST", "/api/v2/silences"), ("POST", "/api/v2/silences"),
                           ("DELETE", "/api/v2/silence/s-1")]


def test_weekly_window_gives_one_silence_per_occurrence_within_the_horizon() -> None:
    cat = parse_catalog("""
version: 1
province: {code: OC, name: "Tỉnh", reviewer: "Sở KH&CN"}
agencies: [{id: so-a, name: "Sở A", kind: department}]
services: [{id: a, name: A, agency: so-a, level: 3}]
maintenance: [{start: "2026-01-04T01:00:00+07:00", duration: 2h, every: week, reason: "Sao lưu"}]
""")
    now = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # Sunday 09:00 in Hà Nội, after that day's window
    plans = planned(cat, now, timedelta(days=14))
    assert [p.starts.isoformat() for p in plans] == ["2026-03-08T01:00:00+07:00", "2026-03-15T01:00:00+07:00"]
    assert plans[0].body()["matchers"] == [{"name": "service", "value": ".+", "isRegex": True, "isEqual": True}]
    assert plans[0].key != plans[1].key and planned(cat, now, timedelta(days=14)) == plans
