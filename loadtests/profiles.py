"""Load profiles: how many users, how fast they arrive, for how long, and what they do.

A profile is YAML (the shipped ones are in `loadtests/profiles/`: smoke, normal, peak, soak, spike).
It gives either `users` + `spawn_rate` + `duration` or k6-style `stages`, the mix of user types,
task weights by request name, think times and an optional target arrival rate. Every profile is
bounded in users, duration and requests (`max_requests`, with a default ceiling) so no run can
grow without end.
"""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from dvcops.durations import format_duration, parse_duration
from dvcops.yamlsource import parse_source, read_source, validate_model
from loadtests import yamlinput
from loadtests.errors import LoadTestError

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
MAX_USERS = 5000
MAX_DURATION = timedelta(hours=12)
MAX_REQUESTS = 50_000_000
DEFAULT_CEILING_RPS = 5000
"""Without `max_requests`, a run stops after 5,000 requests per second of planned duration."""

USER_TYPES = ("portal", "submit", "status", "rate")
"""portal: browse and search the portal; submit: submit dossiers; status: check a dossier's status;
rate: rate a service on the survey. Each is one FastHttpUser class in users.py."""
REQUEST_NAMES = {
    "portal": ("portal.home", "portal.search", "portal.service"),
    "submit": ("dossier.submit",),
    "status": ("dossier.status",),
    "rate": ("survey.rate",),
}
"""The tasks of each user type, named as their requests are (stable names thresholds can use)."""
USER_CLASS_NAMES = {"portal": "PortalVisitor", "submit": "DossierSubmitter", "status": "StatusChecker",
                    "rate": "SurveyRater"}
"""The Locust User class of each user type (in users.py; named here so the runner need not import Locust)."""


def _duration(v: Any) -> timedelta:
    try:
        td = parse_duration(v)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    if td.total_seconds() < 0:
        raise ValueError(f"{v!r}: a duration cannot be negative")
    return td


Duration = Annotated[timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(_Model):
    """One k6-style stage: move to `users` at `spawn_rate` users/s, and stay until `duration` is over."""

    duration: Duration
    users: Annotated[int, Field(ge=0, le=MAX_USERS)]
    spawn_rate: Annotated[float, Field(gt=0, le=1000)] | None = None


class ThinkTime(_Model):
    """Seconds a user waits between tasks, uniformly between min and max (a citizen reading a page)."""

    min: Duration = timedelta(0)
    max: Duration = timedelta(0)

    @model_validator(mode="after")
    def _ordered(self) -> ThinkTime:
        if self.max < self.min:
            raise ValueError(f"max {format_duration(self.max)} is less than min {format_duration(self.min)}")
        return self


class Profile(_Model):
    name: str
    description: str = ""
    users: Annotated[int, Field(ge=1, le=MAX_USERS)] | None = None
    spawn_rate: Annotated[float, Field(gt=0, le=1000)] | None = None
    duration: Duration | None = None
    stages: list[Stage] = Field(default_factory=list)
    mix: dict[str, Annotated[int, Field(ge=0, le=1000)]] = Field(
        default_factory=lambda: {"portal": 6, "submit": 2, "status": 3, "rate": 1})
    """Relative number of users of each type (portal, submit, status, rate)."""
    tasks: dict[str, Annotated[int, Field(ge=0, le=1000)]] = Field(default_factory=dict)
    """Task weights by request name within a user type (default 1 each), e.g. portal.search: 5."""
    think_time: ThinkTime = ThinkTime(min=timedelta(seconds=1), max=timedelta(seconds=3))
    arrival_rate: Annotated[float, Field(gt=0, le=100_000)] | None = None
    """Target requests per second for the whole run; users are paced to reach it (reported vs achieved)."""
    max_requests: Annotated[int, Field(ge=1, le=MAX_REQUESTS)] | None = None
    stop_timeout: Duration = timedelta(seconds=0)

    @field_validator("mix")
    @classmethod
    def _user_types(cls, v: dict[str, int]) -> dict[str, int]:
        for kind in v:
            if kind not in USER_TYPES:
                raise ValueError(f"unknown user type {kind!r}: expected {', '.join(USER_TYPES)}")
        return v

    @model_validator(mode="after")
    def _shape(self) -> Profile:
        simple = (self.users, self.duration)
        if self.stages and any(v is not None for v in (*simple, self.spawn_rate)):
            raise ValueError("give either users/spawn_rate/duration or stages, not both")
        if not self.stages and None in simple:
            raise ValueError("give users and duration (and spawn_rate), or a list of stages")
        if self.total_duration.total_seconds() <= 0:
            raise ValueError("the run must last longer than 0s")
        if self.total_duration > MAX_DURATION:
            raise ValueError(f"the run lasts {format_duration(self.total_duration)}: the limit is "
                             f"{format_duration(MAX_DURATION)}")
        if self.peak_users < 1:
            raise ValueError("no stage has any users")
        unknown = sorted(set(self.tasks) - {n for names in REQUEST_NAMES.values() for n in names})
        if unknown:
            known = ", ".join(n for names in REQUEST_NAMES.values() for n in names)
            raise ValueError(f"tasks: unknown request name {unknown[0]!r}: expected one of {known}")
        if not any(self.mix.values()):
            raise ValueError("mix: every user type has weight 0")
        return self

    @property
    def plan_stages(self) -> list[Stage]:
        """The profile as stages (a simple profile is one stage)."""
        if self.stages:
            return list(self.stages)
        assert self.users is not None and self.duration is not None
        return [Stage(duration=self.duration, users=self.users, spawn_rate=self.spawn_rate or float(self.users))]

    @property
    def total_duration(self) -> timedelta:
        if self.stages:
            return sum((s.duration for s in self.stages), timedelta(0))
        return self.duration or timedelta(0)

    @property
    def peak_users(self) -> int:
        return max((s.users for s in self.stages), default=0) if self.stages else (self.users or 0)

    @property
    def request_cap(self) -> int:
        """The most requests this run may send (explicit or the default ceiling)."""
        if self.max_requests is not None:
            return self.max_requests
        return min(MAX_REQUESTS, math.ceil(self.total_duration.total_seconds() * DEFAULT_CEILING_RPS))

    def task_weight(self, request_name: str) -> int:
        return self.tasks.get(request_name, 1)


def shipped() -> list[str]:
    """Names of the profiles that ship with dvcops."""
    return yamlinput.shipped(PROFILE_DIR)


def load_profile(name_or_path: str | Path) -> Profile:
    """A shipped profile by name (smoke, normal, peak, soak, spike) or a profile file by path."""
    path = yamlinput.shipped_or_path(name_or_path, PROFILE_DIR, "profile", "profile")
    data, smap = read_source(path, LoadTestError)
    if isinstance(data, dict) and "name" not in data:
        data = {"name": path.stem, **data}
    return validate_model(Profile, data, smap, LoadTestError)


def parse_profile(text: str, filename: str = "profile.yml") -> Profile:
    data, smap = parse_source(text, filename, LoadTestError)
    if isinstance(data, dict) and "name" not in data:
        data = {"name": Path(filename).stem, **data}
    return validate_model(Profile, data, smap, LoadTestError)
