"""tcp://host:port (does it accept a connection?) and tls://host:port (does it complete a verified
handshake, and with which certificates and protocol?)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING

from probes.checks.env import CheckEnv, CheckFailed
from probes.checks.resolve import resolve
from probes.checks.tls import cert_info, handshake, unverified_cert
from probes.targets import Target

if TYPE_CHECKING:
    from probes.checks import Observed


async def connect(ip: str, port: int, obs: Observed) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a TCP connection, timing the connect phase; CheckFailed('connect') when refused or unreachable.

    The reader stays valid after `upgrade` (start_tls keeps the same protocol and reader)."""
    t0 = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(ip, port)
    except OSError as exc:
        obs.phases["connect"] = obs.phases.get("connect", 0.0) + time.perf_counter() - t0
        why = os.strerror(exc.errno) if exc.errno else exc.__class__.__name__
        raise CheckFailed("connect", f"{ip}:{port}: {why.lower()}") from None
    obs.phases["connect"] = obs.phases.get("connect", 0.0) + time.perf_counter() - t0
    obs.connected = True
    return reader, writer


async def _resolved(target: Target, env: CheckEnv, obs: Observed) -> str:
    t0 = time.perf_counter()
    try:
        obs.ip = await resolve(target.host, target.port, target, env)
    finally:
        obs.phases["resolve"] = time.perf_counter() - t0
    return obs.ip


async def check_tcp(target: Target, env: CheckEnv, obs: Observed) -> None:
    ip = await _resolved(target, env, obs)
    _, writer = await connect(ip, target.port, obs)
    writer.transport.abort()


async def upgrade(writer: asyncio.StreamWriter, ip: str, port: int, host: str, target: Target, env: CheckEnv,
                  obs: Observed) -> None:
    """TLS on a connected stream, timing the tls phase. If verification fails, the certificates are
    still read over a second, unverified connection before CheckFailed('tls') is raised."""
    t0 = time.perf_counter()
    try:
        ssl_object = await handshake(writer, env.tls_context(target.ca_file), host)
    except CheckFailed as exc:
        obs.phases["tls"] = obs.phases.get("tls", 0.0) + time.perf_counter() - t0
        writer.transport.abort()
        obs.cert = await unverified_cert(ip, port, host, env, exc.message)
        raise
    obs.phases["tls"] = obs.phases.get("tls", 0.0) + time.perf_counter() - t0
    obs.ssl = True
    obs.cert = cert_info(ssl_object, verified=True)


async def check_tls(target: Target, env: CheckEnv, obs: Observed) -> None:
    ip = await _resolved(target, env, obs)
    _, writer = await connect(ip, target.port, obs)
    try:
        await upgrade(writer, ip, target.port, target.host, target, env, obs)
    finally:
        writer.transport.abort()
