"""`dvcops lab up|down|status|action`."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from dvcops.cli.common import JsonOpt, StateOpt, console, state_dir
from lab import Lab, LabSpec

app = typer.Typer(help="The local lab: the province on loopback addresses.", no_args_is_help=True)


Prefix = Annotated[str, typer.Option(help="Loopback prefix: hosts are <prefix>.1, .2, ...")]


@app.command()
def up(state: StateOpt = None, prefix: Prefix = "127.0.10", as_json: JsonOpt = False) -> None:
    """Start the lab in the background and write lab.yml into the state directory."""
    lab = Lab(state_dir(state), LabSpec(prefix=prefix))
    st = lab.up()
    if as_json:
        print(json.dumps(st, ensure_ascii=False, indent=2, default=str))
        return
    console.print(f"lab running (pid {st['pid']}), catalogue: {st['catalog']}")
    for listener in st.get("listeners", []):
        console.print(f"  listening {listener}")


@app.command()
def down(state: StateOpt = None, as_json: JsonOpt = False) -> None:
    """Stop exactly what `lab up` started."""
    stopped = Lab(state_dir(state)).down()
    if as_json:
        print(json.dumps({"stopped": bool(stopped)}))
        return
    console.print("lab stopped" if stopped else "lab was not running")


@app.command()
def status(state: StateOpt = None, as_json: JsonOpt = False) -> None:
    """Say whether the lab runs and what it listens on; exit 1 when it does not run."""
    st = Lab(state_dir(state)).status()
    if as_json:
        print(json.dumps(st, indent=2))
    else:
        console.print(f"lab {'running, pid ' + str(st['pid']) if st['running'] else 'not running'}")
        for listener in st.get("listeners", []):
            console.print(f"  listening {listener}")
    raise typer.Exit(0 if st["running"] else 1)


@app.command()
def action(name: Annotated[str, typer.Argument(help="open-port | close-port | cert | deface | restore")],
           host: Annotated[str, typer.Option(help="Lab host name, e.g. lab-portal")],
           port: Annotated[int | None, typer.Option(help="Port for open-port/close-port")] = None,
           kind: Annotated[str | None, typer.Option(help="Certificate kind for cert: valid|expiring|expired")] = None,
           state: StateOpt = None, as_json: JsonOpt = False) -> None:
    """Act on the running lab (what drill scenarios automate)."""
    params: dict[str, object] = {"host": host}
    if port is not None:
        params["port"] = port
    if kind is not None:
        params["kind"] = kind
    result = Lab(state_dir(state)).action(name, **params)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return
    console.print(result)
