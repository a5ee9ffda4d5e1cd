"""Exercise scenarios (YAML, in the spirit of Atomic Red Team tests and Caldera adversaries).

A scenario is a list of injects. Each inject has a time offset from the start of the run, what the
red side does, the detection and response expected from the blue side with target times, and
optionally an automated lab action (open a port, swap a certificate, deface the portal) plus the
actions that undo it when the exercise ends. `dvcops drill run --scenario F` performs the injects
at their offsets; the blue team logs detection and response with `dvcops drill log`.

The three province scenarios shipped in `drills/scenarios/` run fully in the lab:
`thay-doi-giao-dien` (portal defacement), `lo-cong-csdl` (an exposed database port) and
`chung-chi-het-han` (an expired certificate on an e-service).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from drills.errors import DrillError
from dvcops.durations import format_duration, parse_duration
from dvcops.yamlsource import load_model

SCENARIO_DIR = Path(__file__).with_name("scenarios")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, ser_json_timedelta="float")


def _slug(v: Any) -> str:
    if not isinstance(v, str) or not _SLUG.match(v):
        raise ValueError(f"{v!r} is not an id: use lower-case letters, digits and '-'")
    return v


def _offset(v: Any) -> timedelta:
    td = parse_duration(v)
    if td.total_seconds() < 0:
        raise ValueError(f"{v!r}: an offset cannot be negative")
    return td


def _positive(v: Any) -> timedelta:
    td = parse_duration(v)
    if td.total_seconds() <= 0:
        raise ValueError(f"{v!r}: a duration must be positive")
    return td


Slug = Annotated[str, BeforeValidator(_slug)]
Offset = Annotated[timedelta, BeforeValidator(_offset)]
Duration = Annotated[timedelta, BeforeValidator(_positive)]


class LabAction(_Model):
    """One call to the lab control API (`Lab.action`)."""

    action: Literal["open-port", "close-port", "cert", "deface", "restore"]
    host: str
    """A catalogue host name (the lab's host names, e.g. lab-db)."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    banner: str | None = None
    cert: Literal["valid", "expiring", "expired"] | None = None

    @model_validator(mode="after")
    def _params(self) -> LabAction:
        if self.action in ("open-port", "close-port") and self.port is None:
            raise ValueError(f"{self.action} needs a port")
        if self.action == "cert" and self.cert is None:
            raise ValueError("cert needs `cert: valid | expiring | expired`")
        return self

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"host": self.host}
        if self.port is not None:
            out["port"] = self.port
        if self.banner is not None:
            out["banner"] = self.banner
        if self.cert is not None:
            out["kind"] = self.cert
        return out

    def describe(self) -> str:
        extra = f":{self.port}" if self.port else (f" ({self.cert})" if self.cert else "")
        return f"{self.action} {self.host}{extra}"


class FindingMatch(_Model):
    """The finding the drill's own checks should raise once the inject is in place."""

    check: Literal["ports", "tls", "headers", "exposure", "content"]
    host: str
    subject_contains: str = ""


class Expect(_Model):
    detection: str
    """What the blue side should notice, and how."""
    response: str
    """What the blue side should do about it."""
    detect_within: Duration
    respond_within: Duration
    """Measured from the detection."""
    finding: FindingMatch | None = None


class Inject(_Model):
    id: Slug
    at: Offset
    title: str
    title_en: str | None = None
    red: str
    """What the red side does."""
    expect: Expect
    action: LabAction | None = None
    cleanup: list[LabAction] = Field(default_factory=list)
    points: Annotated[int, Field(ge=1, le=1000)] = 100
    """Half for a detection within `detect_within`, half for a response within `respond_within`."""


class Technique(_Model):
    attack_id: str
    name: str


class Scenario(_Model):
    version: Literal[1]
    id: Slug
    name: str
    name_en: str | None = None
    description: str = ""
    technique: Technique | None = None
    targets: list[str] = Field(default_factory=list)
    """Catalogue hosts the scenario is about: they must be in scope (the run covers them)."""
    injects: Annotated[list[Inject], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique(self) -> Scenario:
        seen: set[str] = set()
        for inj in self.injects:
            if inj.id in seen:
                raise ValueError(f"inject id {inj.id!r} is used twice")
            seen.add(inj.id)
        return self

    @property
    def duration(self) -> timedelta:
        """Offset of the last inject: the run lasts at least this long."""
        return max(i.at for i in self.injects)

    def ordered(self) -> list[Inject]:
        return sorted(self.injects, key=lambda i: i.at)

    def inject(self, inject_id: str) -> Inject:
        for i in self.injects:
            if i.id == inject_id:
                return i
        raise DrillError(f"scenario {self.id}: no inject {inject_id!r} (injects: "
                         f"{', '.join(i.id for i in self.injects)})")

    def hosts(self) -> list[str]:
        """Every host the scenario touches: its targets and the hosts of its lab actions."""
        names = list(self.targets)
        for inj in self.injects:
            for act in ([inj.action] if inj.action else []) + inj.cleanup:
                if act.host not in names:
                    names.append(act.host)
        return names


def shipped() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yml"))


def load_scenario(ref: Path | str) -> Scenario:
    """A scenario file, or the name of a shipped one (e.g. `lo-cong-csdl`)."""
    path = Path(ref)
    if not path.exists() and (SCENARIO_DIR / f"{ref}.yml").exists():
        path = SCENARIO_DIR / f"{ref}.yml"
    if not path.exists():
        raise DrillError(f"scenario {str(ref)!r}: no such file, and not a shipped scenario ({', '.join(shipped())})")
    return load_model(path, Scenario, DrillError, "scenario")


def scenario_from_json(text: str) -> Scenario:
    return Scenario.model_validate_json(text)


__all__ = ["Inject", "LabAction", "Scenario", "format_duration", "load_scenario", "shipped"]
