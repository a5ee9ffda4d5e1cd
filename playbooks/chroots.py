"""Debian 12 chroots to rehearse a converge on (tests, benchmarks) without touching a server.

A base tree is made once with debootstrap, then *seeded* by running site.yml's `install`-tagged
tasks into it (the roles' own package and venv installs, nothing else), and packed as a tarball
cached by a key over everything that shapes it. A rehearsal host is that tarball unpacked: a real
converge then finds the packages present, so `apt` is a no-op, exactly as on a re-run. Package
scripts must not start daemons on this machine (the chroot shares its network), so every tree has
a policy-rc.d that forbids it, as Debian image builders do.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets as pysecrets
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dvcops.state import StateDir
from dvcops.system import require_program
from playbooks import PLAYBOOK_DIR
from playbooks.errors import ProvisionError
from playbooks.inventory import CHROOT_CONNECTION, site_groups
from playbooks.runner import RunOptions, run_site
from playbooks.secrets import SECRETS

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
INCLUDE = ("python3", "python3-apt")
"""What Ansible itself needs in the tree (a module runs with the tree's python3; apt tasks need python3-apt)."""
MACHINE_CACHE = Path(os.environ.get("DVCOPS_CACHE", "/var/cache/dvcops"))
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SEED_CA_BUNDLE = "/etc/ssl/certs/dvcops-seed-ca.crt"
POLICY_RC_D = "#!/bin/sh\n# dvcops rehearsal tree: package scripts must not start daemons\nexit 101\n"


def seed_key(extra: str = "") -> str:
    """Changes whenever the base would differ: suite, mirror, packages, the roles' install tasks, `extra`."""
    h = hashlib.sha256(f"{SUITE} {MIRROR} {' '.join(INCLUDE)} {extra}".encode())
    for f in sorted(PLAYBOOK_DIR.glob("roles/*/tasks/install.yml")):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(cmd: list[str], timeout: float, what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = " / ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise ProvisionError(f"{what} failed (exit {proc.returncode}): {tail}")


def debootstrap(tree: Path, mirror: str = MIRROR) -> None:
    """A minimal Debian 12 tree with python3 (about 40 s and 260 MB)."""
    if os.geteuid() != 0:
        raise ProvisionError("making a Debian chroot needs root (debootstrap and chroot)")
    _run([str(require_program("debootstrap")), "--variant=minbase", f"--include={','.join(INCLUDE)}", SUITE,
          str(tree), mirror], timeout=900, what="debootstrap")
    forbid_daemons(tree)


def forbid_daemons(tree: Path) -> None:
    policy = tree / "usr" / "sbin" / "policy-rc.d"
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)


def debootstrap_tarball(cache_dir: Path) -> Path:
    """`cache_dir/debootstrap-<key>.tar.zst`: the bare debootstrap tree, made when absent (about 40 s)."""
    key = hashlib.sha256(f"{SUITE} {MIRROR} {' '.join(INCLUDE)}".encode()).hexdigest()[:12]
    tarball = cache_dir / f"debootstrap-{SUITE}-{key}.tar.zst"
    with _locked(cache_dir):
        if not tarball.exists():
            tree = cache_dir / f"debootstrap-{os.getpid()}"
            shutil.rmtree(tree, ignore_errors=True)
            try:
                debootstrap(tree)
                _pack(tree, tarball)
            finally:
                shutil.rmtree(tree, ignore_errors=True)
    return tarball


def base_tarball(cache_dir: Path, seed: Callable[[Path], None] | None = None, extra_key: str = "") -> Path:
    """`cache_dir/base-<key>.tar.zst`: the debootstrap tree seeded by `seed(tree)`, made when absent."""
    tarball = cache_dir / f"base-{seed_key(extra_key)}.tar.zst"
    if tarball.exists():
        return tarball
    bare = debootstrap_tarball(cache_dir)
    with _locked(cache_dir):
        if tarball.exists():
            return tarball
        tree = cache_dir / f"build-{os.getpid()}"
        shutil.rmtree(tree, ignore_errors=True)
        try:
            unpack(bare, tree)
            if seed is not None:
                seed(tree)
            for junk in ("var/cache/apt/archives", "root/.cache", "tmp"):
                for p in (tree / junk).glob("*"):
                    if p.is_file() and p.name != "lock":
                        p.unlink()
                    elif p.is_dir() and p.name != "partial":
                        shutil.rmtree(p)
            _pack(tree, tarball)
        finally:
            shutil.rmtree(tree, ignore_errors=True)
    return tarball


def _pack(tree: Path, tarball: Path) -> None:
    partial = tarball.with_name(tarball.name + ".partial")
    _run(["tar", "--zstd", "--numeric-owner", "--xattrs", "-cpf", str(partial), "-C", str(tree), "."],
         timeout=600, what=f"packing {tree}")
    partial.rename(tarball)


def unpack(tarball: Path, tree: Path) -> Path:
    """A fresh rehearsal host: the base tarball unpacked into `tree` (which must not exist yet)."""
    if tree.exists():
        raise ProvisionError(f"{tree}: already exists; a rehearsal host starts from an empty folder")
    tree.mkdir(parents=True)
    _run(["tar", "--zstd", "--numeric-owner", "--xattrs", "-xpf", str(tarball), "-C", str(tree)],
         timeout=600, what=f"unpacking {tarball.name}")
    forbid_daemons(tree)
    return tree


def seed_with_roles(tree: Path, state: StateDir, wheel: Path) -> None:
    """Run site.yml's `install`-tagged tasks into `tree` as a host in every group: the roles' own
    package and venv installs, so the cached base holds what a converge would install anyway."""
    groups = site_groups()
    inventory = {"all": {
        "vars": {"ansible_python_interpreter": "/usr/bin/python3"},
        "hosts": {"seed": {"ansible_connection": CHROOT_CONNECTION, "ansible_host": str(tree.resolve()),
                           "dvcops_address": "127.0.0.1", "dvcops_security_level": 5}},
        "children": {g: {"hosts": {"seed": {}}} for g in groups},
    }}
    throwaway = {name: pysecrets.token_urlsafe(24) for name in SECRETS}
    # pip in the tree trusts what this machine trusts (a registry reached through a TLS proxy, say)
    (tree / SEED_CA_BUNDLE.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HOST_CA_BUNDLE, tree / SEED_CA_BUNDLE.lstrip("/"))
    extravars = {"dvcops_wheel": str(wheel), "dvcops_venv_pip_environment": {"PIP_CERT": SEED_CA_BUNDLE}}
    result = run_site(inventory, state, RunOptions(secrets=throwaway, extravars=extravars, tags="install"))
    if not result.ok:
        raise ProvisionError(f"seeding the base tree failed: see {result.artifacts / 'run' / 'stdout'}")


def roles_base(state: StateDir, wheel: Path) -> Path:
    """The machine's cached base tarball for rehearsal hosts: Debian with the roles' installs already done
    (seeded with `wheel`; rebuilt when the wheel's dependencies change)."""
    return base_tarball(MACHINE_CACHE / "playbooks", seed=lambda tree: seed_with_roles(tree, state, wheel),
                        extra_key=dependencies_key())


def dependencies_key() -> str:
    """The wheel's declared dependencies: the seeded venv must be rebuilt when they change (other edits of
    pyproject.toml do not matter)."""
    pyproject = PLAYBOOK_DIR.parent / "pyproject.toml"
    if not pyproject.exists():
        return ""
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("dependencies", [])
    return hashlib.sha256("\n".join(sorted(deps)).encode()).hexdigest()[:16]
