"""The province catalogue: the single source of truth every part reads.

One YAML file (schema version 1) describes agencies, e-services and their endpoints, hosts and
the ports their roles may expose, maintenance windows and roadmap targets. `load_catalog` reports
**all** problems at once, each as `file:line: path: message`, by raising CatalogError.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
)

from dvcops.addresses import check_resolver
from dvcops.conditions import Condition, ConditionSyntaxError, parse_condition
from dvcops.durations import format_duration, parse_duration
from dvcops.errors import CatalogError
from dvcops.timezone import DEFAULT_TZ
from dvcops.yamlsource import (
    SourceMap,
    YamlProblem,
    format_path,
    gc_paused,
    load_yaml,
    nfc,
    read_yaml,
    validation_problems,
)

LEVELS = ("1", "2", "3", "4", "toan-trinh", "mot-phan")
"""Delivery levels: decree 43/2011 levels 1-4 and decree 42/2022 'toàn trình' / 'một phần'."""
LEVEL_EQUIVALENT = {"toan-trinh": "4", "mot-phan": "3"}
"""For roadmaps counted in the old levels: fully online counts as level 4, partly online as level 3."""
AGENCY_KINDS = ("department", "district", "commune", "province")
ZONES = ("dmz", "app", "data", "mgmt", "lan")
ENDPOINT_SCHEMES = ("http", "https", "tcp", "tls", "dns")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _duration(v: Any) -> timedelta:
    td = parse_duration(v)
    if td.total_seconds() <= 0:
        raise ValueError(f"{v!r}: a duration must be positive")
    return td


Duration = Annotated[timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)]


def _slug(v: str) -> str:
    if not isinstance(v, str) or not _ID.match(v):
        raise ValueError(f"{v!r} is not an id: use lower-case letters, digits and '-' (e.g. so-khdt)")
    return v


Slug = Annotated[str, AfterValidator(_slug)]


def _port(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 65535:
        raise ValueError(f"{v!r} is not a port: expected a whole number from 1 to 65535")
    return v


Port = Annotated[int, BeforeValidator(_port)]


def _fraction(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 < float(v) < 1:
        raise ValueError(f"{v!r}: expected a fraction strictly between 0 and 1 (e.g. 0.995)")
    return float(v)


Fraction = Annotated[float, BeforeValidator(_fraction)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Province(_Model):
    code: Annotated[str, Field(pattern=r"^[A-Z0-9-]{1,12}$")]
    name: str
    reviewer: str
    """The department that reviews reports (Sở TT&TT, since 2025 Sở KH&CN): a name from data, never code."""
    timezone: str = DEFAULT_TZ


class Defaults(_Model):
    slo: Fraction = 0.995
    interval: Duration = timedelta(seconds=60)
    timeout: Duration = timedelta(seconds=10)
    ca_file: str | None = None
    """CA bundle (path relative to the catalogue) trusted for HTTPS endpoints besides the system's."""


class Agency(_Model):
    id: Slug
    name: str
    kind: Literal["department", "district", "commune", "province"]
    parent: Slug | None = None


DEFAULT_PORTS = {"http": 80, "https": 443, "tls": 443, "dns": 53}


def url_port(url: str) -> int:
    """The port an endpoint URL reaches: explicit, else the scheme's default (0 for tcp:// without one)."""
    parts = urlsplit(url)
    return parts.port or DEFAULT_PORTS.get(parts.scheme, 0)


def _endpoint_url(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"{v!r}: expected a URL string")
    parts = urlsplit(v)
    if parts.scheme not in ENDPOINT_SCHEMES or not parts.hostname:
        raise ValueError(
            f"{v!r} is not an absolute URL: expected http(s)://host/path (or tcp://, tls://host:port, dns://name)"
        )
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{v!r}: the port must be a number from 1 to 65535") from None
    if port == 0:
        raise ValueError(f"{v!r}: the port must be a number from 1 to 65535")
    if parts.scheme in ("tcp", "tls") and port is None:
        raise ValueError(f"{v!r}: {parts.scheme}:// endpoints need a port, e.g. {parts.scheme}://host:5432")
    return v


class Endpoint(_Model):
    url: Annotated[str, BeforeValidator(_endpoint_url)]
    name: str | None = None
    conditions: list[str] = Field(default_factory=list)
    resolver: str | None = None
    """DNS resolver `address[:port]` for dns:// endpoints and for resolving this endpoint's host."""
    expect: list[str] = Field(default_factory=list)
    """dns:// endpoints: answers that must be present."""

    @field_validator("conditions")
    @classmethod
    def _conditions_parse(cls, v: list[str]) -> list[str]:
        for text in v:
            try:
                parse_condition(text)
            except ConditionSyntaxError as exc:
                raise ValueError(str(exc)) from None
        return v

    @field_validator("resolver")
    @classmethod
    def _resolver(cls, v: str | None) -> str | None:
        return check_resolver(v)

    @property
    def parsed_conditions(self) -> list[Condition]:
        return [parse_condition(c) for c in self.conditions]

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return url_port(self.url)


def _level(v: Any) -> str:
    s = str(v).strip().lower() if not isinstance(v, bool) else ""
    if s not in LEVELS:
        raise ValueError(f"{v!r} is not a delivery level: expected one of 1, 2, 3, 4, toan-trinh, mot-phan")
    return s


Level = Annotated[str, BeforeValidator(_level)]


class Service(_Model):
    id: Slug
    name: str
    agency: Slug
    level: Level
    online_since: Annotated[int, Field(ge=1990, le=2100)] | None = None
    slo: Fraction | None = None
    interval: Duration | None = None
    timeout: Duration | None = None
    hosts: list[str] = Field(default_factory=list)
    """Hosts that serve this e-service (optional; ties availability to systems)."""
    endpoints: list[Endpoint] = Field(default_factory=list)


def _address(v: Any) -> str:
    try:
        return str(ipaddress.ip_address(str(v)))
    except ValueError:
        raise ValueError(f"{v!r} is not an IP address (e.g. 10.20.1.11)") from None


def _security_level(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5:
        raise ValueError(f"{v!r} is not a security level: expected 1 to 5 (cấp độ 1-5)")
    return v


class Host(_Model):
    name: Slug
    address: Annotated[str, BeforeValidator(_address)]
    zone: Literal["dmz", "app", "data", "mgmt", "lan"]
    roles: list[str] = Field(default_factory=list)
    security_level: Annotated[int, BeforeValidator(_security_level)] | None = None
    hostname: str | None = None
    system: str | None = None
    """The information system (hệ thống thông tin) this host belongs to, for compliance per system."""


class Role(_Model):
    ports: list[Port] = Field(default_factory=list)
    description: str | None = None


class Maintenance(_Model):
    services: list[str] = Field(default_factory=list)
    """Empty means every service."""
    start: datetime
    duration: Duration
    every: Literal["day", "week", "month"] | None = None
    reason: str | None = None

    @field_validator("start")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError(f"{v.isoformat()!r}: give a time zone offset, e.g. 2025-01-05T01:00:00+07:00")
        return v

    def covers(self, service_id: str) -> bool:
        return not self.services or service_id in self.services

    def windows(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Each occurrence [s, e) of this window that overlaps [start, end)."""
        occ = self.start
        if self.every and occ < start:
            if self.every in ("day", "week"):
                step = timedelta(days=1 if self.every == "day" else 7)
                skip = int((start - occ - self.duration) // step)
                if skip > 0:
                    occ = occ + skip * step
        n = 0
        while occ < end:
            if occ + self.duration > start:
                yield occ, occ + self.duration
            if not self.every:
                return
            n += 1
            if self.every == "month":
                month = self.start.month - 1 + n
                y, m = self.start.year + month // 12, month % 12 + 1
                try:
                    occ = self.start.replace(year=y, month=m)
                except ValueError:  # the 31st in a short month: skip that month
                    continue
            else:
                occ = occ + timedelta(days=1 if self.every == "day" else 7)


class RoadmapYear(_Model):
    level3: Annotated[int, Field(ge=0)] = 0
    level4: Annotated[int, Field(ge=0)] = 0


class Targets(_Model):
    roadmap: dict[int, RoadmapYear] = Field(default_factory=dict)
    online_rate: dict[int, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    """Share of dossiers received online, per year (the province's plan)."""
    full_online_rate: dict[int, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    """Share of the dossiers of toàn trình services handled fully online, per year (e.g. 0.40 in 2024, 0.70 in 2025)."""


class LoadTestScope(_Model):
    allowed_hosts: list[str] = Field(default_factory=list)


class Catalog(_Model):
    version: Literal[1]
    province: Province
    defaults: Defaults = Defaults()
    agencies: list[Agency] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    hosts: list[Host] = Field(default_factory=list)
    roles: dict[str, Role] = Field(default_factory=dict)
    maintenance: list[Maintenance] = Field(default_factory=list)
    targets: Targets = Targets()
    loadtest: LoadTestScope = LoadTestScope()

    # Not part of the file: where it came from, to resolve relative paths (ca_file).
    source: Path | None = Field(default=None, exclude=True)

    def agency(self, agency_id: str) -> Agency:
        return {a.id: a for a in self.agencies}[agency_id]

    def service(self, service_id: str) -> Service:
        return {s.id: s for s in self.services}[service_id]

    def host(self, name: str) -> Host:
        return {h.name: h for h in self.hosts}[name]

    def services_of(self, agency_id: str) -> list[Service]:
        return [s for s in self.services if s.agency == agency_id]

    def endpoints(self) -> Iterator[tuple[Service, Endpoint]]:
        for s in self.services:
            for e in s.endpoints:
                yield s, e

    def slo_of(self, service: Service) -> float:
        return service.slo if service.slo is not None else self.defaults.slo

    def interval_of(self, service: Service) -> timedelta:
        return service.interval or self.defaults.interval

    def timeout_of(self, service: Service) -> timedelta:
        return service.timeout or self.defaults.timeout

    def allowed_ports(self, host: Host) -> list[int]:
        """Ports the host's roles may expose (the baseline drills compare scans with)."""
        return sorted({p for r in host.roles for p in self.roles[r].ports})

    def ca_path(self) -> Path | None:
        if not self.defaults.ca_file:
            return None
        p = Path(self.defaults.ca_file)
        if not p.is_absolute() and self.source is not None:
            p = self.source.parent / p
        return p

    def maintenance_for(self, service_id: str) -> list[Maintenance]:
        return [m for m in self.maintenance if m.covers(service_id)]

    def to_data(self) -> dict[str, Any]:
        """The normalised catalogue as plain JSON-able data."""
        return self.model_dump(mode="json", exclude_none=True)


# ---------------------------------------------------------------- loading and validation


def _items(data: dict[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    seq = data.get(key)
    if not isinstance(seq, list):
        return []
    return [(i, x) for i, x in enumerate(seq) if isinstance(x, dict)]


def _reference_problems(data: dict[str, Any], smap: SourceMap) -> list[tuple[int, str]]:
    """Cross-reference rules pydantic cannot see: unique ids and declared references."""
    out: list[tuple[int, str]] = []

    def add(loc: tuple[str | int, ...], msg: str) -> None:
        out.append((smap.line(loc), smap.error(loc, msg)))

    def unique(key: str, field: str, what: str) -> set[Any]:
        seen: dict[Any, int] = {}
        for i, item in _items(data, key):
            v = item.get(field)
            if v is None or isinstance(v, list | dict):
                continue
            if v in seen:
                add((key, i, field), f"duplicate {what} {v!r} (first declared at line {smap.line((key, seen[v]))})")
            else:
                seen[v] = i
        return set(seen)

    agencies = unique("agencies", "id", "agency id")
    services = unique("services", "id", "service id")
    hostnames = unique("hosts", "name", "host name")
    unique("hosts", "address", "host address")
    roles = set(data.get("roles") or {}) if isinstance(data.get("roles"), dict) else set()

    for i, a in _items(data, "agencies"):
        if a.get("parent") is not None and a["parent"] not in agencies:
            add(("agencies", i, "parent"), f"{a['parent']!r} is not a declared agency")
    for i, s in _items(data, "services"):
        ag = s.get("agency")
        if isinstance(ag, str) and ag not in agencies:
            add(("services", i, "agency"), f"{ag!r} is not a declared agency")
        for j, h in enumerate(s.get("hosts") or []) if isinstance(s.get("hosts"), list) else []:
            if h not in hostnames:
                add(("services", i, "hosts", j), f"{h!r} is not a declared host")
    for i, h in _items(data, "hosts"):
        for j, r in enumerate(h.get("roles") or []) if isinstance(h.get("roles"), list) else []:
            if isinstance(r, str) and r not in roles:
                add(("hosts", i, "roles", j), f"role {r!r} is not declared under roles")
    for i, m in _items(data, "maintenance"):
        for j, sid in enumerate(m.get("services") or []) if isinstance(m.get("services"), list) else []:
            if sid not in services:
                add(("maintenance", i, "services", j), f"{sid!r} is not a declared service")
    return out


def parse_catalog(text: str, filename: str = "catalog.yml", source: Path | None = None) -> Catalog:
    """Validate catalogue text; raise CatalogError with every problem, sorted by line."""
    try:
        data, smap = load_yaml(text, filename)
    except YamlProblem as p:
        raise CatalogError(*p.lines) from None
    return _validate(data, smap, source)


def load_catalog(path: Path | str) -> Catalog:
    """Load and validate a catalogue file; raise CatalogError with every problem, sorted by line."""
    path = Path(path)
    try:
        data, smap = read_yaml(path)
    except YamlProblem as p:
        raise CatalogError(*p.lines) from None
    return _validate(data, smap, path.resolve())


def _validate(data: Any, smap: SourceMap, source: Path | None) -> Catalog:
    with gc_paused():
        return _validate_data(data, smap, source)


def _validate_data(data: Any, smap: SourceMap, source: Path | None) -> Catalog:
    if not isinstance(data, dict):
        raise CatalogError(f"{smap.filename}:1: (top): expected a mapping with version, province, services, ...")
    data = nfc(data)
    problems = _reference_problems(data, smap)
    catalog = None
    try:
        catalog = Catalog.model_validate({**data, "source": source})
    except ValidationError as exc:
        problems += validation_problems(exc, smap)
    if problems:
        problems.sort(key=lambda p: p[0])
        raise CatalogError(*[line for _, line in problems])
    assert catalog is not None
    return catalog


__all__ = [
    "Agency", "Catalog", "Defaults", "Endpoint", "Host", "Maintenance", "Province", "Role", "Service",
    "LEVELS", "LEVEL_EQUIVALENT", "load_catalog", "parse_catalog", "format_path",
]
