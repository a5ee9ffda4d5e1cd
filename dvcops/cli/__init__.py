"""The `dvcops` command: one thin Typer app; each part's commands live in their own module here.

Errors a user can cause (DvcopsError) become one line per problem on stderr and exit code 2.
"""

from __future__ import annotations

import sys

import typer

from dvcops.cli import catalog as catalog_cli
from dvcops.cli import demo as demo_cli
from dvcops.cli import drill as drill_cli
from dvcops.cli import lab as lab_cli
from dvcops.cli import loadtest as loadtest_cli
from dvcops.cli import probe as probe_cli
from dvcops.cli import provision as provision_cli
from dvcops.cli import report as report_cli
from dvcops.cli import survey as survey_cli
from dvcops.errors import DvcopsError

app = typer.Typer(
    name="dvcops",
    help="Operations toolkit for a province's online public services (dịch vụ công trực tuyến).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(catalog_cli.app, name="catalog")
app.add_typer(drill_cli.app, name="drill")
app.add_typer(lab_cli.app, name="lab")
app.add_typer(loadtest_cli.app, name="loadtest")
app.add_typer(probe_cli.app, name="probe")
app.add_typer(survey_cli.app, name="survey")
app.command("demo")(demo_cli.demo)
app.command("inventory")(provision_cli.inventory)
app.command("provision")(provision_cli.provision)
app.command("report")(report_cli.report)


def main() -> None:
    try:
        app()
    except DvcopsError as exc:
        for line in exc.lines:
            print(line, file=sys.stderr)
        sys.exit(2)
