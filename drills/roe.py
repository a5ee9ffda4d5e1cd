"""Rules of engagement (RoE): the signed-off limits every drill run is held to.

A RoE file is required for every run. It says who approved the drill (reference and approver),
when it may run (a time window: refused before the start and after the end), which addresses it may
touch (allow/deny rules, read top to bottom, the LAST matching rule wins, nothing matching means
denied: MITRE Caldera's rule semantics), which ports, which checks, and how fast.

    version: 1
    name: "Diễn tập thực chiến 2026"
    approval: {reference: "QĐ 45/QĐ-SKHCN", approver: "Giám đốc Sở KH&CN", date: 2026-11-01}
    window: {start: "2026-11-20T08:00:00+07:00", end: "2026-11-27T17:00:00+07:00"}
    rules:
      - allow: 10.20.0.0/16
      - deny: 10.20.9.0/24      # the one-stop-shop back office: not in this drill
      - deny: portal-2          # a catalogue host, by name (its address from the catalogue)
    ports: [22, 80, 443, "1000-2000"]
    resolver: 10.20.0.53        # DNS server for names (default: the system's)

Names and addresses: a rule may name a catalogue host (or its `hostname`), and then it applies to
that host's catalogue address. A name reached through DNS can take an address out of scope, never
bring one in: every address a name resolves to must itself be allowed.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from drills.errors import DrillError, ScopeRefused
from drills.resolver import parse_resolver
from dvcops.catalog import Catalog
from dvcops.durations import parse_duration
from dvcops.yamlsource import load_model

CHECKS = ("ports", "tls", "headers", "exposure", "content")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError(f"{v!r}: expected non-empty text")
    return v.strip()


Text = Annotated[str, BeforeValidator(_text)]


def _duration(v: Any) -> timedelta:
    td = parse_duration(v)
    if td.total_seconds() <= 0:
        raise ValueError(f"{v!r}: a duration must be positive")
    return td


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class Approval(_Model):
    reference: Text
    """The approval decision (số quyết định / kế hoạch), e.g. `QĐ 45/QĐ-SKHCN`."""
    approver: Text
    date: dt.date | None = None


class Window(_Model):
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _check(self) -> Window:
        for t in (self.start, self.end):
            if t.tzinfo is None:
                raise ValueError(f"{t.isoformat()!r}: give a time zone offset, e.g. 2026-11-20T08:00:00+07:00")
        if self.end <= self.start:
            raise ValueError(f"the end {self.end.isoformat()} must come after the start {self.start.isoformat()}")
        return self


class Rule(_Model):
    """`allow: <cidr | address | catalogue host | hostname>` or `deny: ...`."""

    action: Literal["allow", "deny"]
    target: str
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, v: Any) -> Any:
        if isinstance(v, dict) and "action" not in v:
            keys = [k for k in ("allow", "deny") if k in v]
            if len(keys) != 1:
                raise ValueError("a rule is `allow: <cidr or host>` or `deny: <cidr or host>`")
            rest = {k: x for k, x in v.items() if k != keys[0]}
            return {"action": keys[0], "target": str(v[keys[0]]).strip(), **rest}
        return v

    @property
    def network(self) -> IPNetwork | None:
        """The rule's network when it names an address or CIDR; None when it names a host."""
        try:
            return ipaddress.ip_network(self.target, strict=False)
        except ValueError:
            return None

    def describe(self) -> str:
        return f"{self.action} {self.target}"


def _ports(v: Any) -> tuple[tuple[int, int], ...]:
    """[22, 80, "1000-2000"] -> merged sorted ranges."""
    if not isinstance(v, list) or not v:
        raise ValueError("expected a list of ports and ranges, e.g. [22, 443, \"8000-8100\"]")
    ranges: list[tuple[int, int]] = []
    for item in v:
        text = str(item).strip()
        lo_s, _, hi_s = text.partition("-")
        if isinstance(item, bool) or not lo_s.isdigit() or (hi_s and not hi_s.isdigit()):
            raise ValueError(f"{item!r} is not a port or range: expected e.g. 443 or \"8000-8100\"")
        lo, hi = int(lo_s), int(hi_s or lo_s)
        if not (1 <= lo <= hi <= 65535):
            raise ValueError(f"{item!r}: ports are 1-65535 and a range goes from low to high")
        ranges.append((lo, hi))
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return tuple(merged)


PortRanges = Annotated[tuple[tuple[int, int], ...], BeforeValidator(_ports)]


def portspec(ranges: tuple[tuple[int, int], ...]) -> str:
    """nmap's -p syntax: 22,80,1000-2000."""
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)


class Rate(_Model):
    """Speed limits: nmap's --max-rate and the HTTP checks' pace and budget."""

    packets_per_second: Annotated[int, Field(ge=1, le=100_000)] = 300
    http_per_second: Annotated[float, Field(gt=0, le=100)] = 5.0
    max_http_requests: Annotated[int, Field(ge=1, le=100_000)] = 1000
    """A hard cap on HTTP(S) requests per run; checks stop (with a warning) when it is spent."""
    max_hosts: Annotated[int, Field(ge=1, le=65_536)] = 256
    """A run that would touch more hosts is refused (a typo in a CIDR must not scan a /8)."""


class ScanOptions(_Model):
    type: Literal["auto", "syn", "connect"] = "auto"
    """auto: SYN scan (-sS) when root, connect scan (-sT) otherwise."""
    service_detection: bool = True
    """nmap -sV: needed to see a service change, not only an opened or closed port."""
    version_intensity: Annotated[int, Field(ge=0, le=9)] | None = None
    max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    host_timeout: Duration = timedelta(minutes=10)
    timeout: Duration = timedelta(minutes=30)
    """The whole nmap run is killed after this (python-nmap's timeout)."""


def _check_names(v: list[str]) -> list[str]:
    for c in v:
        if c not in CHECKS:
            raise ValueError(f"{c!r} is not a check: expected some of {', '.join(CHECKS)}")
    return v


def _resolver(v: str | None) -> str | None:
    if v is not None:
        try:
            parse_resolver(v)
        except Exception as exc:  # DrillError -> a validation message on this field
            raise ValueError(str(exc)) from None
    return v


def _names(v: Any) -> dict[str, list[str]]:
    if not isinstance(v, dict):
        raise ValueError("expected a mapping of names to addresses, e.g. {portal.example: 10.20.1.11}")
    out: dict[str, list[str]] = {}
    for name, addrs in v.items():
        items = addrs if isinstance(addrs, list) else [addrs]
        try:
            out[str(name)] = [str(ipaddress.ip_address(str(a))) for a in items]
        except ValueError:
            raise ValueError(f"names.{name}: {addrs!r}: expected an IP address or a list of them") from None
    return out


class RoE(_Model):
    version: Literal[1]
    name: Text
    approval: Approval
    window: Window
    rules: Annotated[list[Rule], Field(min_length=1)]
    ports: PortRanges
    targets: list[str] = Field(default_factory=list)
    """Only these catalogue hosts (names, addresses or hostnames); empty: every in-scope catalogue host."""
    resolver: Annotated[str | None, AfterValidator(_resolver)] = None
    names: Annotated[dict[str, list[str]], BeforeValidator(_names)] = Field(default_factory=dict)
    """Fixed name -> addresses (like /etc/hosts), used before DNS; the addresses are scope-checked all the same."""
    checks: Annotated[list[str], AfterValidator(_check_names)] = Field(default_factory=lambda: list(CHECKS))
    rate: Rate = Rate()
    scan: ScanOptions = ScanOptions()
    teams: dict[str, str] = Field(default_factory=dict)
    """Optional contacts, e.g. {red: "PA05 Công an tỉnh", blue: "Trung tâm CĐS"}."""

    source: Path | None = Field(default=None, exclude=True)

    @property
    def portspec(self) -> str:
        return portspec(self.ports)

    def allows_port(self, port: int) -> bool:
        return any(lo <= port <= hi for lo, hi in self.ports)

    @property
    def port_count(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ports)

    def check_window(self, now: datetime) -> None:
        """Refuse a run outside the approved window, saying which side of it we are on."""
        tz = self.window.start.tzinfo
        shown = now.astimezone(tz).isoformat(timespec="seconds")
        if now < self.window.start:
            raise ScopeRefused(f"refused: RoE {self.name!r} window starts {self.window.start.isoformat()}; "
                               f"it is {shown}: the drill is not authorised yet")
        if now >= self.window.end:
            raise ScopeRefused(f"refused: RoE {self.name!r} window ended {self.window.end.isoformat()}; "
                               f"it is {shown}: the authorisation has expired")

    def window_open(self, now: datetime) -> bool:
        return self.window.start <= now < self.window.end


def load_roe(path: Path | str) -> RoE:
    roe = load_model(path, RoE, DrillError, "rules-of-engagement")
    return roe.model_copy(update={"source": Path(path).resolve()})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    address: str
    reason: str


class Scope:
    """Decides, for one address at a time, whether the RoE allows touching it."""

    def __init__(self, roe: RoE, catalog: Catalog | None = None) -> None:
        self.roe = roe
        self.names: dict[str, set[str]] = {}
        for h in catalog.hosts if catalog else []:
            self.names.setdefault(h.address, set()).update(n.lower() for n in (h.name, h.hostname) if n)

    def decide(self, address: str, via: tuple[str, ...] | list[str] = ()) -> Decision:
        """The last matching rule wins; no match is a deny. `via`: DNS names the address was reached by."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return Decision(False, address, "not an IP address")
        known = self.names.get(str(ip), set())
        dns_names = {n.lower().rstrip(".") for n in via} - known
        last: tuple[int, Rule] | None = None
        for i, rule in enumerate(self.roe.rules, 1):
            net = rule.network
            if net is not None:
                match = net.version == ip.version and ip in net
            else:
                name = rule.target.lower().rstrip(".")
                match = name in known or (rule.action == "deny" and name in dns_names)
            if match:
                last = (i, rule)
        if last is None:
            return Decision(False, str(ip), "no rule allows it (denied by default)")
        i, rule = last
        verdict = "allowed" if rule.action == "allow" else "denied"
        return Decision(rule.action == "allow", str(ip), f"{verdict} by rule {i} ({rule.describe()})")

    def guard(self, address: str, port: int | None = None, via: tuple[str, ...] | list[str] = ()) -> None:
        """Raise ScopeRefused unless the address (and port) is in scope: called before every connection."""
        d = self.decide(address, via)
        if not d.allowed:
            raise ScopeRefused(f"refused: {address}: {d.reason}")
        if port is not None and not self.roe.allows_port(port):
            raise ScopeRefused(f"refused: {address}:{port}: port {port} is not in the RoE ports ({self.roe.portspec})")
