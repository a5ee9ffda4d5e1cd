"""`provision()`: catalogue → inventory → secrets → dvcops wheel → site.yml through ansible-runner.

The one entry point the CLI, the tests and the benchmark call, so they all run the same thing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dvcops.catalog import load_catalog
from dvcops.state import StateDir
from playbooks import secrets as secret_store
from playbooks.errors import ProvisionError
from playbooks.inventory import build_inventory
from playbooks.runner import EventHandler, RunResult, run_site
from playbooks.wheel import build_wheel

_TAGS = re.compile(r"^[A-Za-z0-9_,-]+$")
_PLAIN = re.compile(r"^[A-Za-z0-9_.-]+$")


def check_limit(limit: str, inventory: dict[str, Any]) -> None:
    """Plain names in --limit must be hosts or groups of the inventory (patterns are left to Ansible)."""
    known = set(inventory["all"]["hosts"]) | set(inventory["all"]["children"]) | {"all"}
    for part in re.split(r"[,:]", limit):
        if part and _PLAIN.match(part) and part not in known:
            raise ProvisionError(f"--limit {limit}: {part!r} is neither a catalogue host nor a group "
                                 f"(hosts: {', '.join(sorted(inventory['all']['hosts']))})")


def provision(
    catalog_path: Path,
    state: StateDir,
    *,
    secrets_dir: Path | None = None,
    chroot_root: Path | None = None,
    wheel: Path | None = None,
    rule_files: list[Path] | None = None,
    vars_files: list[Path] | None = None,
    limit: str | None = None,
    tags: str | None = None,
    check: bool = False,
    diff: bool = False,
    forks: int = 5,
    timeout: int = 3600,
    on_event: EventHandler | None = None,
) -> RunResult:
    catalog = load_catalog(catalog_path)
    if not catalog.hosts:
        raise ProvisionError(f"{catalog_path}: the catalogue declares no hosts to provision")
    inventory = build_inventory(catalog, chroot_root=chroot_root)
    if limit:
        check_limit(limit, inventory)
    if tags and not _TAGS.match(tags):
        raise ProvisionError(f"--tags {tags!r}: expected comma-separated tag names, e.g. ssh,firewall")
    for f in rule_files or []:
        if not f.is_file():
            raise ProvisionError(f"--rules {f}: no such file")
    for f in vars_files or []:
        if not f.is_file():
            raise ProvisionError(f"--vars {f}: no such file (expected YAML of role variables, e.g. baseline_admins)")
    if wheel is not None and not (wheel.is_file() and wheel.suffix == ".whl"):
        raise ProvisionError(f"--wheel {wheel}: expected a dvcops-*.whl file")
    values = secret_store.load(secret_store.needed(catalog), secrets_dir)
    extravars: dict[str, Any] = {
        "dvcops_wheel": str((wheel or build_wheel(state.folder("playbooks", "wheels"))).resolve()),
    }
    if rule_files:
        extravars["prometheus_rule_files"] = [str(f.resolve()) for f in rule_files]
    return run_site(inventory, state, secrets=values, extravars=extravars, vars_files=vars_files, limit=limit,
                    tags=tags, check=check, diff=diff, forks=forks, timeout=timeout, on_event=on_event)
