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
import time
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
        self.talking: set[threading.Thread] = set()
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
                    talker = threading.Thread(target=self._talk, args=(conn, self.banners.get(skey.data, b"")),
                                              daemon=True)
                    self.talking.add(talker)
                talker.start()

    def _talk(self, conn: socket.socket, banner: bytes) -> None:
        """Like a real service: greet, wait briefly for a request, hang up (one thread per connection)."""
        try:
            conn.settimeout(1.0)
            if banner:
                conn.sendall(banner)
            conn.recv(1024)
        except OSError:
            pass
        finally:
            conn.close()
            with self.lock:
                self.talking.discard(threading.current_thread())

    def wait_quiet(self, timeout: float = 5.0) -> None:
        """Wait until every connection an earlier scan opened is hung up.

        A connection still open when a packet counter starts would count its last ACK or RST,
        sent to the listener's address, as a packet the test sent there.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.talking:
                    return
            time.sleep(0.05)
        raise AssertionError(f"{len(self.talking)} listener connection(s) still open after {timeout} s")

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
def packets(listeners: Listeners) -> Iterator[Any]:
    made: list[PacketCounter] = []

    def make(addresses: list[str]) -> PacketCounter:
        listeners.wait_quiet()  # earlier tests' connections end before counting starts
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


# ---------------------------------------------------------------- TLS and HTTP servers for the check tests


def issue_cert(folder: Path, name: str, dns: list[str], ips: list[str], days: tuple[int, int] = (-1, 365),
               rsa_key: bool = False) -> tuple[Path, Path, Path]:
    """A CA (created once in `folder`) and a leaf valid from now+days[0] to now+days[1]: (ca, chain, key)."""
    import ipaddress as ip

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_pem, ca_key_pem = folder / "ca.pem", folder / "ca-key.pem"
    if not ca_pem.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "drills test CA")])
        ca = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(ca_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=30))
              .not_valid_after(now + timedelta(days=3650))
              .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
              .sign(ca_key, hashes.SHA256()))
        ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        ca_key_pem.write_bytes(ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    ca = x509.load_pem_x509_certificate(ca_pem.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_pem.read_bytes(), None)
    key = rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ip.ip_address(a)) for a in ips]
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0] if dns else ips[0])]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + timedelta(days=days[0])).not_valid_after(now + timedelta(days=days[1]))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    chain, key_path = folder / f"{name}.pem", folder / f"{name}-key.pem"
    chain.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + ca_pem.read_bytes())
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_pem, chain, key_path


class TlsServer:
    """A TLS server answering a fixed HTTP response, for the TLS check (one thread, one connection at a time)."""

    def __init__(self, address: str, port: int, chain: Path, key: Path, *, old_protocols: bool = False,
                 ciphers: str | None = None) -> None:
        import ssl
        import warnings

        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(chain, key)
        if old_protocols:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self.ctx.minimum_version = ssl.TLSVersion.TLSv1
        if ciphers or old_protocols:
            self.ctx.set_ciphers(ciphers or "ALL:@SECLEVEL=0")
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            try:
                conn.settimeout(2)
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(4096)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except OSError:
                conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()
