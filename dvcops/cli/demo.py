"""`dvcops demo`."""

from __future__ import annotations

from typing import Annotated

import typer

from dvcops.cli.common import StateOpt, console, state_dir
from dvcops.demo import run_demo

KeepLab = Annotated[bool, typer.Option("--keep-lab", help="Leave the lab running afterwards")]


def demo(state: StateOpt = None, keep_lab: KeepLab = False) -> None:
    """Run the main job end to end against the local lab and print where every output is."""
    run_demo(state_dir(state), console, keep_lab=keep_lab)
