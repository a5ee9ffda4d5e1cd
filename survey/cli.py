"""`dvcops survey serve|stats`: run the satisfaction survey; print its Decision 766 figures."""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from dvcops.cli.common import CatalogOpt, JsonOpt, StateOpt, console
from dvcops.periods import Period
from dvcops.system import stop_process, wait_until_answers

if TYPE_CHECKING:
    from dvcops.demo import DemoContext
    from survey.stats import Satisfaction

app = typer.Typer(help="The citizens' satisfaction survey (Decision 766 indicators).", no_args_is_help=True)


@app.command()
def serve(
    catalog: CatalogOpt,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes")] = 1,
    state: StateOpt = None,
) -> None:
    """Serve the citizen form, the JSON API (/api/v1, /docs), /metrics and /healthz.

    Settings come from DVCOPS_SURVEY_* (DATABASE_URL, HMAC_KEY, ADMIN_USER, ADMIN_PASSWORD,
    RATE_LIMIT_PER_MINUTE ...); the database is migrated before the server starts."""
    import uvicorn

    from survey.core.config import load_settings
    from survey.core.context import SurveyContext
    from survey.errors import SurveyError

    if state is not None:
        os.environ["DVCOPS_STATE"] = str(state.resolve())
    os.environ["DVCOPS_SURVEY_CATALOG"] = str(catalog.resolve())
    settings = load_settings()
    ctx = SurveyContext.open(settings)  # every input problem is a one-line error here, before listening
    ctx.close()
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise SurveyError(f"--host {host} --port {port}: cannot listen there: {os.strerror(exc.errno or 0)}") from None
    if workers > 1:
        metrics_dir = settings.state_dir.folder("survey", "prometheus")
        shutil.rmtree(metrics_dir)
        metrics_dir.mkdir()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    console.print(f"survey: http://{host}:{port}/  (API /api/v1, docs /docs) — database "
                  f"{settings.database().render_as_string(hide_password=True)}, admin "
                  f"{'on' if settings.admin_enabled else 'off (set DVCOPS_SURVEY_ADMIN_USER/PASSWORD)'}, "
                  f"{workers} worker(s)")
    # No access log: request lines carry dossier codes (/danh-gia/...?ma_ho_so=) and client addresses.
    uvicorn.run("survey.main:create_app", factory=True, host=host, port=port, workers=workers,
                access_log=False, server_header=False, log_level="info", timeout_graceful_shutdown=10)


@app.command("stats")
def stats_command(
    period: Annotated[str | None, typer.Option(help="2025, 2025-06, 2025-Q2 or 2025-H1 (default: all time)")] = None,
    agency: Annotated[str | None, typer.Option(help="Only this agency id")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service id")] = None,
    as_json: JsonOpt = False,
    state: StateOpt = None,
) -> None:
    """Print the satisfaction figures from the survey database (DVCOPS_SURVEY_DATABASE_URL or the state dir)."""
    from survey import stats

    chosen = Period.parse(period) if period else None
    db = stats.open_database(state=state)
    try:
        result = stats.satisfaction(db, chosen, agency=agency, service=service, comments=5)
    finally:
        db.close()
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
    else:
        print_satisfaction(result)


@app.command()
def invite(
    catalog: CatalogOpt,
    dossier: Annotated[str | None, typer.Option(help="One dossier code (with --service)")] = None,
    service: Annotated[str | None, typer.Option(help="Its service id")] = None,
    from_dossiers: Annotated[Path | None, typer.Option(
        "--from-dossiers", help="A dossier list as CSV (`dvcops dossiers export`): every dossier returned in "
        "--period gets a link", show_default=False)] = None,
    period: Annotated[str | None, typer.Option(help="With --from-dossiers: 2025-06, 2025-Q2 ...")] = None,
    days: Annotated[int, typer.Option(min=1, max=366, help="Days the link stays valid")] = 30,
    base_url: Annotated[str | None, typer.Option(
        help="The survey's public address (default: $DVCOPS_SURVEY_PUBLIC_URL)", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="CSV for the SMS gateway (default: stdout)")] = None,
    state: StateOpt = None,
) -> None:
    """Signed, expiring, single-use rating links for real dossiers (with DVCOPS_SURVEY_INVITATIONS=required,
    only these can be rated). Uses the survey's HMAC key (DVCOPS_SURVEY_HMAC_KEY, or the state dir's key file)."""
    from dvcops.catalog import load_catalog
    from survey import invite as invitations
    from survey.core.config import load_settings
    from survey.errors import SurveyError

    overrides: dict[str, Any] = {"state": state.resolve()} if state is not None else {}
    settings = load_settings(**overrides)
    url = base_url or settings.public_url
    if not url:
        raise SurveyError("no public address for the links: pass --base-url https://... or set "
                          "DVCOPS_SURVEY_PUBLIC_URL")
    if (dossier is None) == (from_dossiers is None):
        raise SurveyError("give either --dossier CODE --service ID, or --from-dossiers FILE --period P")
    cat = load_catalog(catalog)
    key = settings.key()
    if dossier is not None:
        if service is None:
            raise SurveyError("--dossier needs --service ID")
        one = invitations.invite(key, cat, dossier, service, url, days)
        if out is None:
            print(one.link)
            return
        made, skipped = [one], 0
    else:
        assert from_dossiers is not None
        if period is None:
            raise SurveyError("--from-dossiers needs --period (the dossiers returned in it are invited)")
        made, skipped = invitations.from_dossiers(key, cat, from_dossiers, Period.parse(period, cat.province.timezone),
                                                  url, days)
    if out is None:
        invitations.write_csv(sys.stdout, made)
    else:
        with out.open("w", encoding="utf-8", newline="") as f:
            invitations.write_csv(f, made)
        console.print(f"{len(made)} invitation(s) written to {out} ({skipped} row(s) not returned in the period)",
                      highlight=False)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def print_satisfaction(s: Satisfaction, out: Console = console) -> None:
    span = f"{s.first_day} → {s.last_day}" if s.first_day else "all time"
    out.print(f"[bold]Satisfaction[/] ({span}): {s.ratings} rated dossiers, {s.khong_hai_long} "
                  f"'không hài lòng' → ratio_766 {_pct(s.ratio_766)}, mean score {_score(s.mean_score)}/100")
    table = Table(title="Per agency", title_justify="left")
    for col in ("agency", "ratings", "không hài lòng", "ratio_766", "mean score"):
        table.add_column(col, justify="left" if col == "agency" else "right")
    for agency_id, b in s.by_agency.items():
        table.add_row(agency_id, str(b.ratings), str(b.khong_hai_long), _pct(b.ratio_766), _score(b.mean_score))
    out.print(table)
    factors = Table(title="Per SIPAS factor (answers)", title_justify="left")
    for col in ("factor", "answers", "không hài lòng", "mean score"):
        factors.add_column(col, justify="left" if col == "factor" else "right")
    for name, f in s.factors.items():
        factors.add_row(name, str(f.answers), str(f.khong_hai_long), _score(f.mean_score))
    out.print(factors)


# ---------------------------------------------------------------- demo

DEMO_RATINGS = 300


def demo_step(ctx: DemoContext) -> None:
    """Demo: start the survey on the lab-survey host, submit a few hundred ratings over the API, print the
    figures, export the CSV; leave the server running for the load-test step (stopped at the end)."""
    host, port = ctx.lab.spec.address("lab-survey"), ctx.lab.spec.survey_port
    base = f"http://{host}:{port}"
    password = secrets.token_urlsafe(24)  # this demo run's admin password: never printed or written
    env = {**os.environ, "DVCOPS_STATE": str(ctx.state.root), "DVCOPS_SURVEY_ADMIN_USER": "demo",
           "DVCOPS_SURVEY_ADMIN_PASSWORD": password,
           # one client address submits everything here (this step, then the load test): no throttling
           "DVCOPS_SURVEY_RATE_LIMIT_PER_MINUTE": "1000000"}
    env.pop("DVCOPS_SURVEY_DATABASE_URL", None)
    log_path = ctx.state.path("survey", "serve.log")
    with log_path.open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "dvcops", "survey", "serve", "--catalog", str(ctx.catalog_path),
                                 "--host", host, "--port", str(port)], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    ctx.cleanups.append(lambda: stop_process(proc))
    _wait_healthy(base, proc, log_path)
    ctx.console.print(f"survey serving at {base}/ (pid {proc.pid}, log {log_path})")
    with httpx.Client(base_url=base, timeout=10) as client:
        counts = _submit_demo_ratings(client)
        ctx.console.print(f"submitted {DEMO_RATINGS} ratings: " + ", ".join(f"{n}× {k}" for k, n in counts.items()))
        figures = client.get("/api/v1/stats").raise_for_status().json()
        csv_bytes = client.get("/api/v1/ratings.csv", auth=("demo", password)).raise_for_status().content
    from survey.stats import Satisfaction

    print_satisfaction(Satisfaction(**figures, comments=[]), ctx.console)
    stats_path = ctx.state.path("survey", "stats.json")
    stats_path.write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    csv_path = ctx.state.path("survey", "ratings.csv")
    csv_path.write_bytes(csv_bytes)
    ctx.shared["survey_url"] = base
    ctx.outputs["Survey form"] = f"{base}/danh-gia/dang-ky-kinh-doanh?ma_ho_so=H26-DEMO-0001"
    ctx.outputs["Survey API docs"] = f"{base}/docs"
    ctx.outputs["Survey figures (GET /api/v1/stats)"] = str(stats_path)
    ctx.outputs["Survey ratings (CSV for Excel)"] = str(csv_path)


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 30.0) -> None:
    from survey.errors import SurveyError

    if wait_until_answers(f"{base}/healthz", timeout, proc):
        return
    if proc.poll() is not None:
        raise SurveyError(f"the survey server exited with code {proc.returncode}: see {log_path}")
    stop_process(proc)
    raise SurveyError(f"the survey server did not answer /healthz within {timeout:.0f} s: see {log_path}")




def _submit_demo_ratings(client: httpx.Client) -> dict[str, int]:
    """A few hundred plausible ratings on both scales (seeded), then one duplicate and one bad rating."""
    services = [s["id"] for s in client.get("/api/v1/services").raise_for_status().json() if s["open"]]
    instruments = client.get("/api/v1/instruments").raise_for_status().json()
    rng = random.Random(766)
    run = secrets.token_hex(3).upper()
    comments = ["Cán bộ hướng dẫn tận tình.", "Thời gian chờ hơi lâu.", "Nộp hồ sơ trực tuyến rất tiện.",
                "Phải bổ sung giấy tờ hai lần.", "<b>Rất tốt</b> & nhanh"]
    counts: dict[str, int] = {}
    body: dict[str, Any] = {}
    for n in range(DEMO_RATINGS):
        ins = instruments[n % 2]
        # mostly satisfied, like published provincial figures; any "không hài lòng" answer marks the dossier
        weights = [70, 28, 1.5] if len(ins["levels"]) == 3 else [55, 30, 13, 1.5, 0.5]
        answers = {q["id"]: rng.choices([lv["id"] for lv in ins["levels"]], weights)[0] for q in ins["questions"]}
        body = {"service_id": services[n % len(services)], "dossier_code": f"H26-{date.today():%y%m%d}-{run}-{n:04d}",
                "instrument": ins["id"], "answers": answers, "channel": rng.choice(["web", "kiosk", "mobile"]),
                "comment": rng.choice(comments) if rng.random() < 0.2 else None}
        status = client.post("/api/v1/ratings", json=body).status_code
        counts[str(status)] = counts.get(str(status), 0) + 1
    for label, extra in (("duplicate", {}), ("unknown level", {"answers": {"tiep-can": "tuyet-voi"},
                                                               "dossier_code": f"H26-{run}-X"})):
        status = client.post("/api/v1/ratings", json={**body, **extra}).status_code
        counts[f"{status} ({label})"] = 1
    return counts
