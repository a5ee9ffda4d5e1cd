"""Host names to addresses for http/tcp/tls targets: via the endpoint's resolver, or the system's.

IPv4 is asked for first (blackbox's ip6 default breaks IPv4-only networks, its most common
complaint); a literal address is used as it is.
"""

from __future__ import annotations

import asyncio
import socket

from dvcops.addresses import is_address
from probes.checks.dns import configured_resolver, query
from probes.checks.env import CheckEnv, CheckFailed
from probes.targets import Target


async def resolve(host: str, port: int, target: Target, env: CheckEnv) -> str:
    """One address for `host`, or CheckFailed('dns') saying why there is none."""
    if is_address(host):
        return host
    server = configured_resolver(target, env)
    if server:
        reply = await query(host, "A", server)
        if reply.rcode != "NOERROR" or not reply.answers:
            raise CheckFailed("dns", f"{host}: {reply.rcode if reply.rcode != 'NOERROR' else 'no A record'}")
        return reply.answers[0]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise CheckFailed("dns", f"{host}: {exc.strerror}") from None
    infos.sort(key=lambda i: i[0] != socket.AF_INET)
    return str(infos[0][4][0])
