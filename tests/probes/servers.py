"""Real servers the probe tests talk to, on 127.0.31.x (the lab runs on 127.0.30.x).

One asyncio loop in a background thread serves:

- 127.0.31.10:8080  HTTP: /ok (200, Vietnamese body), /error (500), /redirect/{n} (a chain of n
  redirects ending at /ok), /loop (redirects forever), /chunked (chunked body), /headers;
- 127.0.31.11:8443  HTTPS with a certificate from the test CA that expired two days ago;
- 127.0.31.12:8443  HTTPS with a self-signed certificate (no CA vouches for it);
- 127.0.31.13:8443  HTTPS with a valid certificate from the test CA (for tls:// and chains);
- 127.0.31.14:9000  a hung server: accepts connections and never says a word (and counts them);
- 127.0.31.53:5353  a DNS server (the lab's dnslib one) answering for *.probe.test.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lab.dns import start_dns

HTTP = "127.0.31.10"
EXPIRED = "127.0.31.11"
SELF_SIGNED = "127.0.31.12"
VALID = "127.0.31.13"
HUNG = "127.0.31.14"
DNS = "127.0.31.53"
DNS_PORT = 5353
HUNG_PORT = 9000
RECORDS = {"web.probe.test": HTTP, "tls.probe.test": VALID}
BODY = "<html><body><h1>Cổng Dịch vụ công tỉnh</h1></body></html>"


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, issuer_key: ec.EllipticCurvePrivateKey,
          before: timedelta, after: timedelta, ca: bool = False, address: str | None = None) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now + before).not_valid_after(now + after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if address:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass
class Pki:
    folder: Path
    ca_file: Path
    expiry: dict[str, datetime]
    """Leaf NotAfter per server address."""

    def context(self, address: str) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.folder / f"{address}.pem", self.folder / f"{address}-key.pem")
        return ctx


def make_pki(folder: Path) -> Pki:
    """A test CA, leaves for the expired and valid servers, and a self-signed leaf."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dvcops probe test CA")])
    ca = _cert("dvcops probe test CA", ca_key, ca_name, ca_key, timedelta(days=-30), timedelta(days=365), ca=True)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    expiry = {}
    for address, before, after, self_signed in ((EXPIRED, -60, -2, False), (VALID, -1, 90, False),
                                                (SELF_SIGNED, -1, 200, True)):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
        cert = _cert(address, key, name if self_signed else ca_name, key if self_signed else ca_key,
                     timedelta(days=before), timedelta(days=after), address=address)
        chain = cert.public_bytes(serialization.Encoding.PEM)
        if not self_signed:
            chain += ca.public_bytes(serialization.Encoding.PEM)
        (folder / f"{address}.pem").write_bytes(chain)
        (folder / f"{address}-key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        expiry[address] = cert.not_valid_after_utc
    return Pki(folder, folder / "ca.pem", expiry)


def _app() -> web.Application:
    app = web.Application()

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text=BODY, content_type="text/html", headers={"X-Frame-Options": "SAMEORIGIN"})

    async def error(_: web.Request) -> web.Response:
        return web.Response(status=500, text="Lỗi máy chủ")

    async def redirect(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        raise web.HTTPFound("/ok" if n <= 1 else f"/redirect/{n - 1}")

    async def loop(_: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        resp.content_type = "text/plain"
        await resp.prepare(request)
        for part in ("Dịch ", "vụ ", "công ", "trực tuyến"):
            await resp.write(part.encode())
        await resp.write_eof()
        return resp

    app.router.add_get("/ok", ok)
    app.router.add_get("/error", error)
    app.router.add_get("/redirect/{n}", redirect)
    app.router.add_get("/loop", loop)
    app.router.add_get("/chunked", chunked)
    return app


class HungServer:
    """Accepts, reads whatever comes, answers nothing; the client's timeout ends it. It counts the connections
    it holds at once (`peak`, since `reset()`): how many probes were in flight together, seen from the server."""

    def __init__(self) -> None:
        self.open = 0
        self.peak = 0
        self.accepted = 0

    def reset(self) -> None:
        self.peak, self.accepted = self.open, 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.accepted += 1
        self.peak = max(self.peak, self.open)
        try:
            while await reader.read(4096):
                pass
        except ConnectionError:
            pass
        finally:
            self.open -= 1
            writer.close()


class ProbeTestServers:
    """Start everything in a background loop; `stop()` closes every listener."""

    def __init__(self, pki: Pki) -> None:
        self.pki = pki
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._closers: list[object] = []
        self.hung = HungServer()

    async def _start(self) -> None:
        for address, port, ctx in ((HTTP, 8080, None), (EXPIRED, 8443, self.pki.context(EXPIRED)),
                                   (SELF_SIGNED, 8443, self.pki.context(SELF_SIGNED)),
                                   (VALID, 8443, self.pki.context(VALID))):
            runner = web.AppRunner(_app(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, address, port, ssl_context=ctx, reuse_address=True).start()
            self._closers.append(runner)
        self._closers.append(await asyncio.start_server(self.hung.handle, HUNG, HUNG_PORT, reuse_address=True))
        self._closers.append(await start_dns(DNS, DNS_PORT, RECORDS))

    async def _stop(self) -> None:
        for closer in reversed(self._closers):
            if isinstance(closer, web.AppRunner):
                await closer.cleanup()
            elif isinstance(closer, asyncio.Server):
                closer.close()
            else:
                closer.close()  # type: ignore[attr-defined]  # the DNS datagram transport

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def running(folder: Path) -> Iterator[ProbeTestServers]:
    servers = ProbeTestServers(make_pki(folder))
    servers.start()
    try:
        yield servers
    finally:
        servers.stop()
