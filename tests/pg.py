"""A real PostgreSQL server (Debian's `postgresql` package) for tests and benchmarks, on a loopback address.

PostgreSQL refuses to run as root, so as root the cluster is created and run as the `postgres` user
in a temporary folder it owns; as another user it runs as that user. Nothing listens on a Unix
socket outside that folder, and `stop()` removes everything.

    with PostgresServer("127.0.41.1") as pg:
        url = pg.create_database("survey_test")     # postgresql+psycopg://postgres@127.0.41.1:PORT/survey_test
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg

from dvcops.system import require_program


def free_port(host: str) -> int:
    """A TCP port nobody listens on at `host` right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self, host: str, port: int | None = None, settings: dict[str, str] | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.settings = settings or {}
        self.folder: Path | None = None
        self._as_root = os.geteuid() == 0

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        cmd = ["runuser", "-u", "postgres", "--", *args] if self._as_root else list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def start(self) -> PostgresServer:
        """Create the cluster (first time) and start the server; after `stop(keep=True)`, start it again."""
        initdb, pg_ctl = str(require_program("initdb")), str(require_program("pg_ctl"))
        if self.folder is None:
            self.folder = Path(tempfile.mkdtemp(prefix="dvcops-pg-"))
            if self._as_root:
                shutil.chown(self.folder, "postgres", "postgres")
            done = self._run(initdb, "-D", str(self.folder / "data"), "-U", "postgres", "--auth=trust", "--no-sync",
                             "-E", "UTF8", "--locale=C.UTF-8")
            if done.returncode != 0:
                raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        data = self.folder / "data"
        options = {"listen_addresses": self.host, "port": str(self.port), "unix_socket_directories": str(self.folder),
                   "max_connections": "200", "shared_buffers": "64MB", **self.settings}
        opts = " ".join(f"-c {k}={v}" for k, v in options.items())
        done = self._run(pg_ctl, "-D", str(data), "-l", str(self.folder / "postgres.log"), "-o", opts, "-w",
                         "-t", "60", "start", timeout=90)
        if done.returncode != 0:
            log = (self.folder / "postgres.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()} {log}")
        self._wait()
        return self

    def _wait(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    def url(self, database: str) -> str:
        """SQLAlchemy URL (psycopg 3)."""
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def create_schema(self, database: str, schema: str) -> str:
        """A fresh schema in `database`; the URL makes it the only one on the search path (fast test isolation)."""
        with psycopg.connect(self.dsn(database), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return f"{self.url(database)}?options=-csearch_path%3D{schema}"

    def stop(self, keep: bool = False) -> None:
        """Stop the server; remove the cluster unless `keep` (to start the same server again)."""
        if self.folder is None:
            return
        self._run(str(require_program("pg_ctl")), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        if not keep:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
