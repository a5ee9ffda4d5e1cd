"""`dvcops probe once|serve|rules|uptime`: a thin layer over probes/ (engine, exporter, history, rules)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich import box
from rich.table import Table

from dvcops.catalog import Catalog
from dvcops.cli.common import CatalogOpt, JsonOpt, StateOpt, catalog_from, console, state_dir
from dvcops.durations import parse_duration
from dvcops.formatting import fmt_date, fmt_datetime, fmt_minutes, fmt_number, fmt_percent
from dvcops.i18n import LANGS, Messages
from dvcops.periods import Period
from probes.blackbox import Modules
from probes.engine import Prober
from probes.errors import ProbeError
from probes.exporter import Exporter
from probes.history import History, UptimeReport
from probes.logs import setup_logging
from probes.metrics import ProbeMetrics
from probes.models import ProbeResult
from probes.placement import check_location
from probes.promconfig import parse_pairs, prometheus_yaml
from probes.rules import DEFAULT_JOB, QUORUM_FOR, QUORUM_WARMUP, rules_yaml
from probes.settings import get_probe_settings
from probes.targets import targets_from

if TYPE_CHECKING:
    from dvcops.demo import DemoContext

app = typer.Typer(help="Probe the catalogue's endpoints: one cycle, an exporter, uptime per period, alert rules.",
                  no_args_is_help=True)

CanaryOpt = Annotated[str | None, typer.Option(
    help="Connectivity canary URL (tcp://, http(s)://, tls://, dns://); while it fails results are 'unknown'")]
ResolverOpt = Annotated[str | None, typer.Option(
    help="DNS resolver ADDRESS[:PORT] for endpoints that name none (default: the system's)")]
ConcurrencyOpt = Annotated[int | None, typer.Option(help="Probes in flight at once (default 1024)")]
RecordOpt = Annotated[bool, typer.Option("--record/--no-record", help="Write results to the history file")]
LocationOpt = Annotated[str | None, typer.Option(
    help="Where this prober stands (a catalogue location): the `location` label on every series")]
ShardOpt = Annotated[str | None, typer.Option(help="I/N: probe only shard I of N of the catalogue (e.g. 1/4)")]
EnvironmentOpt = Annotated[str | None, typer.Option(
    help="This prober's environment: journeys that write data run only where the catalogue allows them")]


TEXT = Messages({
    "results": ("Kết quả thăm dò", "Probe results"),
    "service": ("Dịch vụ", "Service"),
    "endpoint": ("Điểm cuối", "Endpoint"),
    "state": ("Trạng thái", "State"),
    "reason": ("Lý do", "Reason"),
    "cert": ("Chứng chỉ (ngày)", "Cert (days)"),
    "by_service": ("Theo dịch vụ", "By service"),
    "agency": ("Cơ quan", "Agency"),
    "met": ("Đạt", "Met"),
    "attempts": ("Lượt", "Probes"),
    "downtime": ("Gián đoạn", "Down"),
    "incidents": ("Sự cố", "Outages"),
    "by_agency": ("Theo cơ quan", "By agency"),
    "services_met": ("DV đạt SLO", "Met SLO"),
    "minutes": ("gián đoạn tính bằng phút", "downtime in minutes"),
    "source": ("nguồn", "source"),
    "ongoing": ("đang diễn ra", "ongoing"),
    "incident": ("sự cố", "incident"),
    "certificate": ("chứng chỉ", "certificate"),
    "expires": ("hết hạn", "expires"),
    "days": ("ngày", "days"),
    "locations": ("Điểm đo", "Locations"),
    "journeys": ("Quy trình (nhiều bước)", "Journeys (multi-step)"),
    "journey": ("Quy trình", "Journey"),
    "failed_step": ("Bước lỗi", "Failed step"),
    "quorum_note": ("theo đa số điểm đo (quorum): điểm đo mất kết nối không được tính",
                    "by quorum of locations: a location whose canary failed is not counted"),
})
"""The probe commands' table headings and words (Vietnamese first)."""
LangOpt = Annotated[str, typer.Option("--lang", help="vi (Vietnamese, default) or en")]


def _text(lang: str) -> dict[str, str]:
    if lang not in LANGS:
        raise ProbeError(f"--lang {lang!r}: expected vi or en")
    return TEXT.in_lang(lang)


def _ms(x: float | None, lang: str = "vi") -> str:
    return fmt_number(None if x is None else x * 1000, 0, lang)


def print_results(results: list[ProbeResult], lang: str = "vi") -> None:
    t = _text(lang)
    table = Table(title=t["results"], title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(t["service"], overflow="fold", min_width=10)
    table.add_column(t["endpoint"], overflow="fold", min_width=16)
    for col in (t["state"], "HTTP", "ms", t["reason"], t["cert"]):
        table.add_column(col, justify="left" if col in (t["state"], t["reason"]) else "right", no_wrap=True)
    now = datetime.now(UTC)
    for r in results:
        colour = {"up": "green", "down": "red", "unknown": "yellow", "maintenance": "blue"}[r.state]
        days = fmt_number((r.cert_expiry - now).total_seconds() / 86400, 1, lang) if r.cert_expiry else ""
        table.add_row(r.service, r.endpoint, f"[{colour}]{r.state}[/]", str(r.status_code or ""),
                      _ms(r.duration_seconds, lang), r.failure_reason or "", days)
    console.print(table)
    for r in results:
        if r.error:
            console.print(f"  ✗ {r.service} {r.endpoint}: {r.failure_reason}: {r.error}", soft_wrap=True)


def print_report(rep: UptimeReport, lang: str = "vi") -> None:
    t = _text(lang)
    console.print(f"[bold]Uptime {rep.period}[/] ({fmt_datetime(rep.start, lang)} → {fmt_datetime(rep.end, lang)}, "
                  f"{t['source']}: {rep.source})")
    table = Table(title=f"{t['by_service']} ({t['minutes']})", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(t["service"], overflow="fold", min_width=14)
    with_locations = any(r.locations is not None for r in rep.services)
    for col in ("Uptime", "SLO", t["met"], t["attempts"], t["downtime"], t["incidents"], "p95 ms",
                *([t["locations"]] if with_locations else [])):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rep.services:
        met = "—" if r.meets_slo is None else ("[green]✓[/]" if r.meets_slo else "[red]✗[/]")
        table.add_row(r.id, fmt_percent(r.uptime, 3, lang), fmt_percent(r.slo, 1, lang), met,
                      fmt_number(r.attempts, 0, lang), fmt_number(r.downtime_minutes, 1, lang), str(r.incidents),
                      _ms(r.p95_latency_seconds, lang),
                      *([str(r.locations) if r.locations is not None else "—"] if with_locations else []))
    console.print(table)
    if with_locations:
        console.print(f"  {t['quorum_note']}", soft_wrap=True)
    if rep.journeys:
        table = Table(title=t["journeys"], title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column(t["service"], overflow="fold", min_width=12)
        table.add_column(t["journey"], overflow="fold", min_width=10)
        for col in ("Uptime", t["attempts"], t["downtime"], t["incidents"]):
            table.add_column(col, justify="right", no_wrap=True)
        table.add_column(t["failed_step"], no_wrap=True)
        for r in rep.journeys:
            table.add_row(r.service or "", r.id, fmt_percent(r.uptime, 3, lang), fmt_number(r.attempts, 0, lang),
                          fmt_number(r.downtime_minutes, 1, lang), str(r.incidents), r.failed_step or "—")
        console.print(table)
    table = Table(title=t["by_agency"], title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column(t["agency"], overflow="fold", min_width=12)
    for col in ("Uptime", t["services_met"], t["downtime"], t["incidents"]):
        table.add_column(col, justify="right", no_wrap=True)
    for r in [*rep.agencies, rep.province]:
        table.add_row(r.name or r.id, fmt_percent(r.uptime, 3, lang), f"{r.services_meeting_slo}/{r.services}",
                      fmt_number(r.downtime_minutes, 1, lang), str(r.incidents))
    console.print(table)
    for inc in rep.incidents:
        end = t["ongoing"] if inc.ongoing or inc.end is None else fmt_datetime(inc.end, lang)
        console.print(f"  {t['incident']}: {inc.service} {fmt_datetime(inc.start, lang)} → {end} "
                      f"({fmt_minutes(inc.duration_minutes, lang)}, {inc.reason or '?'})", soft_wrap=True)
    for c in rep.certificates:
        console.print(f"  {t['certificate']}: {c.endpoint} {t['expires']} {fmt_date(c.expires_at, lang)} "
                      f"({fmt_number(c.days_left, 1, lang)} {t['days']})", soft_wrap=True)


@app.command()
def once(catalog: CatalogOpt, as_json: JsonOpt = False, state: StateOpt = None, record: RecordOpt = True,
         canary: CanaryOpt = None, resolver: ResolverOpt = None, concurrency: ConcurrencyOpt = None,
         lang: LangOpt = "vi") -> None:
    """Probe every endpoint once and print a table (or JSON). Exit 0 all up, 1 any down or unknown, 2 bad input."""
    _text(lang)
    cat = catalog_from(catalog)
    settings = get_probe_settings(canary=canary, resolver=resolver, concurrency=concurrency)
    results = asyncio.run(Prober(targets_from(cat), settings).cycle())
    if record:
        with History.in_state(state_dir(state), cat.province.timezone, raw_days=settings.raw_days,
                              hourly_days=settings.hourly_days) as history:
            history.record(results)
    if as_json:
        print(json.dumps([r.summary() for r in results], ensure_ascii=False, indent=2))
    else:
        print_results(results, lang)
    raise typer.Exit(0 if all(r.state in ("up", "maintenance") for r in results) else 1)


@app.command()
def serve(catalog: CatalogOpt,
          listen: Annotated[str, typer.Option(help="Address:port for /metrics")] = "127.0.0.1:9115",
          state: StateOpt = None, record: RecordOpt = True, canary: CanaryOpt = None, resolver: ResolverOpt = None,
          concurrency: ConcurrencyOpt = None,
          duration: Annotated[float | None, typer.Option(help="Stop after this many seconds")] = None,
          log_format: Annotated[str, typer.Option(help="text or json (one JSON object a line)")] = "text",
          blackbox_config: Annotated[Path | None, typer.Option(
              help="blackbox_exporter modules file for /probe?target=&module= (default: http_2xx, tcp_connect, "
                   "tls_connect)")] = None,
          location: LocationOpt = None, shard: ShardOpt = None, environment: EnvironmentOpt = None) -> None:
    """Probe on each endpoint's interval, serve /metrics (blackbox names), record history; SIGHUP reloads.
    Every endpoint's up→down and down→up is logged with the reason."""
    setup_logging(log_format)
    cat = catalog_from(catalog)
    modules = Modules.load(blackbox_config)
    settings = get_probe_settings(canary=canary, resolver=resolver, concurrency=concurrency, location=location,
                                  shard=shard, environment=environment)
    check_location(settings.location, cat)
    history = History.in_state(state_dir(state), cat.province.timezone, raw_days=settings.raw_days,
                               hourly_days=settings.hourly_days) if record else None

    async def main() -> None:
        await Exporter(catalog, settings, history, modules).serve(listen, duration)

    try:
        asyncio.run(main())
    finally:
        if history is not None:
            history.close()


@app.command()
def rules(catalog: CatalogOpt,
          out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout")] = None,
          quorum_for: Annotated[str, typer.Option(
              help="How long a quorum outage or one-location reachability problem lasts before alerting")] = QUORUM_FOR,
          quorum_warmup: Annotated[str, typer.Option(
              help="How long a location must have reported before it counts in the quorum")] = QUORUM_WARMUP,
          job: Annotated[str, typer.Option(help="The prober's scrape job in Prometheus")] = DEFAULT_JOB) -> None:
    """Prometheus recording rules and burn-rate alerts per service SLO, quorum of locations, certificate expiry."""
    for option, value in (("--quorum-for", quorum_for), ("--quorum-warmup", quorum_warmup)):
        try:
            parse_duration(value)
        except ValueError:
            raise ProbeError(f"{option} {value!r}: expected a duration such as 2m or 30s") from None
    text = rules_yaml(catalog_from(catalog), job=job, quorum_for=quorum_for, warmup=quorum_warmup)
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")


config_app = typer.Typer(help="Configuration for the engines around the probers.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("prometheus")
def config_prometheus(
        catalog: CatalogOpt,
        locations: Annotated[str | None, typer.Option(
            help="Probers to scrape: NAME=ADDRESS:PORT,… (shard I of a location listens on PORT + I - 1)")] = None,
        shards: Annotated[int, typer.Option(help="Shards per location (probers started with --shard I/N)")] = 1,
        federate: Annotated[str | None, typer.Option(
            help="Location Prometheus servers a central one federates: NAME=URL,…")] = None,
        rule_file: Annotated[list[str] | None, typer.Option(
            "--rules", help="Rule file(s) to load (from `dvcops probe rules`)")] = None,
        scrape_interval: Annotated[str, typer.Option(help="Scrape and rule evaluation interval")] = "15s",
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write here instead of stdout")] = None) -> None:
    """Prometheus scrape config for probers by location and shard (hashmod-checked), or federation for a central one."""
    cat = catalog_from(catalog)
    text = prometheus_yaml(
        cat, locations=parse_pairs(locations, "--locations", "ADDRESS:PORT") if locations is not None else None,
        shards=shards, federate=parse_pairs(federate, "--federate", "URL") if federate is not None else None,
        rules=rule_file, interval=scrape_interval)
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")


def _period(cat: Catalog, period: str | None, start: str | None, end: str | None) -> Period:
    tz = cat.province.timezone
    if period and (start or end):
        raise ProbeError("give either --period or --from/--to, not both")
    if period:
        return Period.parse(period, tz)
    if start or end:
        if not (start and end):
            raise ProbeError("--from and --to go together, e.g. --from 2025-06-01 --to 2025-06-15")
        return Period.between(start, end, tz)
    raise ProbeError("say which period: --period 2025-Q2 (or 2025, 2025-06, 2025-H1) or --from/--to")


@app.command()
def uptime(catalog: CatalogOpt,
           period: Annotated[str | None, typer.Option(help="2025, 2025-06, 2025-Q2 or 2025-H1")] = None,
           start: Annotated[str | None, typer.Option("--from", help="Start date/time (ISO)")] = None,
           end: Annotated[str | None, typer.Option("--to", help="End date/time (ISO, exclusive)")] = None,
           source: Annotated[str, typer.Option(help="sqlite (the state dir) or prometheus")] = "sqlite",
           url: Annotated[str | None, typer.Option(help="Prometheus URL for --source prometheus")] = None,
           cert_days: Annotated[float, typer.Option(help="List certificates expiring within this many days")] = 30,
           as_json: JsonOpt = False, state: StateOpt = None, lang: LangOpt = "vi") -> None:
    """Uptime vs SLO per service and agency for a period. Exit 0 all met, 1 any service below its SLO."""
    _text(lang)
    cat = catalog_from(catalog)
    p = _period(cat, period, start, end)
    history = _history(cat, source, url, state)
    with history:
        rep = history.report(p, cat, cert_days=cert_days)
    if as_json:
        print(rep.model_dump_json(indent=2))
    else:
        print_report(rep, lang)
    raise typer.Exit(1 if any(r.meets_slo is False for r in rep.services) else 0)


def status_page(
        catalog: CatalogOpt,
        out: Annotated[Path, typer.Option("--out", "-o", help="Folder the page is written to (served by nginx)")],
        source: Annotated[str, typer.Option(help="sqlite (the state dir) or prometheus")] = "sqlite",
        url: Annotated[str | None, typer.Option(help="Prometheus URL for --source prometheus")] = None,
        notes: Annotated[Path | None, typer.Option(
            help="Notes file (default: <state>/probes/status-notes.yml)")] = None,
        note: Annotated[str | None, typer.Option(help="Add a note (Vietnamese) before writing the page")] = None,
        note_en: Annotated[str | None, typer.Option(help="The note in English")] = None,
        service: Annotated[str | None, typer.Option(help="The service the note is about (default: all)")] = None,
        resolved: Annotated[bool, typer.Option(help="The note says the incident is over")] = False,
        state: StateOpt = None) -> None:
    """Write the public status page (Vietnamese index.html, English en.html): state now, 90 days, incidents,
    maintenance. Static, self-contained, replaced atomically; add a note with --note."""
    from probes.statuspage import NOTES_FILE, StatusNote, add_note, collect, load_notes, write_site

    cat = catalog_from(catalog)
    notes_path = notes or state_dir(state).path(*NOTES_FILE)
    if note is not None:
        add_note(notes_path, cat, StatusNote(at=datetime.now(ZoneInfo(cat.province.timezone)), text=note,
                                             text_en=note_en, service=service, resolved=resolved))
    elif note_en is not None or service is not None:
        raise ProbeError("--note-en and --service go with --note \"…\" (the Vietnamese text)")
    history = _history(cat, source, url, state)
    with history:
        data = collect(history, cat, datetime.now(ZoneInfo(cat.province.timezone)), load_notes(notes_path, cat))
    files = write_site(data, out)
    console.print(f"wrote {', '.join(str(f) for f in files)}")


def _history(cat: Catalog, source: str, url: str | None, state: Path | None) -> History:
    if source == "prometheus":
        if not url:
            raise ProbeError("--source prometheus needs --url, e.g. --url http://127.0.0.1:9090")
        return History.from_prometheus(url, cat.province.timezone)
    if source == "sqlite":
        return History.in_state(state_dir(state), cat.province.timezone)
    raise ProbeError(f"--source {source!r}: expected sqlite or prometheus")


def demo_step(ctx: DemoContext) -> None:
    """Demo: three probe cycles over the lab ~12 s apart, history in the state dir, today's uptime table."""
    cat = ctx.catalog
    settings = get_probe_settings()
    prober = Prober(targets_from(cat), settings)
    metrics = ProbeMetrics(prober.targets)
    folder = ctx.state.folder("probes")
    with History.in_state(ctx.state, cat.province.timezone) as history:
        results: list[ProbeResult] = []
        for n in range(3):
            if n:
                asyncio.run(asyncio.sleep(12))
            results = asyncio.run(prober.cycle())
            history.record(results)
            for target, result in zip(prober.targets, results, strict=True):
                metrics.observe(result, target)
            down = [r.service for r in results if r.state != "up"]
            ctx.console.print(f"cycle {n + 1}: {len(results)} endpoints, {len(results) - len(down)} up"
                              + (f"; not up: {', '.join(sorted(set(down)))}" if down else ""))
        print_results(results)
        today = datetime.now(ZoneInfo(cat.province.timezone)).date()
        rep = history.report(Period.between(today, today + timedelta(days=1), cat.province.timezone), cat)
        print_report(rep)
    (folder / "last-cycle.json").write_text(json.dumps([r.summary() for r in results], ensure_ascii=False, indent=2),
                                            encoding="utf-8")
    (folder / "metrics.prom").write_bytes(metrics.exposition())
    (folder / "rules.yml").write_text(rules_yaml(cat), encoding="utf-8")
    from probes.statuspage import collect, write_site

    with History.in_state(ctx.state, cat.province.timezone) as history:
        files = write_site(collect(history, cat, datetime.now(ZoneInfo(cat.province.timezone)), []),
                           ctx.state.folder("status-page"))
    index = next(f for f in files if f.name == "index.html")
    ctx.console.print(f"status page: {index}")
    ctx.outputs["Public status page (vi, en)"] = str(index)
    ctx.outputs["Probe history (SQLite)"] = str(ctx.state.path("probes", "history.sqlite"))
    ctx.outputs["Probe results, metrics, rules"] = str(folder)
    ctx.shared["probe_history"] = str(ctx.state.path("probes", "history.sqlite"))
