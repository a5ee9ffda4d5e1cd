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
from dvcops.catalog import Catalog, load_catalog
from dvcops.errors import DvcopsError
from probes.blackbox import Modules
from probes.blackbox import probe as blackbox_probe
from probes.engine import Prober
from probes.errors import ProbeError
from probes.history import History
from probes.journeys import JourneyMetrics, JourneyResult, JourneyRunner, JourneyTarget, journey_state, journey_targets
from probes.logs import Transitions
from probes.metrics import ProbeMetrics
from probes.models import ProbeResult
from probes.placement import placed_targets
from probes.settings import ProbeSettings
from probes.targets import Target

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
        self.settings = settings
        self.prober = Prober(placed_targets(catalog, settings), settings)
        self.metrics = ProbeMetrics(self.prober.targets)
        self.history = history
        self.pending: list[ProbeResult] = []
        self.transitions = Transitions()
        self.stop = asyncio.Event()
        self.init_journeys(catalog)

    def reload(self) -> bool:
        """Load the catalogue again; on any problem keep the current one and log one line."""
        try:
            catalog = load_catalog(self.catalog_path)
            targets = placed_targets(catalog, self.settings)
            self.prober.replace_targets(targets)
            self.reload_journeys(catalog)
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
        await self.flush_journeys()
        if self.history is None or not self.pending:
            return
        batch, self.pending = self.pending, []
        await asyncio.to_thread(self.history.record, batch)

    # ---------------------------------------------------------------- locations and journeys (issue 19)

    def init_journeys(self, catalog: Catalog) -> None:
        self.journeys = JourneyRunner(journey_targets(catalog, self.settings),
                                      lambda t, ok: journey_state(t, ok, self.prober.canary_up))
        self.journey_metrics = JourneyMetrics(self.journeys.targets)
        self.journey_pending: list[JourneyResult] = []

    def reload_journeys(self, catalog: Catalog) -> None:
        self.journeys.targets = journey_targets(catalog, self.settings)
        self.journey_metrics.set_targets(self.journeys.targets)

    def on_journey(self, target: JourneyTarget, result: JourneyResult) -> None:
        self.journey_metrics.observe(target, result)
        self.journey_pending.append(result)
        if not result.success:
            log.info("journey %s/%s failed at step %s: %s", result.service, result.journey, result.failed_step,
                     result.error)

    async def flush_journeys(self) -> None:
        if self.history is None or not self.journey_pending:
            return
        batch, self.journey_pending = self.journey_pending, []
        await asyncio.to_thread(self.history.record_journeys, batch)

    def location_exposition(self) -> bytes:
        """Series about this prober as a vantage point: its canary (1 when it has none), location and shard."""
        loc = f'location="{self.settings.location}"' if self.settings.location else ""
        info = ",".join(x for x in (loc, f'shard="{self.settings.shard}"' if self.settings.shard else "") if x)
        return ("# HELP dvcops_probe_canary_success Whether this prober's connectivity canary answers (1 without one)\n"
                "# TYPE dvcops_probe_canary_success gauge\n"
                f"dvcops_probe_canary_success{{{loc}}} {1 if self.prober.canary_up else 0}\n"
                "# HELP dvcops_probe_location_info The prober's location and shard\n"
                "# TYPE dvcops_probe_location_info gauge\n"
                f"dvcops_probe_location_info{{{info}}} 1\n").encode() + self.journey_metrics.exposition().encode()

    async def _writer(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), timeout=1.0)
            await self.flush()

    def app(self) -> web.Application:
        app = web.Application()

        async def metrics(_: web.Request) -> web.Response:
            return web.Response(body=self.metrics.exposition() + self.location_exposition(),
                                headers={"Content-Type": CONTENT_TYPE})

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
        journeys = asyncio.create_task(self.journeys.run(self.on_journey, self.stop))
        try:
            await self.prober.run(self.on_results, self.stop, duration)
        finally:
            self.stop.set()
            await writer
            await journeys
            await self.flush()
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            await runner.cleanup()
