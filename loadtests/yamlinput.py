"""Read a profile or thresholds YAML file and validate it, with `file:line: path: message` errors.

Both input files of a load test are operator-written YAML; a mistake must name the file, the line
and what is expected, never show a traceback (the kernel's yamlsource keeps the lines).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dvcops.yamlsource import SourceMap, YamlProblem, load_yaml, read_yaml, validation_problems
from loadtests.errors import LoadTestError

M = TypeVar("M", bound=BaseModel)


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


def read(path: Path) -> tuple[Any, SourceMap]:
    """Plain data and its source map; LoadTestError if the file is missing or not YAML."""
    try:
        return read_yaml(path)
    except YamlProblem as p:
        raise LoadTestError(*p.lines) from None


def parse(text: str, filename: str) -> tuple[Any, SourceMap]:
    try:
        return load_yaml(text, filename)
    except YamlProblem as p:
        raise LoadTestError(*p.lines) from None


def problems(exc: ValidationError, smap: SourceMap, prefix: tuple[str | int, ...] = ()) -> list[str]:
    """One line per pydantic error, pointing at the YAML line of the offending value."""
    return [line for _, line in validation_problems(exc, smap, prefix)]


def validate(model: type[M], data: Any, smap: SourceMap) -> M:
    if not isinstance(data, dict):
        raise LoadTestError(f"{smap.filename}:1: (top): expected a mapping")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise LoadTestError(*problems(exc, smap)) from None
