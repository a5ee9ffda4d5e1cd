"""`dvcops catalog check|show`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dvcops.catalog import LEVELS, Catalog, load_catalog
from dvcops.cli.common import JsonOpt, console

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
