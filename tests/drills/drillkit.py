"""Helpers for the drills tests: our own listeners, packet counters, a DNS server, RoE and catalogue files.

The fixtures here are re-exported by conftest.py.

Everything binds 127.0.61.x (listeners) or runs the lab on 127.0.60 (scenario tests): the drills
engineer's loopback prefixes. Every port a scan test lists is one the test itself opened: listening
(open) or bound without listening (closed, and reserved so nobody else can listen there).
"""

from __future__ import annotations

import itertools
import json
import os
import selectors
import socket
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from dnslib import QTYPE, RR, A
from dnslib.server import BaseResolver, DNSServer

PREFIX = "127.0.61"
SSH_92 = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
SSH_96 = b"SSH-2.0-OpenSSH_9.6p1 Debian-5\r\n"
FTP = b"220 (vsFTPd 3.0.3)\r\n"


class Listeners:
    """TCP listeners (with a banner) and reserved closed ports on our addresses, served by one thread.

    `accepted[(address, port)]` counts completed connections: a scan that touches a port with -sV or
    a connect scan shows up there (a SYN scan alone does not: use PacketCounter for that).
    """

    def __init__(self) -> None:
        self.sel = selectors.DefaultSelector()
        self.servers: dict[tuple[str, int], socket.socket] = {}
        self.banners: dict[tuple[str, int], bytes] = {}
        self.reserved: dict[tuple[str, int], socket.socket] = {}
        self.accepted: Counter[tuple[str, int]] = Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        wake_r, self.wake_w = socket.socketpair()
        self.sel.register(wake_r, selectors.EVENT_READ, None)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _socket(self, address: str, port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        return s

    def listen(self, address: str, port: int, banner: bytes = b"") -> None:
        key = (address, port)
        with self.lock:
            old = self.reserved.pop(key, None)
            if old is not None:
                old.close()
            s = self._socket(address, port)
            s.listen(64)
            s.setblocking(False)
            self.servers[key] = s
            self.banners[key] = banner
            self.sel.register(s, selectors.EVENT_READ, key)
        self.wake_w.send(b"x")

    def set_banner(self, address: str, port: int, banner: bytes) -> None:
        with self.lock:
            self.banners[(address, port)] = banner

    def reserve(self, address: str, port: int) -> None:
        """Bind without listening: the port answers RST (closed) and stays ours."""
        key = (address, port)
        with self.lock:
            s = self.servers.pop(key, None)
            if s is not None:
                self.sel.unregister(s)
                s.close()
            if key not in self.reserved:
                self.reserved[key] = self._socket(address, port)

    def _serve(self) -> None:
        while not self.stop.is_set():
            for skey, _ in self.sel.select(timeout=0.2):
                if skey.data is None:
                    skey.fileobj.recv(64)  # type: ignore[union-attr]
                    continue
                try:
                    conn, _ = skey.fileobj.accept()  # type: ignore[union-attr]
                except OSError:
                    continue
                with self.lock:
                    self.accepted[skey.data] += 1
                    banner = self.banners.get(skey.data, b"")
                try:
                    conn.settimeout(0.5)
                    if banner:
                        conn.sendall(banner)
                    conn.recv(1024)
                except OSError:
                    pass
                finally:
                    conn.close()

    def close(self) -> None:
        self.stop.set()
        self.wake_w.send(b"x")
        self.thread.join(timeout=5)
        for s in [*self.servers.values(), *self.reserved.values()]:
            s.close()


_tables = itertools.count()


class PacketCounter:
    """nftables counters of packets sent to each address (output hook: also raw SYN-scan packets).

    A table of our own, named after this process, deleted afterwards; it only counts, never drops.
    """

    def __init__(self, addresses: list[str]) -> None:
        self.table = f"dvcops_drills_test_{os.getpid()}_{next(_tables)}"
        self.addresses = addresses
        rules = [f"add table ip {self.table}",
                 f"add chain ip {self.table} out {{ type filter hook output priority 0; policy accept; }}"]
        rules += [f"add rule ip {self.table} out ip daddr {a} counter" for a in addresses]
        subprocess.run(["nft", "-f", "-"], input="\n".join(rules), text=True, check=True)

    def counts(self) -> dict[str, int]:
        out = subprocess.run(["nft", "-j", "list", "table", "ip", self.table], capture_output=True, text=True,
                             check=True).stdout
        counts: dict[str, int] = {}
        for item in json.loads(out)["nftables"]:
            rule = item.get("rule")
            if not rule:
                continue
            addr = next(e["match"]["right"] for e in rule["expr"] if "match" in e)
            packets = next(e["counter"]["packets"] for e in rule["expr"] if "counter" in e)
            counts[addr] = packets
        return counts

    def close(self) -> None:
        subprocess.run(["nft", "delete", "table", "ip", self.table], check=False, capture_output=True)


class _Names(BaseResolver):
    def __init__(self, records: dict[str, str]) -> None:
        self.records = records

    def resolve(self, request: Any, handler: Any) -> Any:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".")
        if name in self.records:
            reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(self.records[name]), ttl=30))
        else:
            reply.header.rcode = 3
        return reply


@pytest.fixture(scope="session")
def listeners() -> Iterator[Listeners]:
    ls = Listeners()
    yield ls
    ls.close()


@pytest.fixture(scope="session")
def test_dns() -> Iterator[str]:
    """A DNS server on 127.0.61.53:15353 with names inside and outside the test scope."""
    records = {"web.drill.test": f"{PREFIX}.10", "outside.drill.test": f"{PREFIX}.200",
               "app.drill.test": f"{PREFIX}.11"}
    server = DNSServer(_Names(records), address=f"{PREFIX}.53", port=15353)
    server.start_thread()
    yield f"{PREFIX}.53:15353"
    server.stop()


@pytest.fixture
def packets() -> Iterator[Any]:
    made: list[PacketCounter] = []

    def make(addresses: list[str]) -> PacketCounter:
        made.append(PacketCounter(addresses))
        return made[-1]

    yield make
    for c in made:
        c.close()


def window(start: timedelta = timedelta(hours=-1), end: timedelta = timedelta(hours=1)) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"start": (now + start).isoformat(), "end": (now + end).isoformat()}


def write_roe(path: Path, **fields: Any) -> Path:
    data: dict[str, Any] = {
        "version": 1, "name": "Diễn tập kiểm thử",
        "approval": {"reference": "QĐ 99/QĐ-TEST", "approver": "Tổ kiểm thử"},
        "window": window(), "rules": [{"allow": f"{PREFIX}.0/24"}, {"deny": f"{PREFIX}.200"}],
        "ports": [20022, 20080, 20443, 20500], "rate": {"http_per_second": 50},
    }
    data.update(fields)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def write_catalog(path: Path, hosts: list[dict[str, Any]], roles: dict[str, list[int]],
                  services: list[dict[str, Any]] | None = None) -> Path:
    data = {
        "version": 1, "province": {"code": "TEST", "name": "Tỉnh Kiểm Thử", "reviewer": "Sở Khoa học và Công nghệ"},
        "agencies": [{"id": "so-khcn", "name": "Sở Khoa học và Công nghệ", "kind": "department"}],
        "services": services or [], "hosts": hosts,
        "roles": {name: {"ports": ports} for name, ports in roles.items()},
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
