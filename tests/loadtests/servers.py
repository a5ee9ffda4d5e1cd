"""Real HTTP servers for the load-test tests, on 127.0.51.x: fast, slow, or failing 1 request in 20.

They serve what the users ask for (the lab's portal and e-service routes), each in its own thread
with its own event loop, and count what they receive. `Listener` is a bare TCP listener that only
counts connections: the "outside the catalogue" target that must never see one.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

TEST_PREFIX = "127.0.51"


class TargetServer:
    """An aiohttp server in a thread. behaviour: fast | slow (answers after `delay` s) | errors (every 20th is 500)."""

    def __init__(self, address: str, behaviour: str = "fast", delay: float = 1.0) -> None:
        self.address = address
        self.behaviour = behaviour
        self.delay = delay
        self.port = 0
        self.requests = 0
        self.errors = 0
        self.dossiers: dict[str, str] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    async def _gate(self) -> None:
        self.requests += 1
        if self.behaviour == "slow":
            await asyncio.sleep(self.delay)
        if self.behaviour == "errors" and self.requests % 20 == 0:
            self.errors += 1
            raise web.HTTPInternalServerError(text="lỗi máy chủ (test)")

    def _app(self) -> web.Application:
        async def page(request: web.Request) -> web.Response:
            await self._gate()
            return web.Response(text="<h1>Cổng Dịch vụ công (test)</h1>", content_type="text/html")

        async def submit(request: web.Request) -> web.Response:
            await self._gate()
            await request.read()
            code = f"T-{uuid.uuid4().hex[:10].upper()}"
            self.dossiers[code] = request.match_info["sid"]
            return web.json_response({"ma_ho_so": code, "trang_thai": "da-tiep-nhan"}, status=201)

        async def status(request: web.Request) -> web.Response:
            await self._gate()
            if self.dossiers.get(request.match_info["code"]) != request.match_info["sid"]:
                raise web.HTTPNotFound(text="không tìm thấy hồ sơ")
            return web.json_response({"ma_ho_so": request.match_info["code"], "trang_thai": "dang-xu-ly"})

        app = web.Application()
        app.router.add_get("/", page)
        app.router.add_get("/thu-tuc", page)
        app.router.add_get("/dv/{sid}", page)
        app.router.add_post("/dv/{sid}/ho-so", submit)
        app.router.add_get("/dv/{sid}/ho-so/{code}", status)
        return app

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._runner = web.AppRunner(self._app(), access_log=None)
            await self._runner.setup()
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.address, 0))
            self.port = sock.getsockname()[1]
            await web.SockSite(self._runner, sock, backlog=512).start()
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def start(self) -> TargetServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"test server on {self.address} did not start")
        return self

    def stop(self) -> None:
        async def cleanup() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class Listener:
    """A TCP listener that accepts and counts connections (and closes them at once)."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.address = address
        self.port: int = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@contextmanager
def target_server(address: str, behaviour: str = "fast", delay: float = 1.0) -> Iterator[TargetServer]:
    server = TargetServer(address, behaviour, delay).start()
    try:
        yield server
    finally:
        server.stop()


def write_catalog(path: Path, base_url: str, allowed_hosts: list[str] | None = None,
                  extra_services: list[dict[str, Any]] | None = None) -> Path:
    """A small province whose portal and two e-services live on `base_url`."""
    services = [
        {"id": "cong-thong-tin", "name": "Cổng thông tin (test)", "agency": "so-tttt", "level": 2,
         "endpoints": [{"url": f"{base_url}/"}]},
        {"id": "dang-ky-kinh-doanh", "name": "Đăng ký kinh doanh", "agency": "so-tttt", "level": "toan-trinh",
         "endpoints": [{"url": f"{base_url}/dv/dang-ky-kinh-doanh"}]},
        {"id": "giay-phep-xay-dung", "name": "Cấp giấy phép xây dựng", "agency": "so-tttt", "level": 4,
         "endpoints": [{"url": f"{base_url}/dv/giay-phep-xay-dung"}]},
        *(extra_services or []),
    ]
    data = {"version": 1, "province": {"code": "LT", "name": "Tỉnh Kiểm Thử", "reviewer": "Sở KH&CN"},
            "agencies": [{"id": "so-tttt", "name": "Sở Thông tin và Truyền thông", "kind": "department"}],
            "services": services, "loadtest": {"allowed_hosts": allowed_hosts or []}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
