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
    model_validator,
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
SEVERITIES = ("page", "ticket")
"""Alert severities the catalogue routes: page (someone acts now, day or night) and ticket (working hours)."""
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WORKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_LOCATION = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
JOURNEY_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
READ_METHODS = ("GET", "HEAD")
TEMPLATE_VAR = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
"""`{code}` in a journey step's URL, headers or body: a value captured by an earlier step."""


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


def check_location_name(v: Any) -> str:
    """A probing location's name: it becomes the `location` label, a Prometheus job name and a file name, so
    lower-case letters, digits, '-' and '_' only. ValueError quoting the value otherwise."""
    if not isinstance(v, str) or not _LOCATION.match(v):
        raise ValueError(f"{v!r} is not a location name: use lower-case letters, digits, '-' or '_' "
                         "(it becomes a Prometheus label value and job name), e.g. dc-tinh")
    return v


LocationName = Annotated[str, AfterValidator(check_location_name)]


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


class Location(_Model):
    """A vantage point that runs a prober (`dvcops probe serve --location NAME`): the data centre, the
    public administration centre, a district one-stop centre."""

    name: LocationName
    title: str | None = None


def _status_codes(v: Any) -> list[int]:
    codes = v if isinstance(v, list) else [v]
    for c in codes:
        if isinstance(c, bool) or not isinstance(c, int) or not 100 <= c <= 599:
            raise ValueError(f"{c!r} is not an HTTP status: expected a number from 100 to 599 (or a list of them)")
    return codes


class StepExpect(_Model):
    """What a journey step's answer must look like; every field that is given must hold."""

    status: Annotated[list[int], BeforeValidator(_status_codes)] = Field(default_factory=lambda: [200])
    body: str | None = None
    """Text the body must contain."""
    headers: dict[str, str] = Field(default_factory=dict)
    """Header name -> glob its value must match (case-insensitive names), e.g. content-type: application/json*"""


class StepCapture(_Model):
    """Where a value comes from: a dotted JSON path in the body (`ma_ho_so`, `items.0.id`), a header, or the
    first group of a regular expression over the body. Exactly one."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    json_path: str | None = Field(default=None, alias="json")
    header: str | None = None
    regex: str | None = None

    @field_validator("regex")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                if re.compile(v).groups < 1:
                    raise ValueError(f"{v!r}: the regular expression needs a group, e.g. code=([A-Z0-9-]+)")
            except re.error as exc:
                raise ValueError(f"{v!r} is not a regular expression: {exc}") from None
        return v

    @model_validator(mode="after")
    def _one(self) -> StepCapture:
        given = [n for n in ("json_path", "header", "regex") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("a capture takes exactly one of json, header or regex")
        return self


class JourneyStep(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: Slug
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = "GET"
    url: str
    """An http(s) URL on a catalogue host; `{name}` in the path or query takes a value captured earlier."""
    headers: dict[str, str] = Field(default_factory=dict)
    form: dict[str, str] | None = None
    json_body: Any = Field(default=None, alias="json")
    expect: StepExpect = StepExpect()
    capture: dict[Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")], StepCapture] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname or TEMPLATE_VAR.search(parts.netloc):
            raise ValueError(f"{v!r}: a step URL is http(s)://host[:port]/path with a fixed host "
                             "(values captured earlier may appear in the path or query only)")
        return v

    @model_validator(mode="after")
    def _one_body(self) -> JourneyStep:
        if self.form is not None and self.json_body is not None:
            raise ValueError("a step sends either form or json, not both")
        return self

    def template_vars(self) -> list[str]:
        """Names used as `{name}` in the URL, headers and body, in order of appearance."""
        texts = [self.url, *self.headers.values(), *(self.form or {}).values()]
        texts += _strings(self.json_body)
        return [m for t in texts for m in TEMPLATE_VAR.findall(t)]


def _strings(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, dict):
        return [s for x in v.values() for s in _strings(x)]
    if isinstance(v, list):
        return [s for x in v for s in _strings(x)]
    return []


class Journey(_Model):
    """A transaction check: ordered HTTP steps through an e-service (open the form, submit, check status)."""

    name: Slug
    title: str | None = None
    interval: Duration | None = None
    """Default: five times the service's interval (journeys cost the service more than a GET)."""
    timeout: Duration | None = None
    """For the whole journey; default 30 s."""
    writes: bool = False
    """The journey submits data (any step other than GET/HEAD). It then runs only where allowed."""
    allow_writes_in: list[Slug] = Field(default_factory=list)
    """Environments (`dvcops probe serve --environment NAME`) where a writing journey may run."""
    steps: Annotated[list[JourneyStep], Field(min_length=1)]


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
    draft: bool = False
    """Imported (e.g. by `dvcops catalog import-blackbox`) and not yet named and owned by a person."""
    public: bool = True
    """Shown on the public status page (internal systems such as databases say false)."""
    locations: list[LocationName] = Field(default_factory=list)
    """Locations that must probe this service; empty means every location."""
    quorum: Annotated[int, Field(ge=1)] | None = None
    """Locations that must see it down for an outage; default a majority of those reporting."""
    journeys: list[Journey] = Field(default_factory=list)


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


_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


def _email(v: Any) -> str:
    if not isinstance(v, str) or not _EMAIL.match(v):
        raise ValueError(f"{v!r} is not an e-mail address: expected name@domain (e.g. truc-ban@so-khdt.gov.vn)")
    return v


def _webhook(v: Any) -> str:
    parts = urlsplit(v) if isinstance(v, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{v!r} is not a webhook URL: expected http(s)://host[:port]/path")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError(f"{v!r}: the port must be a number from 1 to 65535") from None
    return v


def _severity(v: Any) -> str:
    if v not in SEVERITIES:
        raise ValueError(f"{v!r} is not a severity: expected page or ticket")
    return str(v)


def _clock(v: Any) -> str:
    if not isinstance(v, str) or not _CLOCK.match(v):
        raise ValueError(f"{v!r} is not a time of day: expected HH:MM, e.g. 07:30")
    return v


Email = Annotated[str, BeforeValidator(_email)]
WebhookUrl = Annotated[str, BeforeValidator(_webhook)]
Severity = Annotated[str, BeforeValidator(_severity)]
Clock = Annotated[str, BeforeValidator(_clock)]


class WorkingHours(_Model):
    """When ticket-only contacts are notified, in the province's time zone (Mon-Fri 07:30-17:00 by default)."""

    days: list[Weekday] = Field(default_factory=lambda: list(WORKDAYS))
    start: Clock = "07:30"
    end: Clock = "17:00"

    @field_validator("end")
    @classmethod
    def _after_start(cls, v: str, info: Any) -> str:
        start = info.data.get("start")
        if start is not None and v <= start:
            raise ValueError(f"{v!r}: working hours must end after they start ({start})")
        return v


class EmailRelay(_Model):
    """The SMTP relay Alertmanager sends through; its password is a secret (never in the catalogue)."""

    relay: str
    """host:port, e.g. mail.tinh.gov.vn:587."""
    sender: Email
    username: str | None = None
    require_tls: bool = True

    @field_validator("relay")
    @classmethod
    def _host_port(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{v!r} is not a relay: expected host:port, e.g. mail.tinh.gov.vn:587")
        return v


class OnCall(_Model):
    working_hours: WorkingHours = WorkingHours()
    email: EmailRelay | None = None
    operator: Slug | None = None
    """The agency that runs the data centre: it gets the alerts no agency owns (canary, host down)."""


def webhook_secret_name(name: str) -> str:
    """The secret that holds the URL of `webhook_secrets: [name]` (a file or DVCOPS_SECRET_<NAME>)."""
    return "alertmanager_webhook_" + name.replace("-", "_")


SMTP_PASSWORD_SECRET = "alertmanager_smtp_password"


class Contact(_Model):
    """Who is told when an agency's (or one service's) alerts fire, through which channels, for which severities."""

    name: str
    agency: Slug | None = None
    service: Slug | None = None
    """A service's contacts replace its agency's for that service."""
    email: list[Email] = Field(default_factory=list)
    webhooks: list[WebhookUrl] = Field(default_factory=list)
    """Generic JSON webhooks (Alertmanager's webhook format); chat bots are reached through them."""
    webhook_secrets: list[Slug] = Field(default_factory=list)
    """Webhooks whose URL holds a token: the URL is the secret alertmanager_webhook_<name> (never in the catalogue)."""
    severities: list[Severity] = Field(default_factory=lambda: list(SEVERITIES))
    hours: Literal["always", "working"] = "always"

    @model_validator(mode="after")
    def _scope_and_channel(self) -> Contact:
        if (self.agency is None) == (self.service is None):
            raise ValueError("give exactly one of agency or service")
        if not (self.email or self.webhooks or self.webhook_secrets):
            raise ValueError("give at least one channel: email, webhooks or webhook_secrets")
        if not self.severities:
            raise ValueError("severities: give page, ticket or both")
        return self


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
    locations: list[Location] = Field(default_factory=list)
    targets: Targets = Targets()
    loadtest: LoadTestScope = LoadTestScope()
    oncall: OnCall = OnCall()
    contacts: list[Contact] = Field(default_factory=list)

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

    def location_names(self) -> list[str]:
        return [loc.name for loc in self.locations]

    def probes_from(self, service: Service, location: str | None) -> bool:
        """Whether a prober at `location` probes this service (every location does unless the service says)."""
        return location is None or not service.locations or location in service.locations

    def known_hosts(self) -> set[str]:
        """Every host name and address the catalogue declares: hosts and the hosts of endpoint URLs.
        Journeys only ever talk to these."""
        out = {h.address for h in self.hosts} | {h.hostname for h in self.hosts if h.hostname}
        return out | {e.host for _, e in self.endpoints()}

    def maintenance_for(self, service_id: str) -> list[Maintenance]:
        return [m for m in self.maintenance if m.covers(service_id)]

    def contacts_of(self, agency_id: str | None = None, service_id: str | None = None) -> list[Contact]:
        return [c for c in self.contacts if (agency_id and c.agency == agency_id)
                or (service_id and c.service == service_id)]

    def oncall_secrets(self) -> dict[str, str]:
        """Secrets the on-call configuration needs: secret name -> what it is."""
        out = {}
        if self.oncall.email is not None and self.oncall.email.username:
            out[SMTP_PASSWORD_SECRET] = f"password of {self.oncall.email.username} on the SMTP relay"
        for c in self.contacts:
            for name in c.webhook_secrets:
                out[webhook_secret_name(name)] = f"URL of the webhook {name!r} ({c.name})"
        return out

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
    oncall: dict[str, Any] = data["oncall"] if isinstance(data.get("oncall"), dict) else {}
    if oncall.get("operator") is not None and oncall["operator"] not in agencies:
        add(("oncall", "operator"), f"{oncall['operator']!r} is not a declared agency")
    for i, c in _items(data, "contacts"):
        if isinstance(c.get("agency"), str) and c["agency"] not in agencies:
            add(("contacts", i, "agency"), f"{c['agency']!r} is not a declared agency")
        if isinstance(c.get("service"), str) and c["service"] not in services:
            add(("contacts", i, "service"), f"{c['service']!r} is not a declared service")
        if c.get("email") and not oncall.get("email"):
            add(("contacts", i, "email"), "e-mail contacts need oncall.email: {relay: host:port, sender: address}")
    locations = unique("locations", "name", "location name")
    for i, s in _items(data, "services"):
        for j, loc in enumerate(s.get("locations") or []) if isinstance(s.get("locations"), list) else []:
            if isinstance(loc, str) and loc not in locations:
                add(("services", i, "locations", j), f"{loc!r} is not a declared location (see locations:)")
    out += _journey_problems(data, smap)
    return out


def _journey_problems(data: dict[str, Any], smap: SourceMap) -> list[tuple[int, str]]:
    """Journeys stay on catalogue hosts, use only values captured by earlier steps, and say when they write."""
    out: list[tuple[int, str]] = []

    def add(loc: tuple[str | int, ...], msg: str) -> None:
        out.append((smap.line(loc), smap.error(loc, msg)))

    hosts: set[str] = set()
    for _, h in _items(data, "hosts"):
        hosts |= {str(h[k]) for k in ("address", "hostname") if h.get(k)}
    for _, s in _items(data, "services"):
        for e in s.get("endpoints") or [] if isinstance(s.get("endpoints"), list) else []:
            if isinstance(e, dict) and isinstance(e.get("url"), str):
                hosts.add(urlsplit(e["url"]).hostname or "")
    for i, s in _items(data, "services"):
        for j, journey in enumerate(s.get("journeys") or []) if isinstance(s.get("journeys"), list) else []:
            if not isinstance(journey, dict) or not isinstance(journey.get("steps"), list):
                continue
            captured: list[str] = []
            writes = journey.get("writes") is True
            for k, step in enumerate(journey["steps"]):
                if not isinstance(step, dict):
                    continue
                at = ("services", i, "journeys", j, "steps", k)
                url = step.get("url")
                if isinstance(url, str):
                    host = urlsplit(url).hostname
                    if host and not TEMPLATE_VAR.search(host) and host not in hosts:
                        add((*at, "url"), f"{host!r} is not a host of this catalogue (journeys only reach hosts "
                                          "declared under hosts: or in an endpoint URL)")
                method = step.get("method", "GET")
                if isinstance(method, str) and method not in READ_METHODS and not writes:
                    add((*at, "method"), f"{method} submits data: mark the journey 'writes: true' and list the "
                                         "environments that allow it under allow_writes_in")
                for field in ("url", "headers", "form", "json"):
                    for name in [m for t in _strings(step.get(field)) for m in TEMPLATE_VAR.findall(t)]:
                        if name not in captured:
                            add((*at, field), f"{{{name}}} is not captured by an earlier step (captured so far: "
                                              f"{', '.join(captured) or 'none'})")
                if isinstance(step.get("capture"), dict):
                    captured += [str(n) for n in step["capture"]]
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
    "Agency", "Catalog", "Contact", "Defaults", "Endpoint", "Host", "Journey", "JourneyStep", "Location", "Maintenance",
    "OnCall", "Province", "Role", "Service", "SEVERITIES", "StepCapture", "StepExpect", "check_location_name",
    "webhook_secret_name", "LEVELS", "LEVEL_EQUIVALENT", "load_catalog", "parse_catalog", "format_path",
]
