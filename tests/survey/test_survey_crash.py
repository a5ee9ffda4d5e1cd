"""Crash test: 50 concurrent clients post ratings, every server process is killed with SIGKILL mid-run and
the server restarted; every rating that got a 2xx is in the database exactly once (SQLite and PostgreSQL).

Clients behave like real ones: after a connection error or a 5xx they retry the same dossier, so a rating
committed just before the kill (its 201 lost) comes back as 409 — and is still stored once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from dvcops.system import wait_until_answers
from survey.core.security import dossier_hash
from survey.models import Rating
from tests.conftest import ROOT
from tests.pg import free_port
from tests.survey.helpers import HMAC_KEY, PREFIX, rating

pytestmark = pytest.mark.slow
HOST = f"{PREFIX}.102"
CLIENTS = 50


class Server:
    """`dvcops survey serve --workers 2` in its own process group, so SIGKILL takes every process at once."""

    def __init__(self, catalog: Path, state: Path, db_url: str) -> None:
        self.port = free_port(HOST)
        self.url = f"http://{HOST}:{self.port}"
        self.cmd = [sys.executable, "-m", "dvcops", "survey", "serve", "--catalog", str(catalog), "--host", HOST,
                    "--port", str(self.port), "--workers", "2"]
        self.env = {**os.environ, "DVCOPS_STATE": str(state), "DVCOPS_SURVEY_DATABASE_URL": db_url,
                    "DVCOPS_SURVEY_HMAC_KEY": HMAC_KEY, "DVCOPS_SURVEY_RATE_LIMIT_PER_MINUTE": "10000000"}
        self.log = state / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=ROOT, stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        assert wait_until_answers(f"{self.url}/healthz", 30, self.proc, every=0.05), \
            f"server did not start: {self.log.read_text()}"

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)  # the group we created: the supervisor and both workers
        self.proc.wait(timeout=30)


class Clients:
    def __init__(self, url: str) -> None:
        self.url = url
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: dict[str, str] = {}  # dossier code -> receipt of its 201
        self.lost_then_409: set[str] = set()  # committed but the 201 never arrived
        self.failures: Counter[str] = Counter()
        self.threads = [threading.Thread(target=self._run, args=(n,)) for n in range(CLIENTS)]

    def _run(self, n: int) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as client:
            i = 0
            while not self.stop.is_set():
                code, attempts = f"CRASH-{n:02d}-{i:05d}", 0
                i += 1
                while not self.stop.is_set():
                    attempts += 1
                    try:
                        resp = client.post("/api/v1/ratings", json=rating(code, level="rat-hai-long"))
                    except httpx.TransportError as exc:
                        self._fail(type(exc).__name__)
                        time.sleep(0.1)
                        continue
                    if resp.status_code == 201:
                        with self.lock:
                            self.acked[code] = resp.json()["receipt_id"]
                        break
                    if resp.status_code == 409 and attempts > 1:
                        with self.lock:
                            self.lost_then_409.add(code)
                        break
                    self._fail(str(resp.status_code))
                    assert resp.status_code >= 500, resp.text  # anything else is a bug
                    time.sleep(0.1)

    def _fail(self, kind: str) -> None:
        with self.lock:
            self.failures[kind] += 1

    def wait_for(self, n: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.acked) >= n, f"only {len(self.acked)} ratings acknowledged"


def test_every_acknowledged_rating_survives_sigkill_exactly_once(db_url: str, tmp_path: Path, catalog_path: Path
                                                                 ) -> None:
    server = Server(catalog_path, tmp_path, db_url)
    server.start()
    clients = Clients(server.url)
    try:
        for t in clients.threads:
            t.start()
        clients.wait_for(200)
        server.kill()  # mid-run: 50 clients have requests in flight
        acked_before_restart = len(clients.acked)
        time.sleep(0.3)
        server.start()
        clients.wait_for(acked_before_restart + 200)
    finally:
        clients.stop.set()
        for t in clients.threads:
            t.join(timeout=30)
        if server.proc is not None and server.proc.poll() is None:
            server.kill(signal.SIGTERM)

    assert sum(clients.failures.values()) > 0, "the kill should have failed some requests"
    engine = create_engine(db_url)
    r = Rating.__table__
    with engine.connect() as conn:
        stored = {row.dossier_hash: row.receipt_id for row in conn.execute(select(r.c.dossier_hash, r.c.receipt_id))}
        repeated = conn.execute(select(r.c.dossier_hash).group_by(r.c.dossier_hash).having(func.count() > 1)).all()
        answer_counts = Counter(len(answers) for answers in conn.execute(select(Rating.answers)).scalars())
        total = conn.execute(select(func.count()).select_from(r)).scalar_one()
    engine.dispose()
    key = HMAC_KEY.encode()
    missing = [c for c in clients.acked if dossier_hash(key, c) not in stored]
    wrong_receipt = [c for c, receipt in clients.acked.items() if stored.get(dossier_hash(key, c)) != receipt]
    assert not missing and not wrong_receipt and not repeated
    assert all(dossier_hash(key, c) in stored for c in clients.lost_then_409)
    assert answer_counts == Counter({5: total})  # every rating with all its answers
    assert total >= len(clients.acked) + len(clients.lost_then_409)
    print(f"\n{len(clients.acked)} acknowledged ({acked_before_restart} before the kill), "
          f"{len(clients.lost_then_409)} committed with the 201 lost, {total} stored, "
          f"failures {dict(clients.failures)}")
