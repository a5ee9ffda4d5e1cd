"""Which real hosts a DC lab boots: one per catalogue host, checked before anything is made.

The catalogue gives each host its name, address, roles and security level; the DC adds a subnet
(private, at most a /16) that every host address must lie in, and a controller address in it
that no host uses. Every problem is reported at once, one line each naming the file and field.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from dvcops.catalog import Catalog
from lab.dc.errors import DCError

DEFAULT_SUBNET = "10.77.0.0/24"
NAME = re.compile(r"^[a-z][a-z0-9]{0,7}$")
"""A DC's name goes into namespace, cgroup and machine names: short, plain."""


@dataclass(frozen=True)
class DCHost:
    name: str
    address: str
    roles: tuple[str, ...]
    security_level: int | None
    index: int
    """1, 2, ...: names the host's veth in the bridge namespace (h1, h2, ...)."""


@dataclass(frozen=True)
class DCPlan:
    name: str
    subnet: str
    controller: str
    """The controller namespace's address: every command that talks to the DC runs from it."""
    hosts: tuple[DCHost, ...]

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.subnet).prefixlen

    def host(self, name: str) -> DCHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise DCError(f"no DC host {name!r} (hosts: {', '.join(h.name for h in self.hosts)})")


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise DCError(f"--name {name!r}: expected 1-8 lower-case letters or digits, starting with a letter (e.g. dc)")
    return name


def parse_subnet(subnet: str) -> ipaddress.IPv4Network:
    """A private IPv4 subnet of 4 to 65,536 addresses: the DC never uses an address anyone else could own."""
    try:
        net = ipaddress.ip_network(subnet, strict=True)
    except ValueError as exc:
        raise DCError(f"--subnet {subnet!r}: not a network ({exc}); expected e.g. {DEFAULT_SUBNET}") from None
    if not isinstance(net, ipaddress.IPv4Network) or not net.is_private or net.is_loopback or net.is_link_local:
        raise DCError(f"--subnet {subnet}: expected a private IPv4 network (10/8, 172.16/12, 192.168/16), "
                      f"e.g. {DEFAULT_SUBNET}")
    if not 16 <= net.prefixlen <= 29:
        raise DCError(f"--subnet {subnet}: expected a prefix from /16 to /29")
    return net


def plan_dc(catalog: Catalog, source: Path, name: str = "dc", subnet: str = DEFAULT_SUBNET,
            controller: str | None = None) -> DCPlan:
    """The DC of a catalogue; DCError lists every host whose address does not fit."""
    check_name(name)
    net = parse_subnet(subnet)
    problems: list[str] = []
    if not catalog.hosts:
        problems.append(f"{source}: hosts: the catalogue declares no hosts to boot")
    seen: dict[str, str] = {}
    hosts: list[DCHost] = []
    for i, h in enumerate(catalog.hosts):
        where = f"{source}: hosts[{i}] ({h.name}): address {h.address}"
        addr = ipaddress.ip_address(h.address)
        if addr not in net or addr in (net.network_address, net.broadcast_address):
            problems.append(f"{where} is outside the DC subnet {net}: expected a host address in it "
                            f"({net[1]} to {net[-2]}), or pass --subnet")
        elif h.address in seen:
            problems.append(f"{where} is already {seen[h.address]}'s: every DC host needs its own address")
        seen.setdefault(h.address, h.name)
        hosts.append(DCHost(name=h.name, address=h.address, roles=tuple(h.roles), security_level=h.security_level,
                            index=i + 1))
    ctl = controller or _free_address(net, set(seen))
    if ctl is None:
        problems.append(f"--subnet {net}: no address left for the controller; use a larger subnet")
    elif ctl in seen:
        problems.append(f"--controller {ctl}: already {seen[ctl]}'s address")
    elif ipaddress.ip_address(ctl) not in net:
        problems.append(f"--controller {ctl}: outside the DC subnet {net}")
    if problems:
        raise DCError(*problems)
    assert ctl is not None
    return DCPlan(name=name, subnet=str(net), controller=ctl, hosts=tuple(hosts))


def _free_address(net: ipaddress.IPv4Network, used: set[str]) -> str | None:
    """The highest host address nobody uses (hosts are usually numbered from the bottom)."""
    for offset in range(net.num_addresses - 2, 0, -1):
        candidate = str(net[offset])
        if candidate not in used:
            return candidate
    return None
