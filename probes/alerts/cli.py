"""`dvcops alerts render|silences`: Alertmanager's configuration from the catalogue, and maintenance silences."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dvcops.cli.common import CatalogOpt, JsonOpt, catalog_from, console
from dvcops.durations import parse_duration
from dvcops.system import find_program
from probes.alerts.render import render as render_files
from probes.alerts.silences import sync
from probes.errors import ProbeError
from probes.rules import DEFAULT_JOB, NODE_JOB

if TYPE_CHECKING:
    from dvcops.demo import DemoContext

app = typer.Typer(help="On-call: Alertmanager routing from the catalogue's contacts; maintenance silences.",
                  no_args_is_help=True)


@app.command()
def render(catalog: CatalogOpt,
           out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write into", show_default=False)],
           job: Annotated[str, typer.Option(help="The prober's scrape job in Prometheus")] = DEFAULT_JOB,
           node_job: Annotated[str, typer.Option(help="node_exporter's scrape job (host down)")] = NODE_JOB,
           smtp_password_file: Annotated[str | None, typer.Option(
               help="Where Alertmanager reads the SMTP password (default /etc/prometheus/alertmanager-smtp-password)")]
           = None,
           time_scale: Annotated[float, typer.Option(hidden=True, help="Tests only: divide every window and wait")]
           = 1.0) -> None:
    """Write alertmanager.yml, the notification template and the rule file from the catalogue (made to pass
    amtool check-config and promtool check rules; run them where the files go)."""
    done = render_files(catalog_from(catalog), out, job=job, node_job=node_job, scale=time_scale,
                        smtp_password_file=smtp_password_file)
    for path in (done.config, done.template, done.rules):
        console.print(f"wrote {path}")


@app.command()
def silences(catalog: CatalogOpt,
             alertmanager: Annotated[str, typer.Option(help="Alertmanager URL, e.g. http://127.0.0.1:9093",
                                                       show_default=False)],
             horizon: Annotated[str, typer.Option(help="Silence windows starting within this long")] = "7d",
             as_json: JsonOpt = False) -> None:
    """Create (and refresh, without duplicates) a silence per maintenance window; expire ones no longer planned."""
    cat = catalog_from(catalog)
    try:
        ahead = parse_duration(horizon)
    except ValueError as exc:
        raise ProbeError(f"--horizon: {exc}") from None
    if ahead <= timedelta(0):
        raise ProbeError(f"--horizon {horizon!r}: expected a positive duration, e.g. 7d")
    result = sync(cat, alertmanager, horizon=ahead)
    if as_json:
        print(json.dumps({"created": result.created, "kept": result.kept, "expired": result.expired}))
    else:
        console.print(f"silences: {len(result.created)} created, {len(result.kept)} kept, "
                      f"{len(result.expired)} expired ({alertmanager})")


def demo_step(ctx: DemoContext) -> None:
    """Demo: the lab's Alertmanager configuration, template and rules, checked by amtool and promtool."""
    done = render_files(ctx.catalog, ctx.state.folder("alerts"))
    checks = (("amtool", ["check-config", str(done.config)]), ("promtool", ["check", "rules", str(done.rules)]))
    for tool, args in checks:
        program = find_program(tool)
        if program is None:
            ctx.console.print(f"{tool} is not installed: {done.config.parent} not checked")
            continue
        res = subprocess.run([str(program), *args], capture_output=True, text=True, timeout=60)
        verdict = "ok" if res.returncode == 0 else f"FAILED: {(res.stdout + res.stderr).strip()}"
        ctx.console.print(f"{tool} {' '.join(args[:-1])}: {verdict}")
    ctx.outputs["On-call (alertmanager.yml, template, rules)"] = str(done.config.parent)
