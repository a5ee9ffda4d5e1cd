"""Fixtures for the playbooks tests: two Debian 12 chroots converged once per session by the real CLI.

The seeded base tarball is cached in the machine cache (/var/cache/dvcops/playbooks, or $DVCOPS_CACHE)
and built there when absent (debootstrap, then site.yml's install-tagged tasks: about 5 minutes cold).
Each session unpacks it into fresh chroots, so every converge starts from the same clean state.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dvcops.state import StateDir
from playbooks import chroots
from playbooks.wheel import build_wheel
from tests.conftest import run_dvcops

HERE = Path(__file__).resolve().parent
CATALOG = HERE / "catalog.yml"
HOSTS = ("web-1", "mon-1")
TEST_SECRETS = {
    "db_password": "PgTest-Secret-db/7Qx9w2@x",
    "survey_admin_password": "AdminTest-Secret-4kLm8Zp",
    "survey_hmac_key": "HmacTest-Secret-9vB3nR6tYq-0123456789",
}
ADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB6x0fTKm9Q0mYQd3f4E2rP3eL2rN3Xb0v8lYk6c3R4d quantri@so-khcn"


@dataclass
class Converged:
    root: Path
    state: Path
    secrets_dir: Path
    wheel: Path
    vars_file: Path
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def tree(self, host: str) -> Path:
        return self.root / host

    def provision(self, *extra: str) -> tuple[int, dict[str, Any], str]:
        proc = run_dvcops("provision", "--catalog", str(CATALOG), "--chroot-root", str(self.root),
                          "--secrets-dir", str(self.secrets_dir), "--wheel", str(self.wheel),
                          "--vars", str(self.vars_file), "--json", *extra, state=self.state, timeout=1200)
        assert proc.stdout.strip(), proc.stderr[-3000:]
        return proc.returncode, json.loads(proc.stdout), proc.stderr


@pytest.fixture(scope="session")
def converged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Converged]:
    """Fresh chroots for web-1 and mon-1, converged, re-run and dry-run once for the whole session."""
    base = tmp_path_factory.mktemp("playbooks")
    state = StateDir(base / "state")
    wheel = build_wheel(state.folder("playbooks", "wheels"))
    tarball = chroots.roles_base(state, wheel)
    root = base / "chroots"
    for host in HOSTS:
        chroots.unpack(tarball, root / host)
    secrets_dir = base / "secrets"
    secrets_dir.mkdir(mode=0o700)
    for name, value in TEST_SECRETS.items():
        (secrets_dir / name).write_text(value + "\n")
        (secrets_dir / name).chmod(0o600)
    vars_file = base / "vars.yml"
    vars_file.write_text(json.dumps({"baseline_admins": [{"name": "quantri", "comment": "Quản trị viên",
                                                          "ssh_keys": [ADMIN_KEY]}]}))
    c = Converged(root=root, state=state.root, secrets_dir=secrets_dir, wheel=wheel, vars_file=vars_file)
    for label, extra in (("first", ()), ("second", ()), ("check", ("--check",))):
        rc, recap, stderr = c.provision(*extra)
        c.runs[label] = {"rc": rc, "recap": recap, "stderr": stderr}
        if rc != 0:
            break
    try:
        yield c
    finally:
        shutil.rmtree(root, ignore_errors=True)


def nft_ruleset(conf: Path) -> dict[str, Any]:
    """Load a ruleset into a throwaway network namespace (never this machine's) and list it as JSON."""
    proc = subprocess.run(["unshare", "--net", "sh", "-c", f"nft -f {conf} && nft -j list ruleset"],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data
