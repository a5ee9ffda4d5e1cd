"""`dvcops loadtest run|show|profiles|thresholds`: thin over loadtests.runner (Locust runs in a subprocess)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from dvcops.cli.common import CatalogOpt, JsonOpt, StateOpt, console, make_console, state_dir
from dvcops.durations import format_duration, parse_duration
from loadtests.errors import LoadTestError
from loadtests.profiles import load_profile
from loadtests.profiles import shipped as shipped_profiles
from loadtests.progress import Progress
from loadtests.runner import RunOptions, RunResult, run
from loadtests.thresholds import load_thresholds
from loadtests.verdict import VERDICT_FILE, Verdict, summary_lines

if TYPE_CHECKING:
    from dvcops.demo import DemoContext

app = typer.Typer(help="Load tests: Locust users, k6-style thresholds, a pass/fail verdict (exit 0/1/2).",
                  no_args_is_help=True)


def _say(text: str, style: str | None = None) -> None:
    """One verdict line, never wrapped (people grep these lines and paste them into records)."""
    console.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def _print_verdict(v: Verdict, run_dir: Path) -> None:
    lines = summary_lines(v)
    _say(lines[0], {"pass": "bold green", "fail": "bold red"}.get(v.verdict, "bold yellow"))
    for line in lines[1:]:
        _say(line)
    for e in v.errors[:3]:
        _say(f"  error: {e}")
    if v.workers:
        _say(f"Workers: {len(v.workers)} ({', '.join(str(w.requests) for w in v.workers)} requests)")
    _say(f"Run directory: {run_dir} ({VERDICT_FILE}, report.html, locust_stats.csv)")


PROGRESS_EVERY = "10s"
"""How often a plain progress line is printed when the output is not a terminal (a CI log)."""


@contextmanager
def progress_display(out: Console, title: str, every: float) -> Iterator[Callable[[Progress], None]]:
    """A status line redrawn with each progress (about once a second) on a terminal; otherwise one plain
    line each time the run passes another `every` seconds."""
    if out.is_terminal:
        with out.status(f"{title}...") as status:
            yield lambda p: status.update(f"{title}: {p.line()}")
        return
    next_at = [every]

    def plain(p: Progress) -> None:
        if p.elapsed_s >= next_at[0]:
            out.print(f"Tiến độ / progress {p.line()}", markup=False, highlight=False, soft_wrap=True)
            next_at[0] = (p.elapsed_s // every + 1) * every

    yield plain


@app.command("run")
def run_cmd(
    catalog: CatalogOpt,
    profile: Annotated[str, typer.Option("--profile", "-p", help="smoke|normal|peak|soak|spike or a YAML file")]
    = "smoke",
    locustfile: Annotated[list[Path] | None, typer.Option(
        "--locustfile", "-f", help="Your own locustfile or a directory of them (repeatable): its User classes "
        "run instead of the built-in users, under the same profile, scope and thresholds")] = None,
    thresholds: Annotated[str | None, typer.Option(help="default|peak or a thresholds YAML file (k6 syntax)")] = None,
    host: Annotated[str | None, typer.Option("--host", "-H", help="Portal URL (must be in the catalogue's scope)")]
    = None,
    service: Annotated[list[str] | None, typer.Option(help="E-service id to submit dossiers to (repeatable; "
                                                            "default: every level 3/4 service)")] = None,
    survey: Annotated[str | None, typer.Option(help="Survey API base URL for the rating user (in scope)")] = None,
    workers: Annotated[int, typer.Option(help="Local worker processes (a master and N workers)")] = 0,
    master: Annotated[bool, typer.Option("--master", help="Be the master for workers on other machines")] = False,
    worker: Annotated[bool, typer.Option("--worker", help="Be a worker of a master elsewhere")] = False,
    master_host: Annotated[str, typer.Option(help="--worker: the master's address")] = "127.0.0.1",
    master_port: Annotated[int | None, typer.Option(help="Master port (default 5557; a free one for --workers)")]
    = None,
    master_bind_host: Annotated[str, typer.Option(help="Address the master listens on")] = "127.0.0.1",
    expect_workers: Annotated[int, typer.Option(help="--master: workers to wait for")] = 1,
    expect_workers_wait: Annotated[str, typer.Option(help="How long to wait for workers, e.g. 60s")] = "60s",
    out: Annotated[Path | None, typer.Option(help="Run directory (default: <state>/loadtests/runs/<id>)")] = None,
    progress_every: Annotated[str, typer.Option(help="When the output is not a terminal: a progress line this "
                                                     "often")] = PROGRESS_EVERY,
    state: StateOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a load test; exit 0 when every threshold is met, 1 when any is missed, 2 on bad input or an
    unreachable or out-of-scope target (refused before any request)."""
    if master and worker:
        raise LoadTestError("--master and --worker exclude each other")
    if master and workers:
        raise LoadTestError("--master waits for remote workers: use --expect-workers, not --workers")
    wait = _seconds("--expect-workers-wait", expect_workers_wait)
    every = _seconds("--progress-every", progress_every)
    if every < 1:
        raise LoadTestError(f"--progress-every {progress_every}: expected at least 1s")
    opts = RunOptions(catalog=catalog, profile=profile, thresholds=thresholds, host=host, services=service or [],
                      survey=survey, mode="master" if master else "worker" if worker else "local", workers=workers,
                      master_host=master_host, master_port=master_port, master_bind_host=master_bind_host,
                      expect_workers=expect_workers, expect_workers_wait=wait, out=out, state=state_dir(state),
                      locustfiles=locustfile or [])
    what = "worker" if worker else f"profile {profile}" + (f", {len(opts.locustfiles)} locustfile(s)"
                                                           if opts.locustfiles else "")
    out_console = make_console(stderr=True) if as_json else console  # --json: stdout holds only the verdict
    with progress_display(out_console, f"Load test ({what})", every) as show_progress:
        opts.on_progress = show_progress
        result = run(opts)
    _report(result, as_json)
    raise typer.Exit(result.exit_code)


def _seconds(option: str, text: str) -> float:
    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        raise LoadTestError(f"{option}: {exc}") from None


def _report(result: RunResult, as_json: bool) -> None:
    if result.verdict is None:
        console.print(f"worker finished (exit {result.exit_code}); log: {result.run_dir / 'locust.log'}")
    elif as_json:
        print(result.verdict.model_dump_json(indent=2))
    else:
        _print_verdict(result.verdict, result.run_dir)


@app.command()
def show(run_dir: Annotated[Path, typer.Argument(help="A run directory (holds verdict.json)")],
         as_json: JsonOpt = False) -> None:
    """Print a finished run's verdict; exit with its code."""
    if not (run_dir / VERDICT_FILE).exists():
        raise LoadTestError(f"{run_dir}: no {VERDICT_FILE} here: expected a load-test run directory")
    v = Verdict.read(run_dir)
    if as_json:
        print(v.model_dump_json(indent=2))
    else:
        _print_verdict(v, run_dir)
    raise typer.Exit(v.exit_code)


@app.command()
def profiles(as_json: JsonOpt = False) -> None:
    """The profiles that ship with dvcops."""
    rows = []
    for name in shipped_profiles():
        p = load_profile(name)
        rows.append({"name": name, "users": p.peak_users, "duration": format_duration(p.total_duration),
                     "stages": len(p.plan_stages), "arrival_rate": p.arrival_rate, "max_requests": p.request_cap,
                     "description": p.description})
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("profile", "peak users", "duration", "stages", "target req/s", "request cap", "description")
    for r in rows:
        table.add_row(str(r["name"]), str(r["users"]), str(r["duration"]), str(r["stages"]),
                      str(r["arrival_rate"] or "—"), str(r["max_requests"]), str(r["description"]))
    console.print(table)


@app.command("thresholds")
def thresholds_cmd(file: Annotated[str, typer.Argument(help="default|peak or a thresholds YAML file")],
                   as_json: JsonOpt = False) -> None:
    """Validate a thresholds file and list what it asks (exit 2 naming file and line when malformed)."""
    found = load_thresholds(file)
    if as_json:
        print(json.dumps([{"key": t.key, "metric": t.metric, "name": t.name, "expression": t.expression,
                           "abort_on_fail": t.abort_on_fail, "delay_abort_eval_s": t.delay_abort_eval,
                           "source": t.source} for t in found], ensure_ascii=False, indent=2))
        return
    for t in found:
        abort = f" (abortOnFail after {t.delay_abort_eval:g}s)" if t.abort_on_fail else ""
        _say(f"{t.key}: {t.expression}{abort}")


def demo_step(ctx: DemoContext) -> None:
    """Demo: a 20-second smoke profile against the lab (and the survey, when the survey step started it)."""
    survey = ctx.shared.get("survey_url")
    opts = RunOptions(catalog=ctx.catalog_path, profile="smoke",
                      services=[s.id for s in ctx.catalog.services if s.id in ("dang-ky-kinh-doanh",
                                                                                 "giay-phep-xay-dung")],
                      survey=str(survey) if survey else None, state=ctx.state)
    ctx.console.print("Smoke load test: 6 users for 20 s on the lab portal and e-services"
                      + (f" and the survey at {survey}" if survey else " (no survey running: rating user off)"))
    try:
        with ctx.console.status("Load test running..."):
            result = run(opts)
    except LoadTestError as exc:
        ctx.console.print(f"load test could not run: {exc.lines[0]}", markup=False)
        return
    assert result.verdict is not None
    for line in summary_lines(result.verdict):
        ctx.console.print(line, markup=False, highlight=False, soft_wrap=True)
    ctx.outputs["Load test (smoke) run"] = str(result.run_dir)
    ctx.outputs["Load test verdict"] = f"{result.verdict.verdict} — {result.run_dir / VERDICT_FILE}"
