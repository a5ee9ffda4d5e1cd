"""Prober settings from the environment (prefix DVCOPS_PROBE_); CLI options override them."""

from __future__ import annotations

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dvcops.addresses import check_resolver
from dvcops.catalog import check_location_name
from probes.errors import ProbeError
from probes.placement import parse_shard


class ProbeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVCOPS_PROBE_", extra="ignore")

    concurrency: int = Field(1024, ge=1, le=10_000)
    """Probes in flight at once (DVCOPS_PROBE_CONCURRENCY). Bounded so a big catalogue never exhausts
    sockets; high enough that a cycle of 1,000 endpoints starts every probe at once, so hung targets
    cost their own timeout and nothing more. The open-files limit is raised to fit."""
    canary: str | None = None
    """Connectivity canary URL (e.g. tcp://10.0.0.1:53). While it fails, results are `unknown`, not charged."""
    canary_interval: float = Field(10.0, gt=0)
    """Seconds between canary checks in `serve`."""
    resolver: str | None = None
    """DNS resolver `address[:port]` for endpoints that name none; unset means the system resolver."""
    max_body_bytes: int = Field(1024 * 1024, ge=0)
    """How much of a response body is read for [BODY] conditions; the rest is not downloaded."""
    max_redirects: int = Field(10, ge=0)
    raw_days: int = Field(14, ge=0)
    """Days raw results are kept (hourly and daily roll-ups are kept far longer)."""
    hourly_days: int = Field(400, ge=31)
    """Days hourly roll-ups are kept: 400 covers 13 months for year-on-year comparisons."""
    jitter: float = Field(1.0, ge=0, le=1)
    """Fraction of each endpoint's interval its first probe is spread over in `serve` (no thundering herd)."""
    location: str | None = None
    """Where this prober stands (DVCOPS_PROBE_LOCATION, `--location`): the `location` label on every series."""
    shard: str | None = None
    """`I/N`: probe only this shard's share of the catalogue (probes/placement.py)."""
    environment: str | None = None
    """The environment this prober runs in; journeys that write data run only where the catalogue allows it."""


    @field_validator("resolver")
    @classmethod
    def _resolver(cls, v: str | None) -> str | None:
        return check_resolver(v)

    @field_validator("location")
    @classmethod
    def _location(cls, v: str | None) -> str | None:
        return None if v is None else check_location_name(v)

    @field_validator("shard")
    @classmethod
    def _shard(cls, v: str | None) -> str | None:
        try:
            parse_shard(v)
        except ProbeError as exc:
            raise ValueError(exc.lines[0].split(": ", 1)[1]) from None
        return v


def get_probe_settings(**overrides: object) -> ProbeSettings:
    """Settings from the environment (DVCOPS_PROBE_*) with explicit CLI values on top (None = not given).

    Bad values become a ProbeError naming the option and what is expected."""
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return ProbeSettings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            name = str(err["loc"][0]) if err["loc"] else "?"
            source = f"--{name.replace('_', '-')}" if name in values else f"DVCOPS_PROBE_{name.upper()}"
            lines.append(f"{source}: {err['msg'].removeprefix('Value error, ')} (got {err.get('input')!r})")
        raise ProbeError(*lines) from None
