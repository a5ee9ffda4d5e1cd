"""IP address literals and `ADDRESS[:PORT]`, as the catalogue, the probes and the drills read them.

One reading for every field that names a server by address (a DNS resolver, the exporter's --listen):
IPv4 `127.0.10.53` or `127.0.10.53:5353`; IPv6 bare `::1`, or in brackets `[::1]` / `[::1]:5353` (a
port after an unbracketed IPv6 address could not be told from its last group).
"""

from __future__ import annotations

import ipaddress

DNS_PORT = 53
ADDRESS_PORT = "ADDRESS[:PORT] (IPv4, or IPv6 in brackets with a port: [::1]:53)"


def is_address(text: str) -> bool:
    """Whether `text` is an IPv4 or IPv6 address literal (no brackets, no port)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def check_resolver(value: str | None) -> str | None:
    """A resolver field (`address[:port]`, port 53 by default) as a pydantic validator: the value unchanged, or
    ValueError quoting it."""
    if value is not None:
        try:
            parse_address_port(value, DNS_PORT)
        except ValueError as exc:
            raise ValueError(f"{value!r}: {exc}") from None
    return value


def parse_address_port(text: str, default_port: int | None = None) -> tuple[str, int]:
    """`127.0.10.53:5353` -> ("127.0.10.53", 5353); a bare address takes `default_port` (None: the port is
    required). ValueError, saying what was expected, for anything else (host names included)."""
    expected = f"expected {ADDRESS_PORT if default_port is not None else ADDRESS_PORT.replace('[:PORT]', ':PORT')}"
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
        if not sep or (rest and port is None) or ":" not in host:
            raise ValueError(expected)
    elif is_address(text):
        host, port = text, None
    else:
        host, _, port = text.rpartition(":")
        if ":" in host or not host:
            raise ValueError(expected)
    if not is_address(host):
        raise ValueError(expected)
    if port is None:
        if default_port is None:
            raise ValueError(expected)
        return host, default_port
    if not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"port {port!r}: expected 1-65535")
    return host, int(port)
