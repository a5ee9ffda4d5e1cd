"""Name look-ups for drill targets, through the resolver the RoE names (never silently the machine's).

A name is only a way to reach addresses: every address it resolves to is checked against the rules
of engagement on its own (nuclei's exclude list does not do this, see the research notes).
"""

from __future__ import annotations

import ipaddress
import socket

from dnslib import QTYPE, RCODE, DNSRecord

from drills.errors import DrillError
from dvcops.addresses import DNS_PORT, is_address, parse_address_port

DNS_TIMEOUT = 2.0
DNS_TRIES = 2


def parse_resolver(text: str) -> tuple[str, int]:
    """`127.0.60.53:5353` or `127.0.60.53` (port 53) -> (address, port)."""
    try:
        return parse_address_port(text, DNS_PORT)
    except ValueError as exc:
        raise DrillError(f"resolver {text!r}: {exc}, e.g. 127.0.60.53:5353") from None


class Resolver:
    """Resolve names to IPv4 addresses: fixed names first (the RoE's `names`, like /etc/hosts), then one DNS
    server (`address:port`), or the system's resolver when none is given."""

    def __init__(self, server: str | None = None, names: dict[str, list[str]] | None = None) -> None:
        self.server = parse_resolver(server) if server else None
        self.names = {k.lower().rstrip("."): v for k, v in (names or {}).items()}

    def __repr__(self) -> str:
        return f"Resolver({self.describe()})"

    def describe(self) -> str:
        return f"{self.server[0]}:{self.server[1]}" if self.server else "system resolver"

    def resolve(self, name: str) -> list[str]:
        """The name's addresses, sorted; an unknown name is a DrillError (nothing is scanned for it)."""
        if is_address(name):
            return [str(ipaddress.ip_address(name))]
        if name.lower().rstrip(".") in self.names:
            return sorted(self.names[name.lower().rstrip(".")])
        if self.server is None:
            try:
                infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise DrillError(f"target {name!r}: cannot resolve with the system resolver: {exc.strerror}") from None
            return sorted({str(i[4][0]) for i in infos})
        return self._ask(name)

    def _ask(self, name: str) -> list[str]:
        assert self.server is not None
        host, port = self.server
        query = DNSRecord.question(name, "A")
        last = ""
        for _ in range(DNS_TRIES):  # bounded: two tries of DNS_TIMEOUT each
            try:
                reply = DNSRecord.parse(query.send(host, port, timeout=DNS_TIMEOUT))
            except (TimeoutError, OSError) as exc:
                last = str(exc) or type(exc).__name__
                continue
            if reply.header.rcode == RCODE.NXDOMAIN:
                raise DrillError(f"target {name!r}: no such name (NXDOMAIN from {self.describe()})")
            addrs = sorted({str(rr.rdata) for rr in reply.rr if rr.rtype == QTYPE.A})
            if not addrs:
                raise DrillError(f"target {name!r}: {self.describe()} returned no A record")
            return addrs
        raise DrillError(f"target {name!r}: resolver {self.describe()} did not answer ({last})")
