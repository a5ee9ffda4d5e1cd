"""`dvcops catalog check|show`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dvcops.catalog import LEVELS, Catalog, load_catalog
from dvcops.catalog_import import draft_yaml, import_blackbox
from dvcops.cli.common import JsonOpt, console
from dvcops.errors import DvcopsError

if TYPE_CHECKING:
    from dvcops.demo import DemoContext

app = typer.Typer(help="Validate and summarise a province catalogue.", no_args_is_help=True)
FileArg = Annotated[Path, typer.Argument(help="Catalogue YAML file", show_default=False)]


@app.command()
def check(file: FileArg, as_json: JsonOpt = False) -> None:
    """Validate FILE: exit 0 when valid, 2 with one line per problem (on stderr, with or without --json)."""
    cat = load_catalog(file)
    n_endpoints = sum(len(s.endpoints) for s in cat.services)
    if as_json:
        print(json.dumps({"file": str(file), "ok": True, "agencies": len(cat.agencies),
                          "services": len(cat.services), "endpoints": n_endpoints, "hosts": len(cat.hosts)},
                         ensure_ascii=False, indent=2))
        return
    console.print(f"{file}: ok — {len(cat.agencies)} agencies, {len(cat.services)} services, "
                  f"{n_endpoints} endpoints, {len(cat.hosts)} hosts")
    drafts = [s.id for s in cat.services if s.draft]
    if drafts:
        console.print(f"{file}: {len(drafts)} services are imported drafts (draft: true) still to be named and owned "
                      f"by a person: {', '.join(drafts[:5])}{' …' if len(drafts) > 5 else ''}", soft_wrap=True)


@app.command("import-blackbox")
def import_blackbox_cmd(
    prometheus: Annotated[Path, typer.Option(help="prometheus.yml with blackbox /probe jobs", show_default=False)],
    blackbox: Annotated[Path, typer.Option(help="blackbox_exporter's modules file", show_default=False)],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the draft here (not over a file)")] = None,
) -> None:
    """Turn an existing Prometheus + blackbox_exporter target list into a catalogue draft (services flagged
    draft: true, to be named by a person)."""
    draft = import_blackbox(prometheus, blackbox)
    text = draft_yaml(draft)
    if out is None:
        print(text, end="")
        return
    if out.exists():
        raise DvcopsError(f"--out {out}: already exists; the draft is never written over a file")
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}: {len(draft.services)} draft services, {len(draft.notes)} notes to read")


def summary(cat: Catalog) -> dict[str, object]:
    roles: Counter[str] = Counter(r for h in cat.hosts for r in h.roles)
    return {
        "province": cat.province.name,
        "reviewer": cat.province.reviewer,
        "agencies": dict(Counter(a.kind for a in cat.agencies)),
        "services_per_level": {lv: n for lv in LEVELS if (n := sum(s.level == lv for s in cat.services))},
        "endpoints": sum(len(s.endpoints) for s in cat.services),
        "hosts_per_zone": dict(Counter(h.zone for h in cat.hosts)),
        "hosts_per_role": dict(roles),
    }


def print_summary(cat: Catalog) -> None:
    s = summary(cat)
    console.print(f"[bold]{cat.province.name}[/] ({cat.province.code}) — reviewer: {cat.province.reviewer}")
    for title, key in (("Agencies by kind", "agencies"), ("Services per delivery level", "services_per_level"),
                       ("Hosts per zone", "hosts_per_zone"), ("Hosts per role", "hosts_per_role")):
        table = Table(title=title, title_justify="left")
        table.add_column("")
        table.add_column("count", justify="right")
        data = s[key]
        assert isinstance(data, dict)
        for k, v in data.items():
            table.add_row(str(k), str(v))
        console.print(table)


@app.command()
def show(file: FileArg, as_json: JsonOpt = False) -> None:
    """Summarise FILE (agencies, services per level, hosts per zone and role), or print it normalised."""
    cat = load_catalog(file)
    if as_json:
        print(json.dumps(cat.to_data(), ensure_ascii=False, indent=2))
    else:
        print_summary(cat)


def demo_step(ctx: DemoContext) -> None:
    """Demo: validate the lab catalogue and the Hà Giang example, and summarise the lab province."""
    example = Path(__file__).resolve().parents[2] / "examples" / "ha-giang.yml"
    if example.exists():
        cat = load_catalog(example)
        ctx.console.print(f"{example.name}: ok — {len(cat.services)} services, {len(cat.hosts)} hosts")
    ctx.console.print(f"{ctx.catalog_path.name}: ok — {len(ctx.catalog.services)} services")
    print_summary(ctx.catalog)
