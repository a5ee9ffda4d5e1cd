"""What every service check shares: the request budget and pace, and one guarded HTTP GET.

Every connection a check makes goes through `CheckContext.guard` first (the RoE scope, again) and
takes one unit of the run's budget (RoE rate.max_http_requests, at rate.http_per_second).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from drills.errors import DrillError
from drills.plan import PlannedEndpoint, PlannedHost
from drills.policy import Policy
from drills.roe import Scope

MAX_BODY = 256 * 1024
USER_AGENT = "dvcops-drill/1 (authorised security drill; see the RoE approval reference)"


class BudgetSpent(DrillError):
    """The run's request budget is used up: checks stop, the run says so."""


class Budget:
    """At most `max_requests` connections per run, started no faster than `per_second` (all threads)."""

    def __init__(self, per_second: float, max_requests: int) -> None:
        self.interval = 1.0 / per_second
        self.max_requests = max_requests
        self.used = 0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self.used >= self.max_requests:
                raise BudgetSpent(f"request budget of {self.max_requests} spent (RoE rate.max_http_requests)")
            self.used += 1
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


@dataclass
class CheckContext:
    scope: Scope
    budget: Budget
    policy: Policy
    hosts: dict[str, PlannedHost]
    """Planned hosts by name: zone, level and system for the findings."""
    timeout: float = 5.0
    ca_file: Path | None = None
    notes: list[str] = field(default_factory=list)

    def guard(self, ep: PlannedEndpoint) -> None:
        self.scope.guard(ep.address, ep.port, [ep.server_name] if ep.server_name else [])
        self.budget.take()


@dataclass
class Response:
    status: int
    headers: httpx.Headers
    body: str
    url: str


def client(ctx: CheckContext) -> httpx.Client:
    """No proxies from the environment (they would be out of scope), no redirects followed, no TLS checks
    (tls.py judges TLS; the header and exposure checks must still see a site with a bad certificate)."""
    return httpx.Client(verify=False, trust_env=False, follow_redirects=False, timeout=ctx.timeout,
                        headers={"User-Agent": USER_AGENT})


def get(ctx: CheckContext, http: httpx.Client, ep: PlannedEndpoint, path: str) -> Response:
    """GET `path` on the endpoint's address, with its name as Host header and SNI."""
    ctx.guard(ep)
    url = f"{ep.scheme}://{ep.address}:{ep.port}{path}"
    headers: dict[str, str] = {}
    extensions: dict[str, str] = {}
    if ep.server_name:
        headers["Host"] = f"{ep.server_name}:{ep.port}"
        if ep.scheme == "https":
            extensions["sni_hostname"] = ep.server_name
    with http.stream("GET", url, headers=headers, extensions=extensions) as resp:
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_BODY:
                break
        body = b"".join(chunks)[:MAX_BODY].decode(resp.encoding or "utf-8", "replace")
        return Response(resp.status_code, resp.headers, body, f"{ep.origin}{path}")
