"""Where a load test's YAML inputs come from: a shipped profile or thresholds file by bare name, or a path.

Both are operator-written YAML read through the kernel's dvcops.yamlsource, so a mistake names the
file, the line and what is expected, never shows a traceback.
"""

from __future__ import annotations

from pathlib import Path

from loadtests.errors import LoadTestError


def shipped(folder: Path) -> list[str]:
    """Names of the YAML files that ship in `folder` (profiles, thresholds)."""
    return sorted(p.stem for p in folder.glob("*.yml"))


def shipped_or_path(name_or_path: str | Path, folder: Path, what: str, noun: str) -> Path:
    """A shipped file by bare name (e.g. `smoke`), else the path as given; an unknown bare name is a
    one-line error listing what ships."""
    path = Path(name_or_path)
    if path.suffix or path.exists():
        return path
    names = shipped(folder)
    if str(name_or_path) not in names:
        raise LoadTestError(f"{what} {str(name_or_path)!r}: no such {noun}: expected one of "
                            f"{', '.join(names)} or a path to a {what} YAML file")
    return folder / f"{name_or_path}.yml"
