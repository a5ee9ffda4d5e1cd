"""Read a profile or thresholds YAML file and validate it, with `file:line: path: message` errors.

Both input files of a load test are operator-written YAML; a mistake must name the file, the line
and what is expected, never show a traceback (the kernel's yamlsource keeps the lines).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dvcops.yamlsource import SourceMap, YamlProblem, load_yaml, read_yaml
from loadtests.errors import LoadTestError

M = TypeVar("M", bound=BaseModel)


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
    out: list[tuple[int, str]] = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p and p.endswith("]")))
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}" if loc else "unknown key"
        elif kind == "missing":
            msg = "required field is missing"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if kind != "value_error" and not msg.startswith(repr(err.get("input"))):
                msg = f"{err.get('input')!r}: {msg}"
        out.append((smap.line(loc), smap.error(loc, msg)))
    return [line for _, line in sorted(out, key=lambda p: p[0])]


def validate(model: type[M], data: Any, smap: SourceMap) -> M:
    if not isinstance(data, dict):
        raise LoadTestError(f"{smap.filename}:1: (top): expected a mapping")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise LoadTestError(*problems(exc, smap)) from None
