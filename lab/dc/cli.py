"""`dvcops dc up|down|status|exec|provision|demo`: the DC lab of real Debian hosts (root only)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from dvcops.cli.common import CatalogOpt, JsonOpt, StateOpt, console, state_dir
from lab.dc.datacentre import DataCentre, dump
from lab.dc.demo import EXAMPLE
from lab.dc.hosts import DEFAULT_SUBNET

if TYPE_CHECKING:
    from dvcops.demo import DemoContext

app = typer.Typer(help="The DC lab: the province's data centre as real Debian hosts (systemd-nspawn), root only.",
                  no_args_is_help=True)

NameOpt = Annotated[str, typer.Option("--name", help="DC name (namespaces dvcops-NAME-*); several DCs may run")]
SubnetOpt = Annotated[str, typer.Option("--subnet", help="Private subnet every catalogue host address lies in")]


def _say(msg: str) -> None:
    console.print(msg)


@app.command()
def up(catalog: CatalogOpt, subnet: SubnetOpt = DEFAULT_SUBNET, name: NameOpt = "dc",
       boot_timeout: Annotated[float | None, typer.Option("--boot-timeout", help="Seconds to wait for the hosts "
                                                          "(default 60 + 4 per host)", show_default=False)] = None,
       as_json: JsonOpt = False, state: StateOpt = None) -> None:
    """Boot one real Debian host per catalogue host, each in its own network namespace on one bridge."""
    dc = DataCentre(state_dir(state), name)
    status = dc.up(catalog, subnet=subnet, boot_timeout=boot_timeout, say=(lambda _m: None) if as_json else _say)
    if as_json:
        print(dump(status))
        return
    console.print(status_table(status))
    console.print(f"DC {name} up in {status['up_seconds']} s; controller {status['controller']} in namespace "
                  f"{status['controller_namespace']}")
    console.print(f"converge it: dvcops dc provision --name {name}   (or: dvcops dc exec -- dvcops provision "
                  + " ".join(dc.provision_args()) + ")")


@app.command()
def down(name: NameOpt = "dc", state: StateOpt = None) -> None:
    """Remove exactly what `up` made (hosts, overlays, namespaces, veths, cgroups, settings); safe twice."""
    console.print(f"DC {name} removed" if DataCentre(state_dir(state), name).down() else f"DC {name} was not up")


def status_table(status: dict[str, object]) -> Table:
    table = Table(title=f"DC {status['name']} ({status.get('subnet', '')})", title_justify="left")
    for col in ("host", "address", "roles", "running", "systemd", "memory MiB"):
        table.add_column(col)
    for h in status["hosts"]:  # type: ignore[attr-defined]
        table.add_row(h["name"], h["address"], ", ".join(h["roles"]), "yes" if h["running"] else "NO", h["systemd"],
                      str(h["memory_mib"] or "—"))
    return table


@app.command()
def status(name: NameOpt = "dc", as_json: JsonOpt = False, state: StateOpt = None) -> None:
    """Hosts, addresses and systemd state; exit 1 when the DC is not (fully) up."""
    st = DataCentre(state_dir(state), name).status()
    if as_json:
        print(dump(st))
    elif not st["hosts"]:
        console.print(f"DC {name} is not up")
    else:
        console.print(status_table(st))
    raise typer.Exit(0 if st["up"] else 1)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec(ctx: typer.Context, name: NameOpt = "dc", state: StateOpt = None) -> None:
    """Run a command in the controller namespace: dvcops dc exec -- nmap -sT 10.77.0.11"""
    if not ctx.args:
        raise typer.BadParameter("give the command after --, e.g. dvcops dc exec -- ping -c1 10.77.0.11")
    argv = DataCentre(state_dir(state), name).exec_argv(list(ctx.args))
    sys.stdout.flush()
    os.execvp(argv[0], argv)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def provision(ctx: typer.Context, name: NameOpt = "dc", state: StateOpt = None) -> None:
    """`dvcops provision` from the controller over SSH with this DC's admin key, known_hosts, secrets and vars
    (extra options such as --check --diff --limit are passed on)."""
    dc = DataCentre(state_dir(state), name)
    env_state = ["--state", str(dc.state.root)]
    argv = dc.exec_argv([sys.executable, "-m", "dvcops", "provision", *dc.provision_args(), *env_state,
                         *ctx.args])
    sys.stdout.flush()
    os.execvp(argv[0], argv)


@app.command()
def demo(catalog: CatalogOpt = EXAMPLE, name: NameOpt = "dc",
         keep: Annotated[bool, typer.Option("--keep", help="Leave the DC up afterwards")] = False,
         state: StateOpt = None) -> None:
    """The whole toolkit against the DC: provision, probes, load test, survey, drills, Prometheus, DoIC report.
    Exit 0 when every check holds, 1 otherwise."""
    from lab.dc.demo import run_dc_demo

    outcome = run_dc_demo(state_dir(state), console, catalog, name, keep)
    raise typer.Exit(0 if outcome.ok else 1)


def demo_step(ctx: DemoContext) -> None:
    """Demo: the DC lab exercise (`dvcops dc demo`, its own state folder) when root; otherwise why it is skipped."""
    if os.geteuid() != 0:
        ctx.console.print("DC lab skipped: it boots real Debian hosts (systemd-nspawn, network namespaces, mounts), "
                          "which needs root; run `sudo dvcops dc demo` or `make demo` as root")
        return
    if shutil.which("systemd-nspawn") is None:
        ctx.console.print("DC lab skipped: systemd-nspawn is missing (apt-get install systemd-container)")
        return
    folder = ctx.state.folder("dc-demo")
    ctx.console.print(f"DC lab: `dvcops dc demo --name demo` with state {folder} (several minutes)")
    proc = subprocess.run([sys.executable, "-m", "dvcops", "dc", "demo", "--name", "demo", "--state", str(folder)],
                          timeout=3600)
    ctx.outputs["DC lab exercise"] = f"exit {proc.returncode} — {folder}"


@app.command()
def forward(maps: Annotated[list[str], typer.Option("--map", help="LOOPBACK:PORT=HOST:PORT, e.g. "
                                                     "127.0.0.1:8443=web-1:443 (repeatable)")],
            name: NameOpt = "dc",
            seconds: Annotated[float | None, typer.Option("--seconds", help="Stop after this long (default: Ctrl-C)",
                                                          show_default=False)] = None,
            state: StateOpt = None) -> None:
    """Expose DC ports on loopback addresses for a browser; connections to the DC leave from the controller."""
    import threading

    from lab.dc.demo import join_namespace
    from lab.dc.forward import Connector, parse_mapping, serve

    dc = DataCentre(state_dir(state), name)
    addresses = {h.name: h.address for h in dc.plan.hosts}
    mappings = [parse_mapping(m, addresses) for m in maps]
    connector = Connector(lambda: join_namespace(dc.controller_ns))
    connector.start()
    stop = threading.Event()
    for m in mappings:
        console.print(f"{m.listen}:{m.listen_port} → {m.host}:{m.port} (from {dc.plan.controller})")
    if seconds is not None:
        threading.Timer(seconds, stop.set).start()
    try:
        serve(mappings, connector, stop)
    except KeyboardInterrupt:
        stop.set()
