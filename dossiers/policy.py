"""The dossier policy (policy.yml): code formats, indicator formulas, targets and point scales, by version.

The version in force at a period's end computes that period's indicators; an import classifies codes with
the version in force on its day. Every formula names its legal source and says whether it was checked
against the official text (`verified`).
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dossiers.counters import COUNTERS
from dossiers.errors import DossierError
from dvcops.yamlsource import load_model

POLICY_FILE = Path(__file__).with_name("policy.yml")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    vi: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class Source(_Model):
    ref: str
    verified: bool


class CodeFormat(_Model):
    id: str
    name: str
    pattern: str
    """A regular expression over the upper-cased code; its first group, if any, is a YYMMDD date."""
    source: str
    verified: bool

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"{v!r} is not a regular expression: {exc}") from None
        return v


class Target(_Model):
    catalogue: Literal["online_rate", "full_online_rate"] | None = None
    """The year's target from the catalogue's `targets` (the province's plan)."""
    green_at: Annotated[float, Field(ge=0, le=1)] | None = None
    amber_gap: Annotated[float, Field(ge=0, le=1)] = 0.10

    @model_validator(mode="after")
    def _one(self) -> Target:
        if (self.catalogue is None) == (self.green_at is None):
            raise ValueError("give either catalogue (a catalogue target) or green_at (a fixed threshold)")
        return self


class Points(_Model):
    max: Annotated[float, Field(gt=0)]
    full_at: Annotated[float, Field(gt=0, le=1)]
    verified: bool

    def of(self, value: float | None) -> float | None:
        """`max` at or above `full_at`, proportional below it."""
        return None if value is None else round(self.max * min(1.0, value / self.full_at), 2)


def _counter(name: str) -> str:
    if name.lstrip("-") not in COUNTERS:
        raise ValueError(f"{name!r} is not a counter: expected one of {', '.join(COUNTERS)}")
    return name


Counter = Annotated[str, Field(min_length=1)]


class Indicator(_Model):
    name: Text
    numerator: list[Counter]
    """Counters summed (a leading '-' subtracts)."""
    denominator: Counter
    target: Target
    points: Points | None = None
    source: str
    verified: bool
    note: str = ""

    @field_validator("numerator")
    @classmethod
    def _numerator(cls, v: list[str]) -> list[str]:
        return [_counter(n) for n in v]

    @field_validator("denominator")
    @classmethod
    def _denominator(cls, v: str) -> str:
        if v.startswith("-"):
            raise ValueError(f"{v!r}: the denominator is one counter, not subtracted")
        return _counter(v)

    def formula(self) -> str:
        terms = " ".join((f"− {n[1:]}" if n.startswith("-") else f"+ {n}") for n in self.numerator).removeprefix("+ ")
        return f"({terms}) / {self.denominator}"


class PolicyVersion(_Model):
    version: str
    effective: date
    sources: dict[str, Source]
    code_formats: list[CodeFormat]
    indicators: dict[str, Indicator]
    unhappy_ratings: list[str]

    @model_validator(mode="after")
    def _sources_named(self) -> PolicyVersion:
        for key, ind in self.indicators.items():
            if ind.source not in self.sources:
                raise ValueError(f"indicators.{key}.source: {ind.source!r} is not one of sources "
                                 f"({', '.join(self.sources)})")
        return self

    def source_of(self, indicator: str) -> Source:
        return self.sources[self.indicators[indicator].source]


class PolicyFile(_Model):
    versions: Annotated[list[PolicyVersion], Field(min_length=1)]


@cache
def load_policy(path: Path = POLICY_FILE) -> tuple[PolicyVersion, ...]:
    """Every version, oldest first; DossierError with `file:line: path: message` per problem."""
    parsed = load_model(path, PolicyFile, DossierError)
    return tuple(sorted(parsed.versions, key=lambda v: v.effective))


def policy_for(day: date, path: Path = POLICY_FILE) -> PolicyVersion:
    """The newest version in force on `day` (the oldest one if `day` precedes them all)."""
    versions = load_policy(path)
    current = versions[0]
    for v in versions:
        if v.effective <= day:
            current = v
    return current
