"""The DC's network: namespaces, one bridge and veth pairs, none of them in the root namespace.

    root namespace          (never gets an address or a route in the DC subnet)
    dvcops-<dc>-net         the bridge `br0`, no address; one veth end per host (h1, h2...) and `c0`
    dvcops-<dc>-ctl         the controller: `eth0` with the controller address; commands run here
    dvcops-<dc>-h-<host>    one per host: `eth0` with the host's address; systemd-nspawn joins it

Each veth pair is made inside the bridge namespace with its peer moved straight into the host or
controller namespace, so no DC interface ever appears in the root namespace. `ip netns del` can
leave the bridge end of a veth behind for a while, so teardown deletes veths first, explicitly.
"""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

from lab.dc.errors import DCError

NETNS_DIR = Path("/run/netns")
PREFIX = "dvcops-"


def bridge_ns(dc: str) -> str:
    return f"{PREFIX}{dc}-net"


def controller_ns(dc: str) -> str:
    return f"{PREFIX}{dc}-ctl"


def host_ns(dc: str, host: str) -> str:
    return f"{PREFIX}{dc}-h-{host}"


def ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and proc.returncode != 0:
        raise DCError(f"{' '.join(cmd)}: {proc.stderr.strip() or 'exit ' + str(proc.returncode)}")
    return proc


def exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def names(prefix: str = PREFIX) -> list[str]:
    """Network namespaces whose name starts with `prefix` (all the project's by default)."""
    if not NETNS_DIR.is_dir():
        return []
    return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(prefix))


def add(name: str) -> None:
    ip("netns", "add", name)
    ip("link", "set", "lo", "up", netns=name)


def delete(name: str) -> None:
    if exists(name):
        ip("netns", "del", name, check=False)


def add_bridge(netns: str, bridge: str = "br0") -> None:
    ip("link", "add", bridge, "type", "bridge", netns=netns)
    ip("link", "set", bridge, "up", netns=netns)


def add_port(bridge_netns: str, veth: str, peer_netns: str, address: str, prefixlen: int,
             bridge: str = "br0") -> None:
    """A veth pair: `veth` on the bridge, its peer `eth0` in `peer_netns` with `address/prefixlen`."""
    ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", peer_netns, netns=bridge_netns)
    ip("link", "set", veth, "master", bridge, "up", netns=bridge_netns)
    ip("addr", "add", f"{address}/{prefixlen}", "dev", "eth0", netns=peer_netns)
    ip("link", "set", "eth0", "up", netns=peer_netns)


def delete_link(netns: str, link: str) -> None:
    if exists(netns):
        ip("link", "del", link, netns=netns, check=False)


def root_routes_to(subnet: str) -> list[str]:
    """Routes and addresses of the root namespace that fall in `subnet` (must stay empty)."""
    net = ipaddress.ip_network(subnet)
    found = []
    for line in ip("-4", "-o", "addr", "show").stdout.splitlines():
        addr = line.split()[3].split("/")[0]
        if ipaddress.ip_address(addr) in net:
            found.append(f"address {line.split()[1]} {addr}")
    for line in ip("-4", "route", "show", "table", "all").stdout.splitlines():
        dest = line.split()[0]
        if dest in ("default", "broadcast", "local", "unreachable", "blackhole", "prohibit"):
            dest = line.split()[1] if dest != "default" else "0.0.0.0/0"
        try:
            route = ipaddress.ip_network(dest, strict=False)
        except ValueError:
            continue
        if route.prefixlen > 0 and route.overlaps(net):
            found.append(f"route {line.strip()}")
    return found


def veth_count(netns: str | None = None) -> int:
    """veth interfaces in one namespace (the root one by default)."""
    out = ip("-o", "link", "show", "type", "veth", netns=netns, check=False).stdout
    return len([line for line in out.splitlines() if line.strip()])
