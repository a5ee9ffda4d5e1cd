"""The DC lab's step of `make demo` says why it is skipped when it cannot run (not root, no nspawn)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from dvcops.demo import DemoContext
from dvcops.state import StateDir
from lab.dc import cli as dc_cli
from lab.demo import STEPS


def _context(tmp_path: Path) -> tuple[DemoContext, Console]:
    console = Console(record=True, width=200)
    ctx = DemoContext(state=StateDir(tmp_path), lab=None, catalog_path=tmp_path / "lab.yml",  # type: ignore[arg-type]
                      catalog=None, console=console)  # type: ignore[arg-type]
    return ctx, console


def test_the_step_is_in_the_demo_before_the_report() -> None:
    refs = [ref for _, ref in STEPS]
    assert refs.index("lab.dc.cli:demo_step") == len(refs) - 2 and refs[-1] == "report.cli:demo_step"


def test_not_root_says_why_and_boots_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dc_cli.os, "geteuid", lambda: 1000)
    ctx, console = _context(tmp_path)
    dc_cli.demo_step(ctx)
    said = console.export_text()
    assert "DC lab skipped: it boots real Debian hosts" in said and "needs root" in said
    assert not (tmp_path / "dc-demo").exists() and ctx.outputs == {}


def test_missing_nspawn_says_which_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dc_cli.os, "geteuid", lambda: 0)
    monkeypatch.setattr(dc_cli.shutil, "which", lambda _name: None)
    ctx, console = _context(tmp_path)
    dc_cli.demo_step(ctx)
    assert "apt-get install systemd-container" in console.export_text()
    assert ctx.outputs == {}
