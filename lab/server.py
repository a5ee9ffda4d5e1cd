"""The lab server process: `python -m lab.server --state DIR [--prefix 127.0.10]`.

One asyncio process serves every lab host on its own loopback address. A small control API on
`<prefix>.254` (bearer token in the state dir) lets drill scenarios act on the lab: open or close a
port, swap a certificate, deface or restore the portal, break an e-service's dossier status page.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import os
import secrets
import signal
import ssl
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from dvcops.labcontrol import CONTROL_FILE
from lab.certs import issue_leaf
from lab.dns import start_dns
from lab.spec import LabHost, LabSpec

MAX_DOSSIERS = 200_000
DEFACED = "<h1>HACKED BY lab-red-team</h1><p>Trang này đã bị thay đổi trái phép.</p>"


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f"<body>{body}</body></html>")


class LabState:
    """Mutable lab state shared by handlers and the control API; saved to state.json on change."""

    def __init__(self, spec: LabSpec, folder: Path, services: list[dict[str, Any]]) -> None:
        self.spec = spec
        self.folder = folder
        self.services = services
        self.defaced: set[str] = set()
        self.certs: dict[str, str] = {h.name: h.cert for h in spec.hosts if h.https}
        self.ssl: dict[str, ssl.SSLContext] = {}
        self.extra: dict[tuple[str, int], asyncio.Server] = {}
        self.listeners: list[str] = []
        self.dossiers: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.broken_status: set[str] = set()
        """Hosts whose dossier status page answers 500 (the `break-status` action), for journey tests."""

    def save(self) -> None:
        data = {"pid": os.getpid(), "prefix": self.spec.prefix, "listeners": sorted(self.listeners),
                "certs": self.certs, "defaced": sorted(self.defaced),
                "opened_ports": sorted(f"{h}:{p}" for h, p in self.extra),
                "broken_status": sorted(self.broken_status)}
        tmp = self.folder / "state.json.tmp"
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.folder / "state.json")

    def ssl_context(self, host: LabHost) -> ssl.SSLContext:
        if host.name not in self.ssl:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            self.ssl[host.name] = ctx
        self.load_cert(host, self.certs[host.name])
        return self.ssl[host.name]

    def load_cert(self, host: LabHost, kind: str) -> None:
        spec = self.spec
        chain, key = issue_leaf(self.folder / "certs", host.name, spec.address(host), spec.dns_names(host), kind)
        self.ssl[host.name].load_cert_chain(chain, key)
        self.certs[host.name] = kind


def _app(state: LabState, host: LabHost, https: bool) -> web.Application:
    spec = state.spec
    app = web.Application(client_max_size=256 * 1024)

    async def gate(request: web.Request) -> None:
        if host.behaviour == "slow":
            await asyncio.sleep(spec.slow_seconds)
        if host.behaviour == "flap" and (time.time() % spec.flap_period) >= spec.flap_period * 2 / 3:
            raise web.HTTPServiceUnavailable(text="Dịch vụ tạm thời gián đoạn")
        if host.https and not https and host.behaviour == "eservice":
            raise web.HTTPMovedPermanently(spec.url(host.name, request.path_qs, https=True))

    def headers(resp: web.StreamResponse) -> web.StreamResponse:
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "SAMEORIGIN"
        return resp

    async def index(request: web.Request) -> web.StreamResponse:
        await gate(request)
        if host.name in state.defaced:
            return headers(web.Response(text=_page("Hacked", DEFACED), content_type="text/html"))
        items = "".join(f'<li><a href="/dv/{s["id"]}">{html.escape(s["name"])}</a></li>' for s in state.services)
        body = (f"<h1>Cổng Dịch vụ công — {html.escape(host.name)}</h1>"
                '<form action="/thu-tuc"><label>Tìm thủ tục <input name="q"></label><button>Tìm</button></form>'
                f"<ul>{items}</ul>")
        return headers(web.Response(text=_page("Cổng Dịch vụ công", body), content_type="text/html"))

    async def search(request: web.Request) -> web.StreamResponse:
        await gate(request)
        q = request.query.get("q", "").strip().lower()
        hits = [s for s in state.services if q in s["name"].lower() or q in s["id"]]
        if "json" in request.headers.get("Accept", ""):
            return web.json_response({"q": q, "ket_qua": [{"id": s["id"], "ten": s["name"]} for s in hits]})
        items = "".join(f'<li><a href="/dv/{s["id"]}">{html.escape(s["name"])}</a></li>' for s in hits)
        return headers(web.Response(text=_page("Kết quả tìm kiếm", f"<h1>Thủ tục</h1><ul>{items}</ul>"),
                                    content_type="text/html"))

    async def service(request: web.Request) -> web.StreamResponse:
        await gate(request)
        sid = request.match_info["sid"]
        form = (f"<h1>Dịch vụ công: {html.escape(sid)}</h1>"
                f'<form method="post" action="/dv/{html.escape(sid)}/ho-so"><label>Họ tên <input name="ho_ten"></label>'
                "<button>Nộp hồ sơ</button></form>")
        return headers(web.Response(text=_page(sid, form), content_type="text/html"))

    async def submit(request: web.Request) -> web.StreamResponse:
        await gate(request)
        sid = request.match_info["sid"]
        if request.content_type == "application/json":
            try:
                payload = await request.json()
            except ValueError:
                raise web.HTTPBadRequest(text="body is not JSON") from None
        else:
            payload = dict(await request.post())
        code = f"{sid[:6].upper()}-{uuid.uuid4().hex[:10].upper()}"
        state.dossiers[code] = {"ma_ho_so": code, "dich_vu": sid, "trang_thai": "da-tiep-nhan",
                                "nop_luc": time.time(), "so_truong": len(payload) if isinstance(payload, dict) else 0}
        while len(state.dossiers) > MAX_DOSSIERS:
            state.dossiers.popitem(last=False)
        return web.json_response({"ma_ho_so": code, "trang_thai": "da-tiep-nhan"}, status=201)

    async def status(request: web.Request) -> web.StreamResponse:
        await gate(request)
        if host.name in state.broken_status:
            raise web.HTTPInternalServerError(text="Lỗi hệ thống tra cứu hồ sơ")
        d = state.dossiers.get(request.match_info["code"])
        if d is None or d["dich_vu"] != request.match_info["sid"]:
            raise web.HTTPNotFound(text="không tìm thấy hồ sơ")
        return web.json_response(d)

    async def health(request: web.Request) -> web.StreamResponse:
        await gate(request)
        return web.Response(text="ok")

    async def static(request: web.Request) -> web.StreamResponse:
        """Small fixed responses for benchmarks: /e/{n}."""
        await gate(request)
        return web.Response(text=f"endpoint {request.match_info['n']}")

    app.router.add_get("/", index)
    app.router.add_get("/thu-tuc", search)
    app.router.add_get("/healthz", health)
    app.router.add_get("/e/{n}", static)
    app.router.add_get("/dv/{sid}", service)
    app.router.add_post("/dv/{sid}/ho-so", submit)
    app.router.add_get("/dv/{sid}/ho-so/{code}", status)
    return app


async def tcp_listener(address: str, port: int, banner: bytes) -> asyncio.Server:
    """A TCP service that sends `banner` (if any), reads what the client says for up to 5 s and hangs up:
    enough for a port scan, a connect check or a service-version probe to see an open service."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if banner:
                writer.write(banner)
                await writer.drain()
            await asyncio.wait_for(reader.read(1024), timeout=5)
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, address, port, reuse_address=True)


def _control_app(state: LabState, token: str) -> web.Application:
    app = web.Application(client_max_size=16 * 1024)

    def authorised(request: web.Request) -> None:
        if not secrets.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
            raise web.HTTPUnauthorized(text="lab control needs the token from the state dir")

    def host_of(body: dict[str, Any]) -> LabHost:
        try:
            return state.spec.host(str(body.get("host")))
        except KeyError:
            raise web.HTTPBadRequest(text=f"unknown lab host {body.get('host')!r}") from None

    async def action(request: web.Request) -> web.StreamResponse:
        authorised(request)
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="body is not JSON") from None
        name = request.match_info["name"]
        host = host_of(body)
        addr = state.spec.address(host)
        if name == "open-port":
            port = int(body["port"])
            if (host.name, port) not in state.extra:
                state.extra[(host.name, port)] = await tcp_listener(addr, port, str(body.get("banner", "")).encode())
                state.listeners.append(f"{addr}:{port}")
        elif name == "close-port":
            port = int(body["port"])
            server = state.extra.pop((host.name, port), None)
            if server is not None:
                server.close()
                await server.wait_closed()
                state.listeners.remove(f"{addr}:{port}")
        elif name == "cert":
            if host.name not in state.ssl:
                raise web.HTTPBadRequest(text=f"{host.name} serves no HTTPS")
            try:
                state.load_cert(host, str(body.get("kind", "valid")))
            except ValueError as exc:
                raise web.HTTPBadRequest(text=str(exc)) from None
        elif name == "deface":
            state.defaced.add(host.name)
        elif name == "break-status":
            state.broken_status.add(host.name)
        elif name == "restore":
            state.defaced.discard(host.name)
            state.broken_status.discard(host.name)
            if host.name in state.ssl:
                state.load_cert(host, host.cert)
            for (h, p) in [k for k in state.extra if k[0] == host.name]:
                server = state.extra.pop((h, p))
                server.close()
                state.listeners.remove(f"{addr}:{p}")
        else:
            raise web.HTTPNotFound(text=f"unknown action {name!r}")
        state.save()
        return web.json_response({"ok": True, "action": name, "host": host.name, "at": time.time()})

    async def show(request: web.Request) -> web.StreamResponse:
        authorised(request)
        return web.json_response(json.loads((state.folder / "state.json").read_text()))

    app.router.add_post("/actions/{name}", action)
    app.router.add_get("/state", show)
    return app


async def serve(spec: LabSpec, folder: Path) -> None:
    """Bind everything, write lab.yml and state.json, then run until SIGTERM/SIGINT."""
    folder.mkdir(parents=True, exist_ok=True)
    cert_folder = folder / "certs"
    ca_file = str(cert_folder / "ca.pem")
    catalog = spec.catalog(ca_file)
    state = LabState(spec, folder, catalog["services"])
    runners: list[web.AppRunner] = []
    token_file = folder / "control.token"
    if not token_file.exists():
        token_file.write_text(secrets.token_urlsafe(24))
        token_file.chmod(0o600)
    token = token_file.read_text().strip()

    async def site(app: web.Application, addr: str, port: int, ctx: ssl.SSLContext | None = None) -> None:
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await runner.setup()
        await web.TCPSite(runner, addr, port, ssl_context=ctx, reuse_address=True, backlog=1024).start()
        runners.append(runner)
        state.listeners.append(f"{addr}:{port}")

    for host in spec.hosts:
        addr = spec.address(host)
        if host.behaviour in ("down", "none"):
            continue
        if host.behaviour == "db":
            await tcp_listener(addr, spec.db_port, b"")
            state.listeners.append(f"{addr}:{spec.db_port}")
            for p in host.extra_ports:
                state.extra[(host.name, p)] = await tcp_listener(addr, p, b"-NOAUTH Authentication required.\r\n")
                state.listeners.append(f"{addr}:{p}")
            continue
        await site(_app(state, host, https=False), addr, spec.http_port)
        if host.https:
            await site(_app(state, host, https=True), addr, spec.https_port, state.ssl_context(host))
    transport = await start_dns(spec.dns_address, spec.dns_port, spec.dns_records())
    state.listeners.append(f"{spec.dns_address}:{spec.dns_port}/udp")
    await site(_control_app(state, token), spec.control_address, spec.control_port)

    state.save()
    control = {"url": f"http://{spec.control_address}:{spec.control_port}"}
    (folder / CONTROL_FILE).write_text(json.dumps(control))
    tmp = folder / "lab.yml.tmp"
    tmp.write_text("# Written by `dvcops lab up`: the lab as a catalogue, with its real addresses and ports.\n"
                   + yaml.safe_dump(catalog, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tmp.replace(folder / "lab.yml")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    transport.close()
    for runner in runners:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="dvcops lab server (started by `dvcops lab up`)")
    p.add_argument("--folder", required=True, type=Path)
    p.add_argument("--spec", required=True, help="LabSpec as JSON")
    args = p.parse_args(argv)
    spec = LabSpec(**json.loads(args.spec))
    asyncio.run(serve(spec, args.folder))


if __name__ == "__main__":
    main()
