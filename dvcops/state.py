"""The state directory: where every part writes its results and the report reads them."""

from __future__ import annotations

from pathlib import Path

from dvcops.settings import get_settings


class StateDir:
    """A state directory (DVCOPS_STATE, default ./.dvcops) with one sub-folder per part."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else get_settings().state
        self.root = self.root.resolve()

    def path(self, *parts: str, mkdir: bool = True) -> Path:
        """A path inside the state dir; the parent folder is created unless mkdir is false."""
        p = self.root.joinpath(*parts)
        if mkdir:
            p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def folder(self, *parts: str) -> Path:
        p = self.root.joinpath(*parts)
        p.mkdir(parents=True, exist_ok=True)
        return p

    def __repr__(self) -> str:
        return f"StateDir({str(self.root)!r})"
