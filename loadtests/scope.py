"""The fence: a load test only ever sends requests to targets the catalogue allows.

A target URL is in scope when its origin (scheme, host, port) is the origin of one of the
catalogue's http(s) endpoints, or its host is listed in the catalogue's `loadtest.allowed_hosts`
(by address, DNS name, or the name of a catalogue host). Anything else is refused with one line
before a single request is sent. Workers on other machines check the master's targets against
their own catalogue the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dvcops.catalog import Catalog
from loadtests.errors import LoadTestError

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; LoadTestError when it is not one."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise LoadTestError(f"{url!r} is not an http(s) URL: expected e.g. http://127.0.10.1:8080")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise LoadTestError(f"{url!r}: the port must be a number from 1 to 65535") from None
    return parts.scheme, parts.hostname.lower(), port


def origin_url(url: str) -> str:
    scheme, host, port = origin(url)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


@dataclass(frozen=True)
class Scope:
    catalog: str
    """Where the scope came from, named in refusals."""
    origins: frozenset[tuple[str, str, int]]
    hosts: frozenset[str]

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Scope:
        origins = {origin(e.url) for _, e in catalog.endpoints() if e.scheme in DEFAULT_PORTS}
        by_name = {h.name: h for h in catalog.hosts}
        hosts: set[str] = set()
        for entry in catalog.loadtest.allowed_hosts:
            host = by_name.get(entry)
            if host is not None:
                hosts.add(host.address)
                if host.hostname:
                    hosts.add(host.hostname.lower())
            else:
                hosts.add(entry.strip().lower().strip("[]"))
        source = str(catalog.source) if catalog.source else "the catalogue"
        return cls(source, frozenset(origins), frozenset(hosts))

    def allows(self, url: str) -> bool:
        o = origin(url)
        return o in self.origins or o[1] in self.hosts

    def check(self, url: str, what: str) -> str:
        """The URL (without a trailing slash) if in scope; otherwise a one-line LoadTestError."""
        if not self.allows(url):
            _, host, _ = origin(url)
            raise LoadTestError(
                f"{what} {url}: outside the load-test scope — not an endpoint of {self.catalog} and {host} is "
                "not in its loadtest.allowed_hosts; refused before any request")
        return url.rstrip("/")

    def to_data(self) -> dict[str, Any]:
        return {"catalog": self.catalog, "origins": sorted(list(o) for o in self.origins),
                "hosts": sorted(self.hosts)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Scope:
        return cls(str(data["catalog"]), frozenset((str(s), str(h), int(p)) for s, h, p in data["origins"]),
                   frozenset(str(h) for h in data["hosts"]))

    @classmethod
    def read(cls, path: Path) -> Scope:
        return cls.from_data(json.loads(path.read_text(encoding="utf-8")))
