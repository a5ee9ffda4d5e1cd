"""`dvcops demo` / `make demo`: the main job end to end on embedded defaults.

The lab starts the province on loopback, then each part's step runs against it in order. Parts
register their step in STEPS as "module:function", so nothing here imports a part until the demo
runs it; the demo ends by printing where every output is.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console

from dvcops.catalog import load_catalog
from dvcops.cli.common import StateOpt, console, state_dir
from dvcops.demo import DemoContext
from dvcops.state import StateDir
from lab.manager import Lab
from lab.spec import LabSpec

STEPS: list[tuple[str, str]] = [
    ("Catalogue", "dvcops.cli.catalog:demo_step"),
    ("Probes", "probes.cli:demo_step"),
    ("On-call", "probes.alerts.cli:demo_step"),
    ("Playbooks", "playbooks.cli:demo_step"),
    ("Survey", "survey.cli:demo_step"),
    ("Dossiers", "dossiers.cli:demo_step"),
    ("Load test", "loadtests.cli:demo_step"),
    ("Drills", "drills.cli:demo_step"),
    ("DC lab (real Debian hosts, root only)", "lab.dc.cli:demo_step"),
    ("DoIC report", "report.cli:demo_step"),  # last: it reads what every other step wrote
]


def _resolve(ref: str) -> Callable[[DemoContext], None]:
    module, _, func = ref.partition(":")
    step: Callable[[DemoContext], None] = getattr(importlib.import_module(module), func)
    return step


def run_demo(state: StateDir, console: Console, keep_lab: bool = False, prefix: str = "127.0.10") -> DemoContext:
    lab = Lab(state, LabSpec(prefix=prefix))
    console.rule("[bold]dvcops demo")
    console.print(f"State directory: {state.root}")
    console.print("Starting the lab (every host on its own loopback address)...")
    st = lab.up()
    console.print(f"lab running, pid {st['pid']}: {len(st.get('listeners', []))} listeners")
    ctx = DemoContext(state, lab, lab.catalog_path, load_catalog(lab.catalog_path), console)
    ctx.outputs["Lab catalogue"] = str(lab.catalog_path)
    try:
        for title, ref in STEPS:
            console.rule(title)
            _resolve(ref)(ctx)
    finally:
        for cleanup in reversed(ctx.cleanups):
            cleanup()
        if not keep_lab:
            lab.down()
            console.print("lab stopped")
    console.rule("Outputs")
    for label, where in ctx.outputs.items():
        console.print(f"{label}: {where}")
    return ctx


KeepLab = Annotated[bool, typer.Option("--keep-lab", help="Leave the lab running afterwards")]


def demo(state: StateOpt = None, keep_lab: KeepLab = False) -> None:
    """Run the main job end to end against the local lab and print where every output is."""
    run_demo(state_dir(state), console, keep_lab=keep_lab)
