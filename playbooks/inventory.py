"""The Ansible inventory, built from the catalogue: there is no second list of hosts to keep in sync.

Every catalogue host becomes an inventory host with its address, zone, roles, security level and
the ports its roles may expose; groups are `role_<name>` per catalogue role and `zone_<name>` per
zone (a role and a zone may share a name, e.g. `app`, so the prefixes keep them apart).
`site.yml` maps the role groups to Ansible roles; `plan()` shows which apply to which host.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from dvcops.catalog import Catalog, Host
from dvcops.yamlsource import read_source
from playbooks import SITE
from playbooks.errors import ProvisionError

CHROOT_CONNECTION = "community.general.chroot"


@dataclass(frozen=True)
class SshAccess:
    """How Ansible reaches hosts over SSH: as an admin with a key, become root, host keys pinned.

    Never `StrictHostKeyChecking=no`: a host whose key is not in `known_hosts` is refused. After the
    ssh role root cannot log in (keys only, PermitRootLogin no), so every run connects as an admin.
    Ansible's persistent SSH connections are shared through socket files named after user, address and
    port only, and a socket file is seen from every network namespace: two data centres (or two DC labs)
    with the same addresses would run each other's tasks over a connection whose host keys were never
    checked against this `known_hosts`. So the sockets live in a folder per `known_hosts` file.
    """

    user: str
    key: Path
    known_hosts: Path

    def check(self) -> None:
        problems = []
        if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", self.user):
            problems.append(f"--ssh-user {self.user!r}: expected a login name (e.g. quantri)")
        if self.user == "root":
            problems.append("--ssh-user root: connect as an admin from baseline_admins (root cannot log in "
                            "after the ssh role); become gives root")
        if not self.key.is_file():
            problems.append(f"--ssh-key {self.key}: no such file (expected the admin's private key)")
        if not self.known_hosts.is_file() or not self.known_hosts.read_text().strip():
            problems.append(f"--known-hosts {self.known_hosts}: no such file or empty (expected the hosts' pinned "
                            "keys, one `name,address type key` line each)")
        if problems:
            raise ProvisionError(*problems)

    def host_vars(self) -> dict[str, Any]:
        pinned = hashlib.sha256(str(self.known_hosts.resolve()).encode()).hexdigest()[:16]
        return {
            "ansible_control_path_dir": f"~/.ansible/cp/{pinned}",
            "ansible_user": self.user,
            "ansible_ssh_private_key_file": str(self.key.resolve()),
            "ansible_become": True,
            "ansible_ssh_common_args": f"-F /dev/null -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes "
                                       f"-o UserKnownHostsFile={self.known_hosts.resolve()}",
        }


def group_name(kind: str, name: str) -> str:
    """`role_web`, `zone_dmz`: Ansible group names allow letters, digits and '_' only."""
    return f"{kind}_{re.sub(r'[^A-Za-z0-9_]', '_', name)}"


def host_vars(catalog: Catalog, host: Host) -> dict[str, Any]:
    """What the roles read about a host, all prefixed `dvcops_` (they come from the catalogue, not a role)."""
    out: dict[str, Any] = {
        "ansible_host": host.address,
        "dvcops_address": host.address,
        "dvcops_zone": host.zone,
        "dvcops_roles": list(host.roles),
        "dvcops_allowed_ports": catalog.allowed_ports(host),
    }
    if host.security_level is not None:
        out["dvcops_security_level"] = host.security_level
    if host.hostname:
        out["dvcops_hostname"] = host.hostname
    if host.system:
        out["dvcops_system"] = host.system
    return out


def site_groups(site: Path = SITE) -> list[str]:
    """The groups site.yml's plays target (so the inventory declares them even when empty)."""
    plays = read_source(site, ProvisionError)[0] or []
    names = {g for p in plays if isinstance(p.get("hosts"), str) for g in p["hosts"].split(":")}
    return sorted(names - {"all"})


def build_inventory(catalog: Catalog, chroot_root: Path | None = None, ssh: SshAccess | None = None) -> dict[str, Any]:
    """The YAML inventory as data. With `chroot_root`, each host is the Debian tree `chroot_root/<name>`
    reached with the chroot connection (rehearsals and tests); otherwise it is reached over SSH at its address
    (as `ssh.user` with become, when given)."""
    hosts: dict[str, dict[str, Any]] = {}
    for h in catalog.hosts:
        hv = host_vars(catalog, h)
        if chroot_root is not None:
            tree = (chroot_root / h.name).resolve()
            if not (tree / "etc" / "debian_version").is_file():
                raise ProvisionError(f"--chroot-root {chroot_root}: {tree} is not a Debian tree (no etc/debian_version)"
                                     )
            hv.update({"ansible_connection": CHROOT_CONNECTION, "ansible_host": str(tree)})
        hosts[h.name] = hv
    children: dict[str, dict[str, Any]] = {g: {"hosts": {}} for g in site_groups()}
    for h in catalog.hosts:
        for g in [*(group_name("role", r) for r in h.roles), group_name("zone", h.zone)]:
            children.setdefault(g, {"hosts": {}})["hosts"][h.name] = {}
    all_vars: dict[str, Any] = {
        **(ssh.host_vars() if ssh is not None and chroot_root is None else {}),
        # Mitogen compresses its SSH stream by default: CPU spent for nothing on a data centre's LAN
        **({"mitogen_ssh_compression": False} if chroot_root is None else {}),
        "ansible_python_interpreter": "/usr/bin/python3",
        "dvcops_province": catalog.province.code,
    }
    if catalog.source is not None:
        all_vars["dvcops_catalog_file"] = str(catalog.source)
    ca = catalog.ca_path()
    if ca is not None and catalog.defaults.ca_file:
        all_vars["dvcops_catalog_ca_file"] = str(ca)
        all_vars["dvcops_catalog_ca_name"] = catalog.defaults.ca_file
    return {"all": {"vars": all_vars, "hosts": hosts, "children": dict(sorted(children.items()))}}


def inventory_yaml(inventory: dict[str, Any]) -> str:
    return yaml.safe_dump(inventory, sort_keys=False, allow_unicode=True, default_flow_style=False)


def write_inventory(inventory: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(inventory_yaml(inventory), encoding="utf-8")
    return path


class HostPlan(BaseModel):
    """Which Ansible roles site.yml applies to one host, in order, and the ports its firewall opens."""

    host: str
    groups: list[str]
    roles: list[str]
    ports: list[int]


def plan(inventory: dict[str, Any], site: Path = SITE) -> list[HostPlan]:
    """Per host, the roles site.yml would apply: each play's `hosts` group matched against the inventory."""
    inv = inventory["all"]
    groups_of: dict[str, list[str]] = {h: ["all"] for h in inv["hosts"]}
    for g, body in inv["children"].items():
        for h in body.get("hosts") or {}:
            groups_of[h].append(g)
    plays = read_source(site, ProvisionError)[0] or []
    out = []
    for host, groups in groups_of.items():
        roles: list[str] = []
        for play in plays:
            if set(str(play.get("hosts", "")).split(":")) & set(groups):
                for r in play.get("roles") or []:
                    name = r["role"] if isinstance(r, dict) else r
                    if name not in roles:
                        roles.append(name)
        out.append(HostPlan(host=host, groups=[g for g in groups if g != "all"], roles=roles,
                            ports=inv["hosts"][host]["dvcops_allowed_ports"]))
    return out
