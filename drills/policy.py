"""Severity rules, port classes, compliance periods and legal references, read from `policy.yml`.

Kept as data so a new decree or a different severity for a port class is an edit to one YAML file
with a new version, not a code change.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from drills.errors import DrillError
from drills.settings import get_drill_settings
from dvcops.yamlsource import load_model

POLICY_FILE = Path(__file__).with_name("policy.yml")


class Severity(StrEnum):
    """Finding severities, as nuclei and Greenbone name them."""

    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"

    @property
    def rank(self) -> int:
        """4 for critical down to 0 for info: sort with `key=lambda s: -s.rank`."""
        return _ORDER.index(self)

    def shifted(self, steps: int) -> Severity:
        return _ORDER[max(0, min(len(_ORDER) - 1, self.rank + steps))]


_ORDER = [Severity.info, Severity.low, Severity.medium, Severity.high, Severity.critical]
SEVERITIES = list(reversed(_ORDER))
"""critical first."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LegalRefs(_Model):
    from_: date = Field(alias="from")
    until: date | None = None
    security_levels: str
    incidents: str


class Period(_Model):
    drill_months: int = 12
    check_months: int = 12


class Compliance(_Model):
    default: Period = Period()
    levels: dict[int, Period] = Field(default_factory=dict)


class Incident(_Model):
    report_within_days: int = 5
    recipients: list[str]
    notify_severities: list[Severity] = [Severity.critical]


class PortClass(_Model):
    ports: list[int] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    banners: list[str] = Field(default_factory=list)


class ZoneSeverity(_Model):
    dmz: Severity
    other: Severity


class Tls(_Model):
    expiry_warn_days: int = 30
    expiry_high_days: int = 7


class Content(_Model):
    defacement_markers: list[str] = Field(default_factory=list)


class Policy(_Model):
    version: str
    legal: list[LegalRefs]
    compliance: Compliance = Compliance()
    incident: Incident
    port_classes: dict[str, PortClass]
    unexpected_port: dict[str, ZoneSeverity]
    approved_not_answering: Severity = Severity.medium
    level_adjust: dict[int, int] = Field(default_factory=dict)
    tls: Tls = Tls()
    content: Content = Content()

    def legal_at(self, day: date) -> LegalRefs:
        """The legal references in force on `day` (the last entry that started by then)."""
        current = [r for r in self.legal if r.from_ <= day and (r.until is None or day < r.until)]
        return current[-1] if current else self.legal[0]

    def period_for(self, security_level: int | None) -> Period:
        return self.compliance.levels.get(security_level or 0, self.compliance.default)

    def port_class(self, port: int, service: str = "", banner: str = "") -> str:
        """'remote-admin', 'database' or 'other', from nmap's service name, the banner, then the port number."""
        for name, cls in self.port_classes.items():
            if service and service.lower() in cls.services:
                return name
        for name, cls in self.port_classes.items():
            if banner and any(b.lower() in banner.lower() for b in cls.banners):
                return name
        for name, cls in self.port_classes.items():
            if port in cls.ports:
                return name
        return "other"

    def for_level(self, severity: Severity, security_level: int | None) -> Severity:
        """Move a severity up or down by the host's approved security level (cấp độ); info stays info."""
        if severity == Severity.info:
            return severity
        return severity.shifted(self.level_adjust.get(security_level or 3, 0))

    def unexpected_port_severity(self, port_class: str, zone: str, security_level: int | None) -> Severity:
        rule = self.unexpected_port.get(port_class, self.unexpected_port["other"])
        return self.for_level(rule.dmz if zone == "dmz" else rule.other, security_level)


def load_policy(path: Path | None = None) -> Policy:
    """The policy in `path`, else in DVCOPS_DRILL_POLICY, else the shipped policy.yml; a bad file is
    DrillError lines `file:line: field: message`."""
    return _read_policy(path or get_drill_settings().policy or POLICY_FILE)


@cache
def _read_policy(path: Path) -> Policy:
    return load_model(path, Policy, DrillError, "drills policy")
