"""Options and helpers every CLI module shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.align import AlignMethod
from rich.console import Console
from rich.rule import Rule
from rich.style import Style
from rich.text import Text

from dvcops.catalog import Catalog, load_catalog
from dvcops.state import StateDir

LOG_WIDTH = 10_000
"""Width of the console when stdout is not a terminal: wide enough that no table row or line is ever broken."""


class LogConsole(Console):
    """The console for a pipe or a log file: nothing wraps (a table is as wide as its content, a long line stays
    one line, so grep and log readers see whole rows); only rules keep a terminal's 80 columns."""

    def __init__(self, stderr: bool = False) -> None:
        super().__init__(stderr=stderr, width=LOG_WIDTH, soft_wrap=True)

    def rule(self, title: str | Text = "", *, characters: str = "─", style: str | Style = "rule.line",
             align: AlignMethod = "center") -> None:
        self.print(Rule(title=title, characters=characters, style=style, align=align), width=80)


def make_console(stderr: bool = False, soft_wrap: bool = False) -> Console:
    """Rich's usual console on a terminal; a LogConsole when the output goes to a pipe or a file."""
    terminal = Console(stderr=stderr, soft_wrap=soft_wrap)
    return terminal if terminal.is_terminal else LogConsole(stderr=stderr)


console = make_console()

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
