"""`dvcops report`: the DoIC report for one period."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dvcops.catalog import load_catalog
from dvcops.cli.common import CatalogOpt, StateOpt, console, state_dir
from dvcops.errors import DvcopsError

if TYPE_CHECKING:
    from dvcops.demo import DemoContext
    from report import ReportInputs

PeriodOpt = Annotated[str, typer.Option("--period", "-p", help="2025-06 | 2025-Q2 | 2025-H1 | 2025")]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="html | json | md")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Write here (default: the state dir's reports/)")]
LangOpt = Annotated[str, typer.Option("--lang", help="vi | en")]
SourceOpt = Annotated[str, typer.Option("--uptime-source", help="state | prometheus")]
UrlOpt = Annotated[str | None, typer.Option("--url", help="Prometheus base URL for --uptime-source prometheus")]
SurveyDbOpt = Annotated[str | None, typer.Option(
    "--survey-db", help="Survey database URL (default: $DVCOPS_SURVEY_DATABASE_URL or SQLite in the state dir)")]
OnlineRateOpt = Annotated[float | None, typer.Option(
    "--online-rate", help="An online-application rate (0-1) typed in: overrides the dossiers' figure, and the report "
    "says so")]
DossiersDbOpt = Annotated[str | None, typer.Option(
    "--dossiers-db", help="Dossiers database URL (default: $DVCOPS_DOSSIERS_DATABASE_URL or SQLite in the state dir)")]
ReferenceOpt = Annotated[Path | None, typer.Option(
    "--reference", help="The national portal's published figures for the period (YAML): the report shows the "
    "difference per indicator", show_default=False)]


def write_report(catalog_path: Path, period: str, fmt: str, out: Path | None, lang: str, inputs: ReportInputs) -> Path:
    """Build, render and write one report; the parts are imported here, not when the CLI starts."""
    from report import build_report, render

    if fmt not in ("html", "json", "md"):
        raise DvcopsError(f"--format {fmt!r}: expected html, json or md")
    if inputs.online_rate is not None and not 0 <= inputs.online_rate <= 1:
        raise DvcopsError(f"--online-rate {inputs.online_rate}: expected a fraction from 0 to 1 (e.g. 0.63)")
    catalog = load_catalog(catalog_path)
    report = build_report(catalog, period, inputs, lang=lang)
    text = render(report, fmt)
    if out is None:
        out = inputs.state.folder("reports") / f"doic-{catalog.province.code}-{report.meta.period}-{lang}.{fmt}"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def report(catalog: CatalogOpt, period: PeriodOpt, fmt: FormatOpt = "html", out: OutOpt = None,
           lang: LangOpt = "vi", uptime_source: SourceOpt = "state", url: UrlOpt = None,
           survey_db: SurveyDbOpt = None, online_rate: OnlineRateOpt = None, dossiers_db: DossiersDbOpt = None,
           reference: ReferenceOpt = None, state: StateOpt = None) -> None:
    """Write the periodic report of availability, satisfaction, security and roadmap for the reviewer."""
    from report import ReportInputs

    inputs = ReportInputs(state=state_dir(state), uptime_source=uptime_source, prometheus_url=url,
                          survey_database_url=survey_db, online_rate=online_rate, dossiers_database_url=dossiers_db,
                          reference=reference)
    path = write_report(catalog, period, fmt, out, lang, inputs)
    console.print(f"report written: {path}")


def demo_step(ctx: DemoContext) -> None:
    """Demo: the report for the current month, from what the earlier steps wrote into the state dir."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from report import ReportInputs

    month = datetime.now(ZoneInfo(ctx.catalog.province.timezone)).strftime("%Y-%m")
    inputs = ReportInputs(state=ctx.state)
    for fmt in ("html", "json"):
        path = write_report(ctx.catalog_path, month, fmt, None, "vi", inputs)
        ctx.outputs[f"DoIC report ({fmt})"] = str(path)
    en = write_report(ctx.catalog_path, month, "html", None, "en", inputs)
    ctx.outputs["DoIC report (English)"] = str(en)
    ctx.console.print(f"report for {month}: {ctx.outputs['DoIC report (html)']}")
