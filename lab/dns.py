"""A small authoritative DNS server for the lab's names, on a loopback address (UDP).

Tests and probes ask it instead of the machine's resolver: A records for the lab hosts, NXDOMAIN
for anything else, and one name that points outside the lab for scope tests.
"""

from __future__ import annotations

import asyncio

from dnslib import QTYPE, RCODE, RR, A, DNSRecord


class _Resolver(asyncio.DatagramProtocol):
    def __init__(self, records: dict[str, str]) -> None:
        self.records = {k.rstrip(".").lower(): v for k, v in records.items()}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport here

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - garbage datagrams are ignored, as any DNS server does
            return
        reply = query.reply()
        name = str(query.q.qname).rstrip(".").lower()
        if name not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
        elif query.q.qtype in (QTYPE.A, QTYPE.ANY):
            reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A(self.records[name]), ttl=30))
        assert self.transport is not None
        self.transport.sendto(reply.pack(), addr)


async def start_dns(address: str, port: int, records: dict[str, str]) -> asyncio.DatagramTransport:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Resolver(records), local_addr=(address, port))
    return transport
