"""Security section, from the drills' read API (drills.findings.FindingsStore)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from drills.findings import FindingsStore
from dvcops.catalog import Catalog
from report.model import FindingRow, Security, SystemRow, WaiverRow
from report.policy import Thresholds


def security_section(catalog: Catalog, store: FindingsStore, as_of: datetime, t: Thresholds,
                     lang: str) -> Security:
    """Obligations as of `as_of` (the end of the period, or now if the period has not ended); times shown in
    the province's time zone, so a drill on 15/05 local time is not reported as 14/05."""
    tz = ZoneInfo(catalog.province.timezone)

    def local(t: datetime | None) -> datetime | None:
        return t.astimezone(tz) if t is not None else None

    systems = store.compliance(catalog, at=as_of)
    drills = [s.last_drill for s in systems if s.last_drill is not None and s.last_drill <= as_of]
    checks = [s.last_check for s in systems if s.last_check is not None and s.last_check <= as_of]
    last_drill, last_check = local(max(drills, default=None)), local(max(checks, default=None))
    by_sev = store.by_severity()
    findings = [f for items in by_sev.values() for f in items]  # critical first
    no_level = sorted({h.system or h.name for h in catalog.hosts if h.security_level is None})
    return Security(
        as_of=as_of.astimezone(tz), last_drill=last_drill, last_check=last_check,
        drill_within=last_drill is not None and as_of - last_drill <= timedelta(days=30.44 * t.drill_every_months),
        check_within=last_check is not None and as_of - last_check <= timedelta(days=30.44 * t.check_every_months),
        open_findings={sev.value: len(items) for sev, items in by_sev.items()},
        top_findings=[FindingRow(id=f.id, host=f.host, system=f.system, severity=f.severity,
                                 title=f.title if lang == "vi" else f.title_en,
                                 first_seen=f.first_seen.astimezone(tz),
                                 remediation=f.remediation if lang == "vi" else f.remediation_en)
                      for f in findings if f.severity in ("critical", "high", "medium")][:50],
        waivers_expiring=[WaiverRow(finding_id=w.finding_id, approver=w.approver, justification=w.justification,
                                    expires=w.expires.astimezone(tz))
                          for w in store.waivers_expiring(timedelta(days=30))],
        systems_without_level=no_level,
        systems=[SystemRow(system=s.system, security_level=s.security_level, hosts=s.hosts,
                           last_drill=local(s.last_drill), drill_ok=s.drill_ok, last_check=local(s.last_check),
                           check_ok=s.check_ok) for s in systems],
        incident_report_days=t.incident_report_days,
    )
