"""Wall time of site.yml on two fresh Debian 12 chroots: first converge, then the idempotent re-run (goal <= 60 s).

Same path as `dvcops provision`: the seeded base tarball from the machine cache (built when absent,
not timed), two unpacked chroots (web-1: web, survey, node; mon-1: db, monitoring), the CLI's
provision() with the tests' catalogue. Needs root. Load on the machine is printed with the figures.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from dvcops.state import StateDir
from playbooks import chroots
from playbooks.provision import ProvisionOptions, provision
from playbooks.wheel import build_wheel

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "tests" / "playbooks" / "catalog.yml"


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-playbooks-") as tmp:
        base = Path(tmp)
        state = StateDir(base / "state")
        wheel = build_wheel(state.folder("playbooks", "wheels"))
        tarball = chroots.roles_base(state, wheel)
        root = base / "chroots"
        t0 = time.monotonic()
        for host in ("web-1", "mon-1"):
            chroots.unpack(tarball, root / host)
        unpack = time.monotonic() - t0
        secrets = base / "secrets"
        secrets.mkdir(mode=0o700)
        for name in ("db_password", "survey_admin_password", "survey_hmac_key"):
            (secrets / name).write_text(f"bench-{name}-{os.urandom(8).hex()}")
            (secrets / name).chmod(0o600)
        timings, changed = [], []
        for _ in range(2):
            t0 = time.monotonic()
            result = provision(CATALOG, state, ProvisionOptions(secrets_dir=secrets, chroot_root=root, wheel=wheel))
            timings.append(time.monotonic() - t0)
            assert result.ok, f"converge failed: {result.artifacts}"
            changed.append(sum(h.changed for h in result.hosts))
        load = os.getloadavg()[0]
        shutil.rmtree(root, ignore_errors=True)
    first, rerun = timings
    note = f"2 hosts, load avg {load:.1f} on {os.cpu_count()} cores"
    return [
        {"benchmark": "playbooks", "figure": f"unpack 2 fresh chroots from the cached base ({note})",
         "value": f"{unpack:.1f} s", "goal": "", "met": None},
        {"benchmark": "playbooks", "figure": f"first converge of site.yml, all roles ({changed[0]} changes)",
         "value": f"{first:.1f} s", "goal": "", "met": None},
        {"benchmark": "playbooks", "figure": f"idempotent re-run ({changed[1]} changes)",
         "value": f"{rerun:.1f} s", "goal": "<= 60 s, changed=0", "met": rerun <= 60 and changed[1] == 0},
    ]
