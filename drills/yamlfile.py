"""Load a drills YAML file (RoE, scenario) into a pydantic model, with `file:line: path: message` errors."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from drills.errors import DrillError
from dvcops.yamlsource import SourceMap, YamlProblem, read_yaml

M = TypeVar("M", bound=BaseModel)


def nfc(value: Any) -> Any:
    """NFC-normalise every string, so Vietnamese typed on different keyboards compares equal."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc(v) for v in value]
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    return value


def problems(exc: ValidationError, smap: SourceMap) -> list[str]:
    out: list[tuple[int, str]] = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p and p.endswith("]")))
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}" if loc else "unknown key"
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "literal_error":
            msg = f"{err['input']!r} is not allowed: expected {err['msg'].removeprefix('Input should be ')}"
        elif kind == "value_error":
            msg = err["msg"].removeprefix("Value error, ")
        else:
            msg = f"{err.get('input')!r}: {err['msg']}"
        out.append((smap.line(loc), smap.error(loc, msg)))
    return [line for _, line in sorted(out, key=lambda p: p[0])]


def load_model(path: Path | str, model: type[M], what: str) -> M:
    """Read YAML at `path` into `model`; every problem becomes one DrillError line."""
    path = Path(path)
    try:
        data, smap = read_yaml(path)
    except YamlProblem as p:
        raise DrillError(*p.lines) from None
    if not isinstance(data, dict):
        raise DrillError(f"{path}:1: (top): expected a mapping: this is not a {what} file")
    try:
        return model.model_validate(nfc(data))
    except ValidationError as exc:
        raise DrillError(*problems(exc, smap)) from None
