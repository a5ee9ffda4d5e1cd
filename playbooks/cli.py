"""`dvcops inventory` and `dvcops provision`: thin over playbooks.inventory and playbooks.provision."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dvcops.catalog import load_catalog
from dvcops.cli.common import CatalogOpt, JsonOpt, StateOpt, console, state_dir
from playbooks import ANSIBLE_CFG, PLAYBOOK_DIR, SITE
from playbooks.errors import ProvisionError
from playbooks.inventory import HostPlan, SshAccess, build_inventory, inventory_yaml, plan, write_inventory
from playbooks.provision import ProvisionOptions
from playbooks.provision import provision as run_provision
from playbooks.runner import RichProgress, recap_json, recap_table

if TYPE_CHECKING:
    from dvcops.demo import DemoContext

ChrootOpt = Annotated[Path | None, typer.Option(
    "--chroot-root", help="Rehearse on Debian trees DIR/<host> over the chroot connection instead of SSH",
    show_default=False)]


def plan_table(rows: list[HostPlan]) -> Table:
    table = Table(title="Roles per host (site.yml)", title_justify="left")
    for col in ("host", "groups", "Ansible roles", "open ports"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.host, ", ".join(r.groups), ", ".join(r.roles), ", ".join(map(str, r.ports)) or "none")
    return table


def inventory(
    catalog: CatalogOpt,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the YAML inventory here",
                                                show_default=False)] = None,
    chroot_root: ChrootOpt = None,
    show_plan: Annotated[bool, typer.Option("--plan", help="Also show which roles site.yml applies per host")] = False,
) -> None:
    """Write the Ansible YAML inventory generated from the catalogue (groups per role and per zone)."""
    inv = build_inventory(load_catalog(catalog), chroot_root=chroot_root)
    if output is None:
        sys.stdout.write(inventory_yaml(inv))
    else:
        write_inventory(inv, output)
        console.print(f"{output}: {len(inv['all']['hosts'])} hosts, {len(inv['all']['children'])} groups")
    if show_plan:
        console.print(plan_table(plan(inv)))


def provision(
    catalog: CatalogOpt,
    limit: Annotated[str | None, typer.Option("--limit", "-l", help="Only these hosts or groups",
                                              show_default=False)] = None,
    tags: Annotated[str | None, typer.Option("--tags", "-t", help="Only tasks with these tags, e.g. ssh,firewall",
                                             show_default=False)] = None,
    check: Annotated[bool, typer.Option("--check", help="Dry run: report what would change")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Show the changes made to files")] = False,
    secrets_dir: Annotated[Path | None, typer.Option(
        "--secrets-dir", help="Folder of secret files (db_password, survey_admin_password, survey_hmac_key; mode "
        "0600); else DVCOPS_SECRET_<NAME>", show_default=False)] = None,
    chroot_root: ChrootOpt = None,
    wheel: Annotated[Path | None, typer.Option("--wheel", help="dvcops wheel to install (default: built from this "
                                               "checkout)", show_default=False)] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Extra Prometheus rule file (repeatable), e.g. "
                                                     "from `dvcops probe rules`", show_default=False)] = None,
    vars_files: Annotated[list[Path] | None, typer.Option("--vars", help="YAML file of role variables (repeatable), "
                                                          "e.g. baseline_admins, firewall_admin_sources",
                                                          show_default=False)] = None,
    ssh_user: Annotated[str | None, typer.Option("--ssh-user", help="Connect as this admin (from baseline_admins) "
                                                 "and become root", show_default=False)] = None,
    ssh_key: Annotated[Path | None, typer.Option("--ssh-key", help="The admin's private key",
                                                 show_default=False)] = None,
    known_hosts: Annotated[Path | None, typer.Option("--known-hosts", help="The hosts' pinned SSH host keys "
                                                     "(checked strictly, never trusted on first use)",
                                                     show_default=False)] = None,
    forks: Annotated[int, typer.Option("--forks", min=1, max=50, help="Hosts worked on in parallel")] = 5,
    timeout: Annotated[int, typer.Option("--timeout", min=10, help="Give up after this many seconds")] = 3600,
    mitogen: Annotated[bool, typer.Option("--mitogen/--no-mitogen", help="Over SSH, run tasks through Mitogen (one "
                                          "connection and Python per host: a re-run ~2.5x faster on the DC lab) "
                                          "or Ansible's own ssh")] = True,
    as_json: JsonOpt = False,
    state: StateOpt = None,
) -> None:
    """Apply site.yml to the catalogue's hosts. Exit 0 success, 1 failed or unreachable hosts, 2 bad input."""
    n_hosts = len(load_catalog(catalog).hosts)
    given = [o for o, v in (("--ssh-user", ssh_user), ("--ssh-key", ssh_key), ("--known-hosts", known_hosts)) if v]
    if given and len(given) < 3:
        raise ProvisionError(f"{', '.join(given)}: give --ssh-user, --ssh-key and --known-hosts together")
    ssh = SshAccess(ssh_user, ssh_key, known_hosts) if ssh_user and ssh_key and known_hosts else None
    options = ProvisionOptions(secrets_dir=secrets_dir, chroot_root=chroot_root, ssh=ssh, wheel=wheel,
                               rule_files=tuple(rules or ()), vars_files=tuple(vars_files or ()), limit=limit,
                               tags=tags, check=check, diff=diff, forks=forks, timeout=timeout,
                               mitogen=mitogen)
    if as_json:
        result = run_provision(catalog, state_dir(state), options)
        print(recap_json(result))
    else:
        with RichProgress(console, n_hosts) as progress:
            result = run_provision(catalog, state_dir(state), options, on_event=progress)
        console.print(recap_table(result))
        for h in result.hosts:
            if h.changed_tasks:
                console.print(f"[bold]{h.host}[/] changed: " + "; ".join(h.changed_tasks[:12])
                              + (f" (+{len(h.changed_tasks) - 12} more)" if len(h.changed_tasks) > 12 else ""))
        console.print(f"artifacts: {result.artifacts}")
    raise typer.Exit(0 if result.ok else 1)


def syntax_check(inventory_path: Path) -> subprocess.CompletedProcess[str]:
    """`ansible-playbook --syntax-check site.yml` against an inventory, with the project's ansible.cfg."""
    exe = Path(sys.executable).with_name("ansible-playbook")
    if not exe.exists():
        raise ProvisionError(f"{exe}: ansible-playbook not found next to this Python (pip install ansible-core)")
    return subprocess.run([str(exe), "--syntax-check", "-i", str(inventory_path), str(SITE)], cwd=PLAYBOOK_DIR,
                          capture_output=True, text=True, timeout=120,
                          env={"ANSIBLE_CONFIG": str(ANSIBLE_CFG), "PATH": str(exe.parent) + ":/usr/bin:/bin",
                               "HOME": str(Path.home())})


def demo_step(ctx: DemoContext) -> None:
    """Demo: inventory from the lab catalogue, syntax-check site.yml against it, roles per host (no converge)."""
    inv = build_inventory(ctx.catalog)
    path = write_inventory(inv, ctx.state.path("playbooks", "inventory.yml"))
    ctx.console.print(f"inventory: {path} ({len(inv['all']['hosts'])} hosts, {len(inv['all']['children'])} groups)")
    proc = syntax_check(path)
    verdict = "clean" if proc.returncode == 0 else f"FAILED: {(proc.stderr or proc.stdout).strip()[-300:]}"
    ctx.console.print(f"ansible-playbook --syntax-check site.yml: {verdict}")
    ctx.console.print(plan_table(plan(inv)))
    ctx.outputs["Ansible inventory"] = str(path)
