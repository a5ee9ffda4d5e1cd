"""Shards and the rendered Prometheus config: 4 shards cover every endpoint exactly once, 4 -> 5 moves at
most 30 %, Debian's Prometheus computes the same slots as the prober (its hashmod keep rules partition a
full exposition exactly as `--shard` does), and the bad inputs of `--shard`, `--location`, journeys."""

from __future__ import annotations

import http.server
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from dvcops.catalog import parse_catalog
from dvcops.system import require_program, stop_process
from probes.placement import Shard, hashmod, owns, placed_targets, slot_owners
from probes.settings import ProbeSettings
from tests.conftest import run_dvcops

PROMETHEUS = "127.0.110.40:9090"
FAKE_PROBERS = [("127.0.110.41", 9115 + i) for i in range(4)]


def _catalog(n: int, folder: Path | None = None) -> dict[str, object]:
    services = [{"id": f"dv-{i // 10}", "name": f"Dịch vụ {i // 10}", "agency": "so", "level": "3", "endpoints": []}
                for i in range(0, n, 10)]
    for i in range(n):
        services[i // 10]["endpoints"].append({"url": f"http://127.0.110.{50 + i % 10}:8080/e/{i}"})  # type: ignore
    return {"version": 1, "province": {"code": "T", "name": "Tỉnh T", "reviewer": "Sở"},
            "agencies": [{"id": "so", "name": "Sở", "kind": "department"}], "services": services,
            "locations": [{"name": "dc"}, {"name": "huyen-1"}]}


def _placed(data: dict[str, object], shard: str | None) -> set[str]:
    cat = parse_catalog(yaml.safe_dump(data, allow_unicode=True))
    return {t.key for t in placed_targets(cat, ProbeSettings(shard=shard, location="dc"))}


def test_four_shards_cover_every_endpoint_once_and_a_fifth_moves_few() -> None:
    data = _catalog(4000)
    everything = _placed(data, None)
    assert len(everything) == 4000
    four = {i: _placed(data, f"{i}/4") for i in range(1, 5)}
    assert sum(len(s) for s in four.values()) == 4000 and set().union(*four.values()) == everything
    assert all(700 < len(s) < 1300 for s in four.values()), {i: len(s) for i, s in four.items()}
    five = {i: _placed(data, f"{i}/5") for i in range(1, 6)}
    assert set().union(*five.values()) == everything and sum(len(s) for s in five.values()) == 4000
    moved = sum(1 for key in everything if next(i for i in four if key in four[i])
                != next(i for i in five if key in five[i]))
    assert moved / 4000 <= 0.30, moved
    assert moved / 4000 >= 0.10  # about 1/5: endpoints do move to the new shard
    # adding a shard only moves endpoints to the new one, never between the old ones
    assert all(next(i for i in five if key in five[i]) in (old, 5) for old, keys in four.items() for key in keys)


def test_hashmod_is_prometheus_hashmod() -> None:
    """Known values: md5 of the text, the last 8 bytes as a big-endian integer, modulo."""
    import hashlib

    digest = hashlib.md5(b"dv-1;http://x/;").digest()
    assert hashmod("dv-1;http://x/;", 1024) == int.from_bytes(digest[8:16], "big") % 1024
    assert slot_owners(1) == (1,) * 1024


class _Exposition(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def full_exposition() -> Iterator[list[tuple[str, str]]]:
    """Four fake probers that all expose every endpoint (as if each had been started without --shard)."""
    keys = [(f"dv-{i // 10}", f"http://127.0.110.{50 + i % 10}:8080/e/{i}") for i in range(2000)]
    keys += [("dv-0", "")]  # a journey's series: service and journey, no endpoint
    lines = [f'probe_success{{service="{s}",endpoint="{e}"}} 1' for s, e in keys[:-1]]
    lines.append('probe_journey_success{service="dv-0",journey="nop-ho-so"} 1')
    lines.append("dvcops_probe_targets 2000")
    _Exposition.body = ("\n".join(lines) + "\n").encode()
    servers = [http.server.ThreadingHTTPServer(addr, _Exposition) for addr in FAKE_PROBERS]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    try:
        yield keys
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


@pytest.mark.slow
def test_prometheus_keeps_each_series_in_the_shard_the_prober_would_probe_it(
        full_exposition: list[tuple[str, str]], tmp_path: Path) -> None:
    (tmp_path / "catalog.yml").write_text(yaml.safe_dump(_catalog(10), allow_unicode=True), encoding="utf-8")
    config = tmp_path / "prometheus.yml"
    done = run_dvcops("probe", "config", "prometheus", "--catalog", str(tmp_path / "catalog.yml"), "--locations",
                      f"dc={FAKE_PROBERS[0][0]}:{FAKE_PROBERS[0][1]}", "--shards", "4", "--scrape-interval", "1s",
                      "--out", str(config))
    assert done.returncode == 0, done.stderr
    check = subprocess.run([str(require_program("promtool")), "check", "config", str(config)], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    prom = subprocess.Popen([str(require_program("prometheus")), f"--config.file={config}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address={PROMETHEUS}"],
                            stdout=(tmp_path / "prometheus.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        def query(expr: str) -> list[dict[str, object]]:
            body = httpx.get(f"http://{PROMETHEUS}/api/v1/query", params={"query": expr}, timeout=5).json()
            return body["data"]["result"]  # type: ignore[no-any-return]

        deadline = time.monotonic() + 30
        rows: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            try:
                rows = query("probe_success")
                if len(rows) >= 2000 and len(query("up == 1")) == 4:
                    break
            except (httpx.HTTPError, ValueError):  # not ready yet: 503 "Service Unavailable", not JSON
                pass
            time.sleep(0.5)
        kept: dict[tuple[str, str], list[str]] = {}
        for r in rows:
            m = r["metric"]
            kept.setdefault((m["service"], m["endpoint"]), []).append(m["shard"])  # type: ignore[index]
        assert len(kept) == 2000 and all(len(v) == 1 for v in kept.values())  # every endpoint exactly once
        for (service, endpoint), [shard] in kept.items():
            assert owns(Shard(int(shard.split("/")[0]), 4), service, endpoint), (service, endpoint, shard)
        journey = query("probe_journey_success")
        assert len(journey) == 1 and owns(Shard(int(journey[0]["metric"]["shard"][0]), 4), "dv-0",  # type: ignore
                                          journey="nop-ho-so")
        assert len(query("dvcops_probe_targets")) == 4  # the prober's own series pass every shard's rule
        assert {r["metric"]["job"] for r in query("up")} == {"dvcops_prober"}  # type: ignore[index]
        assert {r["metric"]["location"] for r in rows} == {"dc"}  # type: ignore[index]
    finally:
        stop_process(prom)


@pytest.mark.parametrize("args,message", [
    (["--shard", "0/4"], "--shard: expected I/N with 1 <= I <= N <= 256, e.g. --shard 1/4 (got '0/4')"),
    (["--shard", "5/4"], "--shard: expected I/N with 1 <= I <= N <= 256, e.g. --shard 1/4 (got '5/4')"),
    (["--shard", "x"], "--shard: expected I/N with 1 <= I <= N <= 256, e.g. --shard 1/4 (got 'x')"),
    (["--location", "trung tâm"], "--location: 'trung tâm' is not a location name: use lower-case letters, "
                                  "digits, '-' or '_' (it becomes a Prometheus label value and job name), e.g. "
                                  "dc-tinh (got 'trung tâm')"),
    (["--location", "xa-1"], "--location 'xa-1' is not one of the catalogue's locations (dc, huyen-1)"),
])
def test_bad_serve_input_is_one_line_exit_2_and_nothing_listens(args: list[str], message: str,
                                                                tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(yaml.safe_dump(_catalog(10), allow_unicode=True), encoding="utf-8")
    done = run_dvcops("probe", "serve", "--catalog", str(catalog), "--listen", "127.0.110.42:9115",
                      "--state", str(tmp_path / "state"), "--duration", "5", *args, timeout=30)
    assert done.returncode == 2 and done.stderr.strip() == message, done.stderr
    assert not (tmp_path / "state").exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://127.0.110.42:9115/metrics", timeout=1)


def test_bad_location_and_journey_in_the_catalogue_are_file_line_errors(tmp_path: Path) -> None:
    data = _catalog(10)
    data["locations"] = [{"name": "dc"}, {"name": "Huyện 1"}]
    data["services"][0]["journeys"] = [{"name": "nop", "writes": True, "steps": [  # type: ignore[index]
        {"name": "tra-cuu", "url": "http://127.0.110.50:8080/dv/ho-so/{ma_ho_so}"},
        {"name": "nop", "method": "POST", "url": "https://dichvucong.example.vn/nop", "json": {"a": 1},
         "capture": {"ma_ho_so": {"json": "ma"}}}]}]
    catalog = tmp_path / "catalog.yml"
    catalog.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    done = run_dvcops("probe", "serve", "--catalog", str(catalog), "--listen", "127.0.110.42:9115", timeout=30)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    text = catalog.read_text(encoding="utf-8").splitlines()

    def line_of(fragment: str) -> int:
        return next(i for i, t in enumerate(text, 1) if fragment in t)

    assert f"{catalog}:{line_of('Huyện 1')}: locations[1].name: 'Huyện 1' is not a location name" in done.stderr
    assert any(ln.startswith(f"{catalog}:{line_of('{ma_ho_so}')}: services[0].journeys[0].steps[0].url: "
                             "{ma_ho_so} is not captured by an earlier step (captured so far: none)") for ln in lines)
    assert any(ln.startswith(f"{catalog}:{line_of('dichvucong.example.vn')}: services[0].journeys[0].steps[1].url: "
                             "'dichvucong.example.vn' is not a host of this catalogue") for ln in lines), lines
    assert len(lines) == 3, lines


def test_config_prometheus_bad_input() -> None:
    for args, message in (
        (["--locations", "dc"], "--locations 'dc': expected NAME=ADDRESS:PORT, e.g. dc=127.0.110.1:9115"),
        (["--locations", "DC=127.0.0.1:9115"], "--locations: 'DC' is not a location name"),
        (["--locations", "dc=127.0.0.1:9115", "--shards", "0"], "--shards 0: expected 1 to 256"),
        ([], "say what to render"),
    ):
        done = run_dvcops("probe", "config", "prometheus", "--catalog", "examples/ha-giang.yml", *args)
        assert done.returncode == 2 and done.stderr.startswith(message), (args, done.stderr)
