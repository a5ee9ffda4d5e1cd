"""Load a drills YAML file (RoE, scenario) into a pydantic model, with `file:line: path: message` errors."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from drills.errors import DrillError
from dvcops.yamlsource import SourceMap, YamlProblem, nfc, read_yaml, validation_problems

M = TypeVar("M", bound=BaseModel)


def problems(exc: ValidationError, smap: SourceMap) -> list[str]:
    return [line for _, line in validation_problems(exc, smap)]


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
