"""Start, stop and inspect the lab process; send it scenario actions."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from dvcops.labcontrol import CONTROL_FILE, LabControl
from dvcops.state import StateDir
from lab.spec import LabError, LabSpec


class Lab:
    """The lab of one state directory: `<state>/lab/` holds its pid file, lab.yml, certs and log."""

    def __init__(self, state: StateDir | None = None, spec: LabSpec | None = None) -> None:
        self.state = state or StateDir()
        self.folder = self.state.folder("lab")
        self.spec = spec or self._saved_spec() or LabSpec()

    @property
    def catalog_path(self) -> Path:
        return self.folder / "lab.yml"

    @property
    def ca_path(self) -> Path:
        return self.folder / "certs" / "ca.pem"

    def _saved_spec(self) -> LabSpec | None:
        f = self.folder / "spec.json"
        if f.exists():
            return LabSpec(**json.loads(f.read_text()))
        return None

    def pid(self) -> int | None:
        """The lab server's pid if it runs (checked against its command line, not just the number)."""
        try:
            pid = int((self.folder / "lab.pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return pid if b"lab.server" in cmdline else None

    def up(self, timeout: float = 30.0) -> dict[str, Any]:
        """Start the lab in the background unless it runs; wait until it listens and lab.yml is written."""
        if self.pid() is not None:
            return self.status()
        self.catalog_path.unlink(missing_ok=True)
        spec_json = json.dumps({k: v for k, v in dataclasses.asdict(self.spec).items() if k != "hosts"})
        (self.folder / "spec.json").write_text(spec_json)
        log = (self.folder / "lab.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "lab.server", "--folder", str(self.folder), "--spec", spec_json],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        (self.folder / "lab.pid").write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.catalog_path.exists():
                return self.status()
            if proc.poll() is not None:
                (self.folder / "lab.pid").unlink(missing_ok=True)
                raise LabError(f"lab did not start: {self._last_log_line()} (log: {self.folder / 'lab.log'})")
            time.sleep(0.05)
        self.down()
        raise LabError(f"lab did not start within {timeout:.0f}s (log: {self.folder / 'lab.log'})")

    def _last_log_line(self) -> str:
        try:
            lines = [x for x in (self.folder / "lab.log").read_text(errors="replace").splitlines() if x.strip()]
        except FileNotFoundError:
            return "no log"
        return lines[-1] if lines else "no log"

    def down(self, timeout: float = 10.0) -> bool:
        """Stop exactly the process group `up` started; True if something was running."""
        pid = self.pid()
        for name in ("lab.pid", "state.json", CONTROL_FILE):  # lab.yml stays: the record of what ran
            (self.folder / name).unlink(missing_ok=True)
        if pid is None:
            return False
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                return True
            time.sleep(0.05)
        os.killpg(pid, signal.SIGKILL)
        return True

    def status(self) -> dict[str, Any]:
        pid = self.pid()
        out: dict[str, Any] = {"running": pid is not None, "pid": pid, "folder": str(self.folder),
                               "catalog": str(self.catalog_path) if self.catalog_path.exists() else None}
        try:
            out.update({k: v for k, v in json.loads((self.folder / "state.json").read_text()).items() if k != "pid"})
        except (FileNotFoundError, ValueError):
            pass
        return out

    def action(self, name: str, **params: Any) -> dict[str, Any]:
        """Ask the running lab to act (open-port, close-port, cert, deface, restore)."""
        if self.pid() is None:
            raise LabError("the lab is not running: start it with `dvcops lab up`")
        return LabControl(self.state).action(name, **params)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return True
