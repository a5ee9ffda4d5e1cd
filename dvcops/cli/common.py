"""Options and helpers every CLI module shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dvcops.catalog import Catalog, load_catalog
from dvcops.state import StateDir

console = Console()

CatalogOpt = Annotated[Path, typer.Option("--catalog", "-c", help="Province catalogue (YAML)", show_default=False)]
StateOpt = Annotated[
    Path | None,
    typer.Option("--state", help="State directory (default: $DVCOPS_STATE or ./.dvcops)", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def state_dir(state: Path | None) -> StateDir:
    return StateDir(state)


def catalog_from(path: Path) -> Catalog:
    return load_catalog(path)
