"""The drill plan: exactly which hosts, ports, endpoints and checks a run will touch, and why.

Making a plan sends nothing to any target (it may ask the RoE's DNS resolver about names). A run
executes its plan and nothing else. Anything explicitly asked for (a `--target`, the RoE's
`targets`, a scenario's hosts) that is out of scope refuses the whole run, one line per reason;
catalogue hosts and endpoints that are merely out of scope are left alone and listed as skipped.
"""

from __future__ import annotations

import os
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel

from drills.baseline import nmap_arguments, nmap_command
from drills.errors import DrillError, ScopeRefused
from drills.resolver import Resolver
from drills.roe import RoE, Scope
from drills.scenarios import Scenario
from dvcops.addresses import is_address
from dvcops.catalog import Catalog, Host

ORIGIN_CHECKS = {"https": ["tls", "headers", "exposure", "content"], "http": ["headers", "exposure", "content"],
                 "tls": ["tls"]}


class PlannedHost(BaseModel):
    name: str
    address: str
    zone: str
    roles: list[str]
    security_level: int | None
    system: str
    allowed_ports: list[int]
    """The role baseline (Catalog.allowed_ports)."""
    approved_not_scanned: list[int]
    """Approved ports outside the RoE ports: the drill cannot say whether they answer."""
    reason: str

    def host(self) -> Host:
        return Host(name=self.name, address=self.address, zone=self.zone, roles=self.roles,  # type: ignore[arg-type]
                    security_level=self.security_level, system=self.system)


class PlannedEndpoint(BaseModel):
    """One origin (scheme, address, port, server name) and the checks run against it."""

    url: str
    """The catalogue endpoint URL this origin was taken from."""
    service: str
    host: str
    """The catalogue host at that address ('' when the catalogue has none)."""
    scheme: str
    address: str
    port: int
    server_name: str | None
    """Name for the Host header, SNI and certificate check (None when the URL gives an address)."""
    path: str
    checks: list[str]

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.server_name or self.address}:{self.port}"


class Skipped(BaseModel):
    what: str
    why: str


class PlannedInject(BaseModel):
    id: str
    at_seconds: float
    title: str
    action: str | None
    cleanup: list[str]


class DrillPlan(BaseModel):
    kind: str
    """drill (with a scenario) or check (a compliance check)."""
    roe_name: str
    approval_ref: str
    approver: str
    window_start: datetime
    window_end: datetime
    window_open: bool
    scenario_id: str | None
    resolver: str
    checks: list[str]
    ports: str
    port_count: int
    scan_type: str
    privileged: bool
    nmap_arguments: list[str]
    nmap_command: list[str]
    hosts: list[PlannedHost]
    endpoints: list[PlannedEndpoint]
    skipped: list[Skipped]
    injects: list[PlannedInject]
    warnings: list[str]
    max_http_requests: int

    def planned_host(self, name: str) -> PlannedHost:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)


def scan_type(roe: RoE) -> tuple[str, bool, list[str]]:
    """(syn|connect, privileged, warnings): SYN needs raw sockets (root); without them nmap connects."""
    privileged = os.geteuid() == 0
    warnings: list[str] = []
    wanted = roe.scan.type
    if wanted == "auto":
        return ("syn" if privileged else "connect"), privileged, warnings
    if wanted == "syn" and not privileged:
        warnings.append("SYN scan asked for but not running as root: falling back to a connect scan (-sT), "
                        "which targets are more likely to log")
        return "connect", privileged, warnings
    return wanted, privileged, warnings


def _by_address(catalog: Catalog) -> dict[str, Host]:
    return {h.address: h for h in catalog.hosts}


def _explicit_hosts(catalog: Catalog, wanted: list[str], scope: Scope, resolver: Resolver,
                    why: str) -> tuple[list[Host], list[str]]:
    """Catalogue hosts for explicit targets; out-of-scope ones become refusal lines."""
    by_name = {h.name: h for h in catalog.hosts}
    by_addr = _by_address(catalog)
    hosts: list[Host] = []
    refused: list[str] = []
    for target in wanted:
        if target in by_name:
            h = by_name[target]
            d = scope.decide(h.address)
            if not d.allowed:
                refused.append(f"refused: {why} {target} ({h.address}): {d.reason}")
            else:
                hosts.append(h)
            continue
        via = [] if is_address(target) else [target]  # a name: its addresses are checked on their own
        addresses = resolver.resolve(target)
        bad = [(a, scope.decide(a, via)) for a in addresses]
        bad = [(a, d) for a, d in bad if not d.allowed]
        if bad:
            for a, d in bad:
                shown = f"{target} resolves to {a}" if via else target
                refused.append(f"refused: {why} {shown}: {d.reason}")
            continue
        for a in addresses:
            if a not in by_addr:
                raise DrillError(f"{why} {target} ({a}) is not a catalogue host: add it under hosts with its "
                                 "zone and roles so the drill knows which ports are approved")
            hosts.append(by_addr[a])
    return hosts, refused


def make_plan(catalog: Catalog, roe: RoE, *, scenario: Scenario | None = None, targets: list[str] | None = None,
              resolver: Resolver | None = None, now: datetime | None = None) -> DrillPlan:
    """Work out what a run would touch; raise ScopeRefused if anything asked for is out of scope."""
    resolver = resolver or Resolver(roe.resolver, roe.names)
    scope = Scope(roe, catalog)
    skipped: list[Skipped] = []
    refused: list[str] = []

    wanted = list(targets or []) + [t for t in roe.targets if t not in (targets or [])]
    if wanted:
        hosts, lines = _explicit_hosts(catalog, wanted, scope, resolver, "target")
        refused += lines
    else:
        hosts = []
        for h in catalog.hosts:
            d = scope.decide(h.address)
            if d.allowed:
                hosts.append(h)
            else:
                skipped.append(Skipped(what=f"host {h.name} ({h.address})", why=d.reason))

    injects: list[PlannedInject] = []
    if scenario is not None:
        names = {h.name for h in catalog.hosts}
        unknown = [n for n in scenario.hosts() if n not in names]
        if unknown:
            raise DrillError(f"scenario {scenario.id}: {', '.join(unknown)} not in the catalogue "
                             f"({catalog.source or 'catalogue'})")
        extra, lines = _explicit_hosts(catalog, scenario.hosts(), scope, resolver, f"scenario {scenario.id} host")
        refused += lines
        hosts += [h for h in extra if h not in hosts]
        for inj in scenario.ordered():
            for act in ([inj.action] if inj.action else []) + inj.cleanup:
                if act.port is not None and not roe.allows_port(act.port):
                    refused.append(f"refused: scenario {scenario.id} inject {inj.id} opens port {act.port} on "
                                   f"{act.host}, outside the RoE ports ({roe.portspec}): the drill could not see it")
            injects.append(PlannedInject(id=inj.id, at_seconds=inj.at.total_seconds(), title=inj.title,
                                         action=inj.action.describe() if inj.action else None,
                                         cleanup=[c.describe() for c in inj.cleanup]))
    if refused:
        raise ScopeRefused(*dict.fromkeys(refused))
    if not hosts:
        raise DrillError(f"nothing in scope: no catalogue host is allowed by the rules of RoE {roe.name!r}")
    if len(hosts) > roe.rate.max_hosts:
        raise ScopeRefused(f"refused: {len(hosts)} hosts in scope, more than the RoE allows "
                           f"(rate.max_hosts: {roe.rate.max_hosts}); check the rules for a too-wide CIDR")

    planned = [PlannedHost(name=h.name, address=h.address, zone=h.zone, roles=list(h.roles),
                           security_level=h.security_level, system=h.system or h.name,
                           allowed_ports=catalog.allowed_ports(h),
                           approved_not_scanned=[p for p in catalog.allowed_ports(h) if not roe.allows_port(p)],
                           reason=scope.decide(h.address).reason) for h in hosts]
    endpoints = _endpoints(catalog, roe, scope, resolver, {h.address for h in hosts}, skipped)
    kind, privileged, warnings = scan_type(roe)
    args = nmap_arguments(roe, kind)
    http_checks = [e for e in endpoints if e.scheme in ("http", "https")]
    return DrillPlan(
        kind="drill" if scenario else "check", roe_name=roe.name, approval_ref=roe.approval.reference,
        approver=roe.approval.approver, window_start=roe.window.start, window_end=roe.window.end,
        window_open=roe.window_open(now) if now else True, scenario_id=scenario.id if scenario else None,
        resolver=resolver.describe(), checks=list(roe.checks), ports=roe.portspec, port_count=roe.port_count,
        scan_type=kind, privileged=privileged, nmap_arguments=args,
        nmap_command=nmap_command([h.address for h in planned], roe.portspec, args),
        hosts=planned, endpoints=endpoints, skipped=skipped, injects=injects, warnings=warnings,
        max_http_requests=min(roe.rate.max_http_requests, sum(len(e.checks) for e in http_checks) * 12))


def _endpoints(catalog: Catalog, roe: RoE, scope: Scope, resolver: Resolver, host_addresses: set[str],
               skipped: list[Skipped]) -> list[PlannedEndpoint]:
    """Catalogue endpoints on the planned hosts, in scope, one per origin, with the RoE's checks."""
    by_addr = _by_address(catalog)
    out: dict[tuple[str, str, int, str | None], PlannedEndpoint] = {}
    wanted = [c for c in roe.checks if c != "ports"]
    for service, ep in catalog.endpoints():
        if ep.scheme not in ORIGIN_CHECKS:
            continue
        checks = [c for c in ORIGIN_CHECKS[ep.scheme] if c in wanted]
        if not checks:
            continue
        name = None if is_address(ep.host) else ep.host
        try:
            addresses = (Resolver(ep.resolver, roe.names) if ep.resolver else resolver).resolve(ep.host)
        except DrillError as exc:
            skipped.append(Skipped(what=ep.url, why=exc.lines[0]))
            continue
        decisions = [scope.decide(a, [name] if name else []) for a in addresses]
        denied = [d for d in decisions if not d.allowed]
        if denied:
            shown = ", ".join(f"{d.address}: {d.reason}" for d in denied)
            skipped.append(Skipped(what=ep.url, why=f"resolves out of scope ({shown})" if name else shown))
            continue
        if not roe.allows_port(ep.port):
            skipped.append(Skipped(what=ep.url, why=f"port {ep.port} is not in the RoE ports ({roe.portspec})"))
            continue
        address = addresses[0]
        if address not in host_addresses:
            continue  # another host's endpoint: not part of this run
        key = (ep.scheme, address, ep.port, name)
        if key not in out:
            parts = urlsplit(ep.url)
            out[key] = PlannedEndpoint(url=ep.url, service=service.id, host=by_addr[address].name if address in by_addr
                                       else "", scheme=ep.scheme, address=address, port=ep.port, server_name=name,
                                       path=parts.path or "/", checks=checks)
    return list(out.values())
