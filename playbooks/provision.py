"""`provision()`: catalogue → inventory → secrets → dvcops wheel → site.yml through ansible-runner.

The one entry point the CLI, the tests and the benchmark call, so they all run the same thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dvcops.catalog import load_catalog
from dvcops.state import StateDir
from playbooks import secrets as secret_store
from playbooks.errors import ProvisionError
from playbooks.inventory import SshAccess, build_inventory
from playbooks.runner import EventHandler, RunOptions, RunResult, run_site
from playbooks.wheel import build_wheel

_TAGS = re.compile(r"^[A-Za-z0-9_,-]+$")
_PLAIN = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class ProvisionOptions:
    """What `dvcops provision` was asked for, checked by provision() before anything runs."""

    secrets_dir: Path | None = None
    chroot_root: Path | None = None
    """Rehearse on Debian trees chroot_root/<host> instead of SSH."""
    ssh: SshAccess | None = None
    """Connect as this admin, with this key and these pinned host keys, and become root."""
    wheel: Path | None = None
    rule_files: tuple[Path, ...] = ()
    vars_files: tuple[Path, ...] = ()
    limit: str | None = None
    tags: str | None = None
    check: bool = False
    diff: bool = False
    forks: int = 5
    timeout: int = 3600
    mitogen: bool = True
    """Run SSH connections through Mitogen (see runner.py); chroot rehearsals always use Ansible's own strategy."""


def check_limit(limit: str, inventory: dict[str, Any]) -> None:
    """Plain names in --limit must be hosts or groups of the inventory (patterns are left to Ansible)."""
    known = set(inventory["all"]["hosts"]) | set(inventory["all"]["children"]) | {"all"}
    for part in re.split(r"[,:]", limit):
        if part and _PLAIN.match(part) and part not in known:
            raise ProvisionError(f"--limit {limit}: {part!r} is neither a catalogue host nor a group "
                                 f"(hosts: {', '.join(sorted(inventory['all']['hosts']))})")


def provision(catalog_path: Path, state: StateDir, options: ProvisionOptions | None = None,
              on_event: EventHandler | None = None) -> RunResult:
    opts = options or ProvisionOptions()
    catalog = load_catalog(catalog_path)
    if not catalog.hosts:
        raise ProvisionError(f"{catalog_path}: the catalogue declares no hosts to provision")
    if opts.ssh is not None:
        opts.ssh.check()
    inventory = build_inventory(catalog, chroot_root=opts.chroot_root, ssh=opts.ssh)
    if opts.limit:
        check_limit(opts.limit, inventory)
    if opts.tags and not _TAGS.match(opts.tags):
        raise ProvisionError(f"--tags {opts.tags!r}: expected comma-separated tag names, e.g. ssh,firewall")
    for f in opts.rule_files:
        if not f.is_file():
            raise ProvisionError(f"--rules {f}: no such file")
    for f in opts.vars_files:
        if not f.is_file():
            raise ProvisionError(f"--vars {f}: no such file (expected YAML of role variables, e.g. baseline_admins)")
    if opts.wheel is not None and not (opts.wheel.is_file() and opts.wheel.suffix == ".whl"):
        raise ProvisionError(f"--wheel {opts.wheel}: expected a dvcops-*.whl file")
    values = secret_store.load(secret_store.needed(catalog), opts.secrets_dir)
    extravars: dict[str, Any] = {
        "dvcops_wheel": str((opts.wheel or build_wheel(state.folder("playbooks", "wheels"))).resolve()),
    }
    if opts.rule_files:
        extravars["prometheus_rule_files"] = [str(f.resolve()) for f in opts.rule_files]
    run = RunOptions(secrets=values, extravars=extravars, vars_files=opts.vars_files, limit=opts.limit,
                     tags=opts.tags, check=opts.check, diff=opts.diff, forks=opts.forks, timeout=opts.timeout,
                     mitogen=opts.mitogen and opts.chroot_root is None)
    return run_site(inventory, state, run, on_event=on_event)
