"""`dvcops dossiers import|stats|export`: the one-stop system's dossiers in, the service indicators out."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from dvcops.catalog import load_catalog
from dvcops.cli.common import CatalogOpt, JsonOpt, StateOpt, console
from dvcops.formatting import fmt_number, fmt_percent
from dvcops.periods import Period

if TYPE_CHECKING:
    from dossiers.db import DossierDatabase
    from dossiers.indicators import DossierIndicators, Slice
    from dvcops.demo import DemoContext

app = typer.Typer(help="Dossiers (hồ sơ): import the one-stop system's export; the Decision 766 indicators.",
                  no_args_is_help=True)
DbOpt = Annotated[str | None, typer.Option(
    "--db", help="Database URL (default: $DVCOPS_DOSSIERS_DATABASE_URL or SQLite in the state dir)",
    show_default=False)]
PeriodOpt = Annotated[str, typer.Option("--period", "-p", help="2025, 2025-06, 2025-Q2 or 2025-H1")]


def _open(db: str | None, state: Path | None, migrated: bool = True) -> DossierDatabase:
    from dossiers.db import open_database

    return open_database(url=db, state=state, migrated=migrated)


@app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="The export: CSV (UTF-8, BOM or not) or NDJSON", show_default=False)],
    catalog: CatalogOpt, db: DbOpt = None, as_json: JsonOpt = False, state: StateOpt = None,
) -> None:
    """Check every row, then store the file all or nothing (exit 2 listing every bad row); re-imports update."""
    from dossiers.importer import import_file

    cat = load_catalog(catalog)
    with _open(db, state, migrated=False) as database:
        result = import_file(database, cat, file)
    if as_json:
        print(json.dumps({**vars(result), "legacy": result.legacy}, ensure_ascii=False, indent=2))
        return
    formats = ", ".join(f"{fmt_number(n, 0, 'en')} {k}" for k, n in result.formats.items()) or "none"
    console.print(f"imported {result.file}: {fmt_number(result.rows, 0, 'en')} dossiers "
                  f"({fmt_number(result.inserted, 0, 'en')} new, {fmt_number(result.updated, 0, 'en')} updated) in "
                  f"{result.seconds:.1f} s; codes: {formats} (policy {result.policy_version})")


@app.command("stats")
def stats_command(
    catalog: CatalogOpt, period: PeriodOpt, db: DbOpt = None, as_json: JsonOpt = False, state: StateOpt = None,
    lang: Annotated[str, typer.Option("--lang", help="vi | en")] = "vi",
) -> None:
    """Indicators per province, agency and service, as of the period's end (or now while it runs)."""
    from dossiers.indicators import compute

    cat = load_catalog(catalog)
    p = Period.parse(period, cat.province.timezone)
    with _open(db, state) as database:
        figures = compute(database, cat, p, as_of=min(p.end, datetime.now(UTC)))
    if as_json:
        print(figures.model_dump_json(indent=2))
    else:
        print_indicators(figures, {a.id: a.name for a in cat.agencies}, lang)


def _row(name: str, s: Slice, lang: str) -> list[str]:
    c, ind = s.counts, s.indicators

    def pct(key: str) -> str:
        v = ind.get(key)
        return fmt_percent(v.value if v else None, 1, lang)

    return [name, fmt_number(c["received"], 0, lang), pct("online_rate"), pct("full_online_rate"),
            fmt_number(c["returned"], 0, lang), pct("on_time_rate"), fmt_number(c["overdue_open"], 0, lang),
            pct("satisfaction_766"), fmt_number(c["legacy_codes"], 0, lang)]


def print_indicators(f: DossierIndicators, agency_names: dict[str, str], lang: str = "vi", out: Console = console
                     ) -> None:
    table = Table(title=f"Dossiers {f.period} (as of {f.as_of:%Y-%m-%d %H:%M %z}, policy {f.policy_version})",
                  title_justify="left")
    for col in ("", "received", "online", "fully online", "returned", "on time", "overdue open", "766 satisf.",
                "legacy codes"):
        table.add_column(col, justify="left" if not col else "right")
    table.add_row(*_row("Province", f.province, lang), style="bold")
    for agency_id, s in f.agencies.items():
        table.add_row(*_row(agency_names.get(agency_id, agency_id), s, lang))
    out.print(table)
    unverified = [k for k, d in f.definitions.items() if not d.verified]
    if unverified:
        out.print(f"not yet checked against the official text: {', '.join(unverified)} (see policy.yml)")


@app.command("export")
def export_command(
    catalog: CatalogOpt, period: PeriodOpt,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="CSV file (default: standard output)")] = None,
    which: Annotated[str, typer.Option("--which", help="returned | received (in the period)")] = "returned",
    db: DbOpt = None, state: StateOpt = None,
) -> None:
    """Dossiers returned (or received) in the period, as CSV in the import's columns (e.g. for
    `dvcops survey invite --from-dossiers FILE`)."""
    from dossiers import export
    from dossiers.errors import DossierError

    if which not in ("returned", "received"):
        raise DossierError(f"--which {which!r}: expected returned or received")
    cat = load_catalog(catalog)
    p = Period.parse(period, cat.province.timezone)
    with _open(db, state) as database:
        lines = export.rows(database, p, as_of=min(p.end, datetime.now(UTC)), which=which,  # type: ignore[arg-type]
                            tz=cat.province.timezone)
        if out is None:
            n = export.write_csv(sys.stdout, lines)
        else:
            with out.open("w", encoding="utf-8-sig", newline="") as f:
                n = export.write_csv(f, lines)
            console.print(f"{n} dossiers written to {out}", highlight=False)


def demo_step(ctx: DemoContext) -> None:
    """Demo: a month of generated dossiers for the lab's services, imported, then the indicators."""
    from dossiers.db import open_database
    from dossiers.demo import write_demo_export
    from dossiers.importer import import_file
    from dossiers.indicators import compute

    path = write_demo_export(ctx.catalog, ctx.state.path("dossiers", "demo-export.csv"))
    with open_database(state=ctx.state) as database:
        result = import_file(database, ctx.catalog, path)
        month = Period.parse(datetime.now(UTC).astimezone().strftime("%Y-%m"), ctx.catalog.province.timezone)
        figures = compute(database, ctx.catalog, month, as_of=min(month.end, datetime.now(UTC)))
    ctx.console.print(f"imported {result.rows} dossiers ({result.legacy} with legacy codes) from {path}")
    print_indicators(figures, {a.id: a.name for a in ctx.catalog.agencies}, out=ctx.console)
    ctx.outputs["Dossier export (generated)"] = str(path)
