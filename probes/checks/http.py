"""http(s)://: one GET over a fresh connection per hop, redirects followed and counted, each phase timed.

A small HTTP/1.1 client on asyncio streams rather than a general library: the prober needs exact
phases (resolve, connect, tls, processing, transfer; summed over redirects as blackbox_exporter
does), a new connection per attempt (no pooling hiding a broken handshake), a cap on how much
body is read, and little CPU per probe.
"""

from __future__ import annotations

import asyncio
import time
import unicodedata
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from probes.checks.env import CheckEnv, CheckFailed
from probes.checks.resolve import resolve
from probes.checks.tcp import connect, upgrade
from probes.models import HTTP_PHASES
from probes.targets import Target

if TYPE_CHECKING:
    from probes.checks import Observed

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


def wants_body(target: Target) -> bool:
    """Only decode and keep the body when a [BODY] condition will read it."""
    return target.keep_body or any(c.placeholder == "BODY" for c in target.conditions)


def _request(url: str, env: CheckEnv) -> bytes:
    p = urlsplit(url)
    path = (p.path or "/") + (f"?{p.query}" if p.query else "")
    default_port = 443 if p.scheme == "https" else 80
    host = p.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if p.port and p.port != default_port:
        host = f"{host}:{p.port}"
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {env.user_agent}\r\nAccept: */*\r\n"
            "Accept-Encoding: identity\r\nConnection: close\r\n\r\n").encode("ascii", "surrogateescape")


def _parse_head(head: bytes) -> tuple[float, int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    try:
        proto, code = lines[0].split(" ", 2)[:2]
        version = float(proto.removeprefix("HTTP/"))
        status = int(code)
    except ValueError:
        raise CheckFailed("status", f"not an HTTP response: {lines[0][:60]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    return version, status, headers


async def _read_body(reader: asyncio.StreamReader, status: int, headers: dict[str, str], cap: int,
                     keep: bool) -> tuple[bytes, int]:
    """Read the body up to `cap` bytes; return (kept bytes, bytes read)."""
    if status in (204, 304) or 100 <= status < 200:
        return b"", 0
    kept, total = bytearray(), 0

    def take(data: bytes) -> None:
        nonlocal total
        total += len(data)
        if keep:
            kept.extend(data)

    if "chunked" in headers.get("transfer-encoding", "").lower():
        while total < cap:
            size_line = await reader.readline()
            try:
                size = int(size_line.split(b";")[0].strip() or b"x", 16)
            except ValueError:
                raise CheckFailed("body", "malformed chunked body") from None
            if size == 0:
                break
            take(await reader.readexactly(min(size, cap - total)))
            if total >= cap:
                break
            await reader.readexactly(2)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise CheckFailed("body", f"bad Content-Length {headers['content-length']!r}") from None
        remaining = min(length, cap)
        while remaining > 0:
            data = await reader.read(min(remaining, _CHUNK))
            if not data:
                raise CheckFailed("body", f"body truncated after {total} of {length} bytes")
            take(data)
            remaining -= len(data)
    else:
        while total < cap:
            data = await reader.read(min(_CHUNK, cap - total))
            if not data:
                break
            take(data)
    return bytes(kept), total


async def check_http(target: Target, env: CheckEnv, obs: Observed) -> None:
    for phase in HTTP_PHASES:
        obs.phases.setdefault(phase, 0.0)
    url = target.url
    keep = wants_body(target)
    for _hop in range(env.max_redirects + 1):
        parts = urlsplit(url)
        https = parts.scheme == "https"
        host = parts.hostname or ""
        port = parts.port or (443 if https else 80)
        t0 = time.perf_counter()
        try:
            ip = obs.ip = await resolve(host, port, target, env)
        finally:
            obs.phases["resolve"] += time.perf_counter() - t0
        reader, writer = await connect(ip, port, obs)
        try:
            if https:
                await upgrade(writer, ip, port, host, target, env, obs)
            obs.ssl = https
            writer.write(_request(url, env))
            t1 = time.perf_counter()
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                raise CheckFailed("connect", "the server closed the connection without an HTTP response") from None
            except asyncio.LimitOverrunError:
                raise CheckFailed("status", "response headers longer than 64 KiB") from None
            except ConnectionError as exc:
                raise CheckFailed("connect", f"connection lost: {exc.__class__.__name__}") from None
            obs.phases["processing"] += time.perf_counter() - t1
            obs.http_version, obs.status_code, obs.headers = _parse_head(head)
            location = obs.headers.get("location")
            if obs.status_code in REDIRECTS and location:
                obs.redirects += 1
                url = urljoin(url, location)
                continue
            t2 = time.perf_counter()
            try:
                body, obs.body_bytes = await _read_body(reader, obs.status_code, obs.headers,
                                                        env.max_body_bytes, keep)
            except (asyncio.IncompleteReadError, ConnectionError):
                raise CheckFailed("body", "the connection closed in the middle of the body") from None
            finally:
                obs.phases["transfer"] += time.perf_counter() - t2
            length = obs.headers.get("content-length", "")
            obs.content_length = int(length) if length.isdigit() else None
            if keep:
                obs.body = unicodedata.normalize("NFC", body.decode("utf-8", errors="replace"))
            return
        finally:
            writer.transport.abort()
    raise CheckFailed("status", f"more than {env.max_redirects} redirects")
