"""`dvcops demo` / `make demo`: the main job end to end on embedded defaults.

Each part contributes one step (a function taking the DemoContext); the steps run in order against
the lab, and the demo ends by printing where every output is. Parts register their step in STEPS
as "module:function" so this module imports no part until the demo runs it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from dvcops.catalog import Catalog, load_catalog
from dvcops.lab import Lab, LabSpec
from dvcops.state import StateDir


@dataclass
class DemoContext:
    state: StateDir
    lab: Lab
    catalog_path: Path
    catalog: Catalog
    console: Console
    outputs: dict[str, str] = field(default_factory=dict)
    """What each step produced: label -> path or short value, printed at the end."""
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    """Run at the end of the demo, last added first (e.g. stop a server a step started for later steps)."""
    shared: dict[str, object] = field(default_factory=dict)
    """Values a step leaves for later steps, e.g. shared["survey_url"]."""


STEPS: list[tuple[str, str]] = [
    ("Catalogue", "dvcops.cli.catalog:demo_step"),
    ("Probes", "dvcops.cli.probe:demo_step"),
    ("Playbooks", "dvcops.cli.provision:demo_step"),
    ("Survey", "dvcops.cli.survey:demo_step"),
    ("Load test", "dvcops.cli.loadtest:demo_step"),
    ("Drills", "dvcops.cli.drill:demo_step"),
    ("DoIC report", "dvcops.cli.report:demo_step"),  # last: it reads what every other step wrote
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
