"""Programs from Debian packages that parts run for real (nmap, nginx, postgres, prometheus, chromium...)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

from dvcops.errors import MissingPackageError

PACKAGES = {
    "nmap": "nmap",
    "nginx": "nginx-light",
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-alertmanager": "prometheus-alertmanager",
    "amtool": "prometheus-alertmanager",
    "prometheus-blackbox-exporter": "prometheus-blackbox-exporter",
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "openssl": "openssl",
    "sqlite3": "sqlite3",
    "initdb": "postgresql",
    "pg_ctl": "postgresql",
    "postgres": "postgresql",
}
_EXTRA_DIRS = ["/usr/sbin", "/sbin"]


def find_program(name: str) -> Path | None:
    """Where a program is. PostgreSQL's server programs come from Debian's versioned folder first
    (the newest version), so a stray build elsewhere on PATH is not picked up by accident."""
    if PACKAGES.get(name) == "postgresql":
        for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (d / name).exists():
                return d / name
    found = shutil.which(name) or next((str(Path(d) / name) for d in _EXTRA_DIRS if (Path(d) / name).exists()), None)
    return Path(found) if found else None


def require_program(name: str) -> Path:
    """The program's path, or a MissingPackageError naming the Debian package to install."""
    path = find_program(name)
    if path is None:
        raise MissingPackageError(name, PACKAGES.get(name, name))
    return path


def stop_process(proc: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 15.0) -> None:
    """Ask a server we started to stop (SIGTERM, so it can finish what it holds), then kill it if it won't."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def wait_until_answers(url: str, timeout: float, proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None = None,
                       every: float = 0.1, per_try: float = 1.0) -> bool:
    """Poll `url` (a server we started) until it answers 200: True then; False once `timeout` passes or `proc`
    exits first. Bounded in time, each try in `per_try` seconds."""
    import httpx  # only the callers that start servers pay for it

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=per_try).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(every)
    return False
