"""Availability section, from the probes' read API (probes.history.UptimeReport)."""

from __future__ import annotations

from dvcops.catalog import Catalog
from probes.history import UptimeReport
from report.model import AgencyUptime, Availability, CertificateRow, IncidentRow, ServiceUptime, Status
from report.policy import Thresholds


def uptime_status(uptime: float | None, slo: float, t: Thresholds) -> Status:
    """Green at or above the SLO; amber while downtime stays within `uptime_amber_budget_multiple`
    error budgets; red below that."""
    if uptime is None:
        return "none"
    if uptime >= slo:
        return "green"
    return "amber" if uptime >= 1 - t.uptime_amber_budget_multiple * (1 - slo) else "red"


def worst(statuses: list[Status]) -> Status:
    order: list[Status] = ["red", "amber", "green"]
    for s in order:
        if s in statuses:
            return s
    return "none"


def availability_section(catalog: Catalog, rep: UptimeReport, t: Thresholds) -> Availability:
    by_id = {s.id: s for s in rep.services}
    agencies = {a.id: a for a in catalog.agencies}
    services = []
    for svc in catalog.services:
        row = by_id.get(svc.id)
        slo = catalog.slo_of(svc)
        uptime = row.uptime if row else None
        p95 = row.p95_latency_seconds if row else None
        services.append(ServiceUptime(
            id=svc.id, name=svc.name, agency=svc.agency, agency_name=agencies[svc.agency].name, level=svc.level,
            slo=slo, uptime=uptime, attempts=row.attempts if row else 0,
            downtime_minutes=row.downtime_minutes if row else 0.0, incidents=row.incidents if row else 0,
            p95_ms=p95 * 1000 if p95 is not None else None, status=uptime_status(uptime, slo, t)))
    agency_rows = []
    by_agency = {a.id: a for a in rep.agencies}
    for ag in catalog.agencies:
        mine = [s for s in services if s.agency == ag.id]
        if not mine:
            continue
        row = by_agency.get(ag.id)
        agency_rows.append(AgencyUptime(
            id=ag.id, name=ag.name, uptime=row.uptime if row else None,
            downtime_minutes=sum(s.downtime_minutes for s in mine), services=len(mine),
            services_meeting_slo=sum(s.status == "green" for s in mine), status=worst([s.status for s in mine])))
    names = {s.id: s.name for s in catalog.services}
    incidents = [IncidentRow(service=i.service, service_name=names.get(i.service, i.service), agency=i.agency,
                             start=i.start, end=i.end, duration_minutes=i.duration_minutes, ongoing=i.ongoing)
                 for i in sorted(rep.incidents, key=lambda i: i.start)]
    certs = [CertificateRow(service=c.service, endpoint=c.endpoint, expires_at=c.expires_at, days_left=c.days_left,
                            status="red" if c.days_left < 3 else "amber")
             for c in sorted(rep.certificates, key=lambda c: c.days_left) if c.days_left <= t.cert_warning_days]
    with_data = [s for s in services if s.uptime is not None]
    return Availability(
        province_uptime=rep.province.uptime, province_slo=catalog.defaults.slo, attempts=rep.province.attempts,
        downtime_minutes=sum(s.downtime_minutes for s in services),
        services_meeting_slo=sum(s.status == "green" for s in with_data), services_with_data=len(with_data),
        agencies=agency_rows, services=services, incidents=incidents, certificates=certs)
