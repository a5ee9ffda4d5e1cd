"""What a part's demo step receives: `dvcops demo` / `make demo` run the main job end to end.

Each part contributes one step (a function taking the DemoContext) in its own `cli.py`; the lab
(`lab.demo`) starts the province on loopback and runs the steps in order. The context lives in the
kernel so parts can type their step without importing the lab.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console

from dvcops.catalog import Catalog
from dvcops.state import StateDir


class DemoLab(Protocol):
    """What a step may use of the running lab: its spec (addresses, ports) and its control API."""

    @property
    def spec(self) -> Any: ...

    def action(self, name: str, **params: Any) -> dict[str, Any]: ...


@dataclass
class DemoContext:
    state: StateDir
    lab: DemoLab
    catalog_path: Path
    catalog: Catalog
    console: Console
    outputs: dict[str, str] = field(default_factory=dict)
    """What each step produced: label -> path or short value, printed at the end."""
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    """Run at the end of the demo, last added first (e.g. stop a server a step started for later steps)."""
    shared: dict[str, object] = field(default_factory=dict)
    """Values a step leaves for later steps, e.g. shared["survey_url"]."""
