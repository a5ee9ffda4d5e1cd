"""IP address literals, as the probes and the drills tell them from host names."""

from __future__ import annotations

import ipaddress


def is_address(text: str) -> bool:
    """Whether `text` is an IPv4 or IPv6 address literal (no brackets, no port)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
