"""The catalogue's endpoints as probe targets: labels, timeout, interval, conditions and maintenance."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import ValidationError

from dvcops.catalog import Catalog, Endpoint, Maintenance, url_port
from dvcops.conditions import Condition
from probes.errors import ProbeError

LABELS = ("service", "agency", "level", "endpoint")
"""Labels on every metric and history row: enough to roll uptime up per service, agency and level."""


@dataclass(frozen=True)
class Target:
    """One endpoint of one service, ready to probe."""

    service: str
    agency: str
    level: str
    endpoint: str
    """The label: the URL, made unique within the service (url#name) if a service lists a URL twice."""
    url: str
    timeout: float = 10.0
    interval: float = 60.0
    conditions: tuple[Condition, ...] = ()
    resolver: str | None = None
    expect: tuple[str, ...] = ()
    ca_file: str | None = None
    slo: float = 0.995
    maintenance: tuple[Maintenance, ...] = field(default=(), compare=False)
    keep_body: bool = False
    """Read the body even without a [BODY] condition (blackbox modules' body regexps)."""
    location: str = ""
    """Where the prober stands (`--location`); empty when it does not say."""

    @property
    def key(self) -> str:
        return f"{self.service} {self.endpoint}"

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def kind(self) -> str:
        """The check that runs: http (also https), tcp, tls or dns."""
        return "http" if self.scheme in ("http", "https") else self.scheme

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        return url_port(self.url)

    def labels(self) -> dict[str, str]:
        labels = {"service": self.service, "agency": self.agency, "level": self.level, "endpoint": self.endpoint}
        if self.location:
            labels["location"] = self.location
        return labels


def endpoint_label(endpoint: Endpoint, seen: set[str]) -> str:
    """The endpoint label: its URL, or url#name (url#2, ...) when the same URL already appeared."""
    label = endpoint.url
    if label in seen:
        label = f"{endpoint.url}#{endpoint.name}" if endpoint.name else endpoint.url
        n = 2
        while label in seen:
            label, n = f"{endpoint.url}#{n}", n + 1
    seen.add(label)
    return label


def targets_from(catalog: Catalog, location: str | None = None) -> list[Target]:
    """Every endpoint of every service (of those probed from `location`, if given), in catalogue order."""
    ca = catalog.ca_path()
    out = []
    for service in catalog.services:
        if not catalog.probes_from(service, location):
            continue
        seen: set[str] = set()
        for ep in service.endpoints:
            out.append(Target(
                service=service.id, agency=service.agency, level=service.level,
                endpoint=endpoint_label(ep, seen), url=ep.url,
                timeout=catalog.timeout_of(service).total_seconds(),
                interval=catalog.interval_of(service).total_seconds(),
                conditions=tuple(ep.parsed_conditions), resolver=ep.resolver, expect=tuple(ep.expect),
                ca_file=str(ca) if ca else None, slo=catalog.slo_of(service),
                maintenance=tuple(catalog.maintenance_for(service.id)), location=location or "",
            ))
    return out


def canary_target(url: str, timeout: float = 5.0, ca_file: str | None = None) -> Target:
    """The connectivity canary as a target of its own (never recorded, never exported per service)."""
    try:
        Endpoint(url=url)  # the catalogue's own URL rule, so both accept the same URLs
    except ValidationError as exc:
        raise ProbeError(f"canary {url!r}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None
    return Target(service="_canary", agency="_canary", level="", endpoint=url, url=url, timeout=timeout,
                  ca_file=ca_file)
