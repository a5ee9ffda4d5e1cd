"""`dvcops probe serve`: probe on schedule, serve /metrics, record history, reload on SIGHUP.

- `GET /metrics` — blackbox-compatible metrics and counters (probes/metrics.py).
- `GET /probe?target=…&module=…` — blackbox_exporter's multi-target endpoint (probes/blackbox.py).
- `GET /-/healthy` — 200 while serving; `POST /-/reload` — the same as SIGHUP.
- every endpoint's up→down and down→up is logged once, with the reason (probes/logs.py).
- Results are written to the history file in batches, off the event loop, about once a second.
- A reload that fails (the catalogue no longer validates) keeps the previous catalogue, logs one
  line and sets `dvcops_probe_config_last_reload_successful` to 0. Counters survive reloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path

from aiohttp import web

from dvcops.addresses import parse_address_port
from dvcops.catalog import load_catalog
from dvcops.errors import DvcopsError
from probes.blackbox import Modules
from probes.blackbox import probe as blackbox_probe
from probes.engine import Prober
from probes.errors import ProbeError
from probes.history import History
from probes.logs import Transitions
from probes.metrics import ProbeMetrics
from probes.models import ProbeResult
from probes.settings import ProbeSettings
from probes.targets import Target, targets_from

log = logging.getLogger("dvcops.probes")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def parse_listen(text: str) -> tuple[str, int]:
    """`127.0.0.1:9115` -> ("127.0.0.1", 9115); a one-line error naming the expected form otherwise."""
    try:
        return parse_address_port(text)
    except ValueError as exc:
        raise ProbeError(f"--listen {text!r}: {exc}, e.g. 127.0.0.1:9115") from None


class Exporter:
    def __init__(self, catalog_path: Path, settings: ProbeSettings, history: History | None,
                 modules: Modules | None = None) -> None:
        self.catalog_path = catalog_path
        self.modules = modules or Modules.load(None)
        catalog = load_catalog(catalog_path)
        self.prober = Prober(targets_from(catalog), settings)
        self.metrics = ProbeMetrics(self.prober.targets)
        self.history = history
        self.pending: list[ProbeResult] = []
        self.transitions = Transitions()
        self.stop = asyncio.Event()

    def reload(self) -> bool:
        """Load the catalogue again; on any problem keep the current one and log one line."""
        try:
            targets = targets_from(load_catalog(self.catalog_path))
            self.prober.replace_targets(targets)
        except DvcopsError as exc:
            more = f" (+{len(exc.lines) - 1} more)" if len(exc.lines) > 1 else ""
            log.error("catalogue reload failed, keeping the previous one: %s%s", exc.lines[0], more)
            self.metrics.reload_successful = 0
            return False
        self.metrics.set_targets(targets)
        self.transitions.forget_except({t.key for t in targets})
        self.metrics.reload_successful = 1
        log.info("catalogue reloaded: %d endpoints", len(targets))
        return True

    def on_results(self, pairs: list[tuple[Target, ProbeResult]]) -> None:
        for target, result in pairs:
            self.metrics.observe(result, target)
            self.transitions.observe(target, result)
            self.pending.append(result)
        if self.prober.canary is not None:
            self.metrics.canary_success = self.prober.canary_up

    async def flush(self) -> None:
        if self.history is None or not self.pending:
            return
        batch, self.pending = self.pending, []
        await asyncio.to_thread(self.history.record, batch)

    async def _writer(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=1.0)
            await self.flush()

    def app(self) -> web.Application:
        app = web.Application()

        async def metrics(_: web.Request) -> web.Response:
            return web.Response(body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE})

        async def healthy(_: web.Request) -> web.Response:
            return web.Response(text="Healthy\n")

        async def reload(_: web.Request) -> web.Response:
            ok = self.reload()
            return web.Response(status=200 if ok else 500, text="reloaded\n" if ok else "reload failed\n")

        async def index(_: web.Request) -> web.Response:
            return web.Response(text="dvcops probe exporter: /metrics, /probe?target=&module=, /-/healthy, "
                                     "POST /-/reload\n")

        async def probe(request: web.Request) -> web.Response:
            async with self.prober.slots:
                status, body = await blackbox_probe(
                    self.modules, self.prober.env, request.query.get("target"), request.query.get("module"),
                    request.headers.get("X-Prometheus-Scrape-Timeout-Seconds"))
            content_type = CONTENT_TYPE if status == 200 else "text/plain; charset=utf-8"
            return web.Response(status=status, body=body, headers={"Content-Type": content_type})

        app.router.add_get("/", index)
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/probe", probe)
        app.router.add_get("/-/healthy", healthy)
        app.router.add_post("/-/reload", reload)
        return app

    async def serve(self, listen: str, duration: float | None = None) -> None:
        host, port = parse_listen(listen)
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise ProbeError(f"--listen {listen}: cannot listen there ({exc.strerror})") from None
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        log.info("probing %d endpoints, metrics on http://%s:%d/metrics", len(self.prober.targets), host, port)
        writer = asyncio.create_task(self._writer())
        try:
            await self.prober.run(self.on_results, self.stop, duration)
        finally:
            self.stop.set()
            await writer
            await self.flush()
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await runner.cleanup()
