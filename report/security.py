"""Security section, from the drills' read API (drills.compliance.security_as_of): rendered, not decided.

Whether a system had its drill and check in time, and what interval applies, is the drills' rule
(drills/policy.yml); this module only turns the answer into rows, in the province's time zone (so a
drill on 15/05 local time is not reported as 14/05) and in the report's language.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from drills.compliance import SecurityStatus
from dvcops.catalog import Catalog
from dvcops.i18n import pick
from report.model import FindingRow, Security, SystemRow, WaiverRow

SHOWN_SEVERITIES = ("critical", "high", "medium")
TOP_FINDINGS = 50


def security_section(catalog: Catalog, status: SecurityStatus, lang: str) -> Security:
    """The drills' answer as of the period's end, as the report's Security model."""
    tz = ZoneInfo(catalog.province.timezone)

    def local(t: datetime | None) -> datetime | None:
        return t.astimezone(tz) if t is not None else None

    findings = [f for items in status.open_findings.values() for f in items]  # critical first
    no_level = sorted({h.system or h.name for h in catalog.hosts if h.security_level is None})
    systems = status.systems
    return Security(
        as_of=status.as_of.astimezone(tz), policy_version=status.policy_version,
        last_drill=local(status.last_drill), last_check=local(status.last_check),
        drill_within=status.drill_ok, check_within=status.check_ok,
        drill_interval=status.drill_interval(lang), check_interval=status.check_interval(lang),
        systems_drill_ok=sum(s.drill_ok for s in systems), systems_check_ok=sum(s.check_ok for s in systems),
        open_findings={sev: len(items) for sev, items in status.open_findings.items()},
        top_findings=[FindingRow(id=f.id, host=f.host, system=f.system, severity=f.severity,
                                 title=pick(f.title, f.title_en, lang),
                                 first_seen=f.first_seen.astimezone(tz),
                                 remediation=pick(f.remediation, f.remediation_en, lang))
                      for f in findings if f.severity in SHOWN_SEVERITIES][:TOP_FINDINGS],
        waivers_expiring=[WaiverRow(finding_id=w.finding_id, approver=w.approver, justification=w.justification,
                                    expires=w.expires.astimezone(tz)) for w in status.waivers_expiring],
        systems_without_level=no_level,
        systems=[SystemRow(system=s.system, security_level=s.security_level, hosts=s.hosts,
                           last_drill=local(s.last_drill), drill_ok=s.drill_ok, drill_reference=s.drill_reference,
                           drill_months=s.drill_months, last_check=local(s.last_check), check_ok=s.check_ok,
                           check_reference=s.check_reference, check_months=s.check_months) for s in systems],
        incident_report_days=status.incident_report_days,
    )
