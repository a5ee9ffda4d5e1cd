"""DNS: a one-question UDP client (dnslib packs the bytes) and the dns:// check.

One query, one answer, no retries, like blackbox_exporter's DNS prober. The resolver is the
endpoint's own (`resolver:` in the catalogue), the prober's default (`--resolver`), or the first
`nameserver` of /etc/resolv.conf.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from dnslib import QTYPE, RCODE, DNSRecord

from dvcops.addresses import DNS_PORT, parse_address_port
from probes.checks.env import CheckEnv, CheckFailed
from probes.targets import Target

if TYPE_CHECKING:
    from probes.checks import Observed

RESOLV_CONF = Path("/etc/resolv.conf")


@dataclass(frozen=True)
class DnsReply:
    rcode: str
    answers: list[str]


def system_resolver() -> tuple[str, int]:
    """The first nameserver of /etc/resolv.conf (what the C library would ask first)."""
    try:
        for line in RESOLV_CONF.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                return parts[1], DNS_PORT
    except OSError:
        pass
    raise CheckFailed("dns", f"no resolver: {RESOLV_CONF} names no nameserver and none is configured")


class _OneAnswer(asyncio.DatagramProtocol):
    def __init__(self, query_id: int, answer: asyncio.Future[DNSRecord]) -> None:
        self.query_id = query_id
        self.answer = answer

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            record = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - a garbled datagram is not our answer; keep waiting
            return
        if record.header.id == self.query_id and not self.answer.done():
            self.answer.set_result(record)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


async def query(name: str, qtype: str, server: tuple[str, int]) -> DnsReply:
    """Ask `server` one question; the caller bounds the wait. Raises CheckFailed('dns') if unreachable."""
    loop = asyncio.get_running_loop()
    question = DNSRecord.question(name, qtype)
    answer: asyncio.Future[DNSRecord] = loop.create_future()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _OneAnswer(question.header.id, answer), remote_addr=server)
    except OSError as exc:
        raise CheckFailed("dns", f"resolver {server[0]}:{server[1]}: {exc.strerror or exc}") from None
    try:
        transport.sendto(question.pack())
        try:
            record = await answer
        except OSError as exc:  # ICMP port unreachable: nothing listens there
            raise CheckFailed("dns", f"resolver {server[0]}:{server[1]}: {exc.strerror or exc}") from None
    finally:
        transport.close()
    wanted = getattr(QTYPE, qtype)
    answers = [str(rr.rdata).rstrip(".") for rr in record.rr if rr.rtype == wanted]
    return DnsReply(rcode=RCODE.get(record.header.rcode), answers=answers)


def configured_resolver(target: Target, env: CheckEnv) -> tuple[str, int] | None:
    """The endpoint's resolver, else the prober's (both validated when loaded); None when neither names one."""
    text = target.resolver or env.resolver
    return parse_address_port(text, DNS_PORT) if text else None


def resolver_for(target: Target, env: CheckEnv) -> tuple[str, int]:
    return configured_resolver(target, env) or system_resolver()


async def check_dns(target: Target, env: CheckEnv, obs: Observed) -> None:
    """dns://name[?type=A]: resolution time, response code and answers; expected answers must be present."""
    parts = urlsplit(target.url)
    qtype = (parse_qs(parts.query).get("type") or ["A"])[0].upper()
    if not hasattr(QTYPE, qtype) or qtype.startswith("_"):
        raise CheckFailed("dns", f"unknown record type {qtype!r}")
    server = resolver_for(target, env)
    t0 = time.perf_counter()
    reply = await query(target.host, qtype, server)
    obs.phases["resolve"] = time.perf_counter() - t0
    obs.connected = True
    obs.dns_rcode, obs.dns_answers = reply.rcode, reply.answers
    obs.ip = reply.answers[0] if reply.answers else None
