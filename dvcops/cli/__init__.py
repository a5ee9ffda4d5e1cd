"""The `dvcops` command: one thin shell; each part's commands live in that part's `cli.py`.

Sub-commands are loaded when they are called (click's lazy-group pattern): `dvcops report` does not
import nmap, Locust, ansible-runner or FastAPI, so every command starts quickly. Errors a user can
cause (DvcopsError) become one line per problem on stderr and exit code 2.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

import typer
from typer.core import TyperGroup
from typer.main import get_install_completion_arguments

if TYPE_CHECKING:  # typer >= 0.29 carries its own click; TyperGroup's methods take its types
    from typer._click.core import Command, Context

from dvcops.errors import DvcopsError

COMMANDS: dict[str, tuple[str, str]] = {
    "catalog": ("dvcops.cli.catalog", "app"),
    "lab": ("lab.cli", "app"),
    "dc": ("lab.dc.cli", "app"),
    "probe": ("probes.cli", "app"),
    "alerts": ("probes.alerts.cli", "app"),
    "status-page": ("probes.cli", "status_page"),
    "survey": ("survey.cli", "app"),
    "dossiers": ("dossiers.cli", "app"),
    "loadtest": ("loadtests.cli", "app"),
    "drill": ("drills.cli", "app"),
    "inventory": ("playbooks.cli", "inventory"),
    "provision": ("playbooks.cli", "provision"),
    "report": ("report.cli", "report"),
    "demo": ("lab.demo", "demo"),
}
"""name -> (module, attribute): a Typer sub-app, or a function that is one command. Named as strings
and imported on use, so the kernel imports no part (the import-linter contract in pyproject.toml)."""

HELP = "Operations toolkit for a province's online public services (dịch vụ công trực tuyến)."


class LazyGroup(TyperGroup):
    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr = COMMANDS[cmd_name]
        target = getattr(importlib.import_module(module), attr)
        if not isinstance(target, typer.Typer):
            single = typer.Typer(add_completion=False)
            single.command(name=cmd_name)(target)
            target = single
        command = typer.main.get_command(target)
        command.name = cmd_name
        return command


def _completion_options() -> list[typer.core.click.Parameter]:  # type: ignore[name-defined]
    """`--install-completion` and `--show-completion` (bash, zsh, fish, PowerShell), as a typer.Typer app adds
    them; getting them also registers Typer's shell classes, which answer `_DVCOPS_COMPLETE=complete_bash`.
    Completion walks the lazy group: sub-command names from COMMANDS, options from the part's app."""
    install, show = get_install_completion_arguments()
    return [install, show]


cli = LazyGroup(name="dvcops", help=HELP, no_args_is_help=True, params=_completion_options())


def main() -> None:
    try:
        cli.main(prog_name="dvcops")
    except DvcopsError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        sys.exit(2)
