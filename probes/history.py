"""Probe history: THE read API other parts (the DoIC report) use, and the ways to write it.

Read, for any period (`2025-06`, `2025-Q2`, `2025-H1`, `2025`, or from/to) and for an endpoint,
service, agency or the whole province:

    history = History.in_state(StateDir())                  # or History.from_prometheus(url)
    report = history.report("2025-Q2", catalog)              # everything below in one call
    history.uptime("2025-Q2", service="dang-ky-kinh-doanh", catalog=catalog)   # one Availability
    history.incidents("2025-06", agency="so-khdt")           # outages with start, end, duration
    history.certificates(within_days=30)                     # certificates expiring soon

Write (SQLite only): `record(results)` is what the prober calls; `write(ref, samples)` adds known
attempts one by one; `backfill(ref, start, end, every, outages=..., maintenance=...)` adds a regular
series with outages and maintenance windows (fixtures, imports, benchmarks).

The rules, so figures can be checked by hand:
- uptime = successful attempts / charged attempts. Attempts inside a catalogue maintenance window
  and attempts made while the connectivity canary failed (`unknown`) are not charged: they leave
  the denominator, they are not counted as up.
- an endpoint's incident starts at its first charged failure and ends at the next successful
  attempt (or at the next attempt inside maintenance); its duration is end - start.
- a service is down while any of its endpoints is: its incidents are the union of its endpoints'
  (overlapping ones merged) and its downtime minutes their total length. An agency's or the
  province's downtime minutes are the sum over their services (service-minutes).
- p95 latency is over successful attempts, estimated from the latency histogram.
- periods are local calendar periods in the province's time zone, end exclusive.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from dvcops.catalog import Catalog, Maintenance, Service
from dvcops.periods import Period
from dvcops.state import StateDir
from dvcops.timezone import DEFAULT_TZ
from probes import backfill as _backfill
from probes.errors import ProbeError
from probes.models import FailureReason, ProbeResult, State
from probes.rollup import Counts, EndpointPeriod
from probes.store import Sample as _Sample
from probes.store import SqliteStore

if TYPE_CHECKING:
    from probes.journeys import JourneyResult

Scope = Literal["endpoint", "service", "agency", "province", "journey"]
JOURNEY_PREFIX = "journey:"
"""Journeys are stored as endpoints `journey:<name>` of their service and reported as rows of their own."""
HISTORY_FILE = ("probes", "history.sqlite")


# ---------------------------------------------------------------------------- public models


class EndpointRef(BaseModel):
    """Which endpoint a written sample belongs to (the same labels the prober uses)."""

    service: str
    agency: str
    endpoint: str
    level: str = ""


class Sample(BaseModel):
    """One known attempt."""

    at: datetime
    state: State
    latency_seconds: float | None = None
    reason: FailureReason | None = None
    cert_expiry: datetime | None = None


class Availability(BaseModel):
    """Uptime of one endpoint, service, agency or the province over a period."""

    scope: Scope
    id: str
    """Endpoint label, service id, agency id or province code."""
    name: str | None = None
    service: str | None = None
    agency: str | None = None
    period: str
    attempts: int = 0
    """Charged attempts (maintenance and unknown excluded)."""
    successes: int = 0
    unknown: int = 0
    maintenance: int = 0
    uptime: float | None = None
    """successes / attempts; None when nothing was charged."""
    slo: float | None = None
    meets_slo: bool | None = None
    downtime_minutes: float = 0.0
    incidents: int = 0
    p95_latency_seconds: float | None = None
    mean_latency_seconds: float | None = None
    services: int | None = None
    """For agencies and the province: how many services, and how many meet their SLO."""
    services_meeting_slo: int | None = None
    locations: int | None = None
    """Read from the quorum series of several locations: how many locations reported (at most, over the period)."""
    failed_step: str | None = None
    """Journeys: the step at which the period's last failure stopped."""


class Incident(BaseModel):
    """An outage of a service (or of one endpoint when asked by endpoint), clipped to the period."""

    service: str
    agency: str
    endpoints: list[str]
    start: datetime
    end: datetime | None
    """None while it lasts."""
    duration_minutes: float
    ongoing: bool = False
    reason: str | None = None


class CertificateExpiry(BaseModel):
    service: str
    agency: str
    endpoint: str
    expires_at: datetime
    days_left: float
    subject: str | None = None
    seen_at: datetime | None = None


class UptimeReport(BaseModel):
    """Everything the DoIC report needs from the probes for one period."""

    period: str
    start: datetime
    end: datetime
    source: str
    province: Availability
    agencies: list[Availability] = Field(default_factory=list)
    services: list[Availability] = Field(default_factory=list)
    endpoints: list[Availability] = Field(default_factory=list)
    journeys: list[Availability] = Field(default_factory=list)
    """Journeys (multi-step checks) as rows of their own: not part of their service's uptime."""
    incidents: list[Incident] = Field(default_factory=list)
    certificates: list[CertificateExpiry] = Field(default_factory=list)


class Source(Protocol):
    """Where history comes from: the SQLite store, or a Prometheus server."""

    name: str

    def collect(self, start: float, end: float) -> list[EndpointPeriod]: ...


# ---------------------------------------------------------------------------- the facade


class History:
    """Probe history over a SQLite file (read and write) or a Prometheus server (read only)."""

    def __init__(self, path: Path | str | None = None, timezone: str = DEFAULT_TZ, *, raw_days: int = 14,
                 hourly_days: int = 400, source: Source | None = None) -> None:
        if source is None:
            if path is None:
                raise ValueError("History needs a SQLite path or a source")
            self.store: SqliteStore | None = SqliteStore(Path(path), timezone, raw_days, hourly_days)
            self.source: Source = _SqliteSource(self.store)
            timezone = self.store.tz.key
        else:
            self.store, self.source = None, source
        self.timezone = timezone

    @classmethod
    def in_state(cls, state: StateDir | None = None, timezone: str = DEFAULT_TZ, *, raw_days: int = 14,
                 hourly_days: int = 400) -> History:
        """The history file of a state directory: `<state>/probes/history.sqlite`."""
        return cls((state or StateDir()).path(*HISTORY_FILE), timezone, raw_days=raw_days, hourly_days=hourly_days)

    @classmethod
    def from_prometheus(cls, url: str, timezone: str = DEFAULT_TZ, timeout: float = 30.0) -> History:
        """Read the same answers from a Prometheus server scraping `dvcops probe serve`."""
        from probes.promsource import PrometheusSource

        return cls(source=PrometheusSource(url, timeout=timeout), timezone=timezone)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    def _writable(self) -> SqliteStore:
        if self.store is None:
            raise ProbeError("this history reads from Prometheus: write to a SQLite history instead")
        return self.store

    def record(self, results: Iterable[ProbeResult], raw: bool = True) -> None:
        """Store what the prober observed (state already decided: up, down, unknown, maintenance)."""
        by_endpoint: dict[tuple[str, str, str, str], list[_Sample]] = defaultdict(list)
        for r in results:
            cert = r.cert
            by_endpoint[(r.service, r.agency, r.level, r.endpoint)].append(_Sample(
                at=r.at.timestamp(), state=r.state, latency=r.duration_seconds if r.success else None,
                reason=r.failure_reason, error=r.error, status_code=r.status_code,
                cert_expiry=cert.earliest_expiry.timestamp() if cert else None,
                cert_subject=cert.subject if cert else None))
        self._writable().write_samples(by_endpoint.items(), raw=raw)

    def record_journeys(self, results: Iterable[JourneyResult], raw: bool = True) -> None:
        """Store journey runs as attempts of the endpoint `journey:<name>`; a failure's reason is its step."""
        by_journey: dict[tuple[str, str, str, str], list[_Sample]] = defaultdict(list)
        for r in results:
            by_journey[(r.service, r.agency, r.level, f"{JOURNEY_PREFIX}{r.journey}")].append(_Sample(
                at=r.at.timestamp(), state=r.state, latency=r.duration_seconds if r.success else None,
                reason=r.failed_step, error=r.error))
        self._writable().write_samples(by_journey.items(), raw=raw)

    def write(self, ref: EndpointRef, samples: Iterable[Sample], maintenance: Sequence[Maintenance] = ()) -> None:
        """Add known attempts; up/down attempts inside a maintenance window are stored as maintenance."""
        rows = []
        for s in samples:
            _aware(s.at, "sample time")
            state = s.state
            if state in ("up", "down") and any(True for m in maintenance for _ in m.windows(s.at, s.at +
                                                                                           timedelta(microseconds=1))):
                state = "maintenance"
            rows.append(_Sample(at=s.at.timestamp(), state=state,
                                latency=s.latency_seconds if state == "up" else None, reason=s.reason,
                                cert_expiry=s.cert_expiry.timestamp() if s.cert_expiry else None))
        self._writable().write_samples([((ref.service, ref.agency, ref.level, ref.endpoint), rows)])

    def backfill(self, ref: EndpointRef, start: datetime, end: datetime, every: timedelta = timedelta(minutes=1),
                 outages: Sequence[tuple[datetime, datetime]] = (),
                 maintenance: Sequence[Maintenance | tuple[datetime, datetime]] = (),
                 unknown: Sequence[tuple[datetime, datetime]] = (), latency_seconds: float = 0.1,
                 reason: FailureReason = "connect") -> None:
        """Add attempts every `every` from `start` (inclusive) to `end` (exclusive): failing inside
        `outages`, not charged inside `maintenance` (catalogue windows or explicit spans) or `unknown`,
        successful with `latency_seconds` otherwise. Exactly what probing would have recorded."""
        for t, what in ((start, "start"), (end, "end")):
            _aware(t, what)
        windows: list[tuple[float, float]] = []
        for m in maintenance:
            if isinstance(m, Maintenance):
                windows += [(a.timestamp(), b.timestamp()) for a, b in m.windows(start, end)]
            else:
                windows.append((m[0].timestamp(), m[1].timestamp()))
        data = _backfill.series(start.timestamp(), end.timestamp(), every.total_seconds(),
                                outages=[(a.timestamp(), b.timestamp()) for a, b in outages], maintenance=windows,
                                unknown=[(a.timestamp(), b.timestamp()) for a, b in unknown],
                                latency=latency_seconds, reason=reason)
        self._writable().write_rollups((ref.service, ref.agency, ref.level, ref.endpoint), data.hourly,
                                       data.outages, data.last_at, data.last_state)

    # ------------------------------------------------------------------ reading

    def period(self, period: Period | str, catalog: Catalog | None = None) -> Period:
        if isinstance(period, Period):
            return period
        return Period.parse(period, catalog.province.timezone if catalog else self.timezone)

    def report(self, period: Period | str, catalog: Catalog | None = None, cert_days: float = 30,
               now: datetime | None = None, *, as_of: datetime | None = None) -> UptimeReport:
        """Uptime per endpoint, service, agency and province, incidents and expiring certificates.

        `as_of` (e.g. the end of a closed period) reads the past: attempts up to it, an incident still
        open at it shown as ongoing, and the certificates seen by then, counted down from it; what was
        probed later changes nothing. Without it, certificates are the latest ones, counted from `now`."""
        p = self.period(period, catalog)
        end = p.end if as_of is None else min(p.end, as_of)
        eps = self.source.collect(p.start.timestamp(), max(end, p.start).timestamp())
        if as_of is not None and self.store is not None:
            certs = self.store.certificates_at(as_of.timestamp())
            for e in eps:
                e.cert_expiry, e.cert_seen_at, e.cert_subject = certs.get((e.service, e.endpoint), (None, None, None))
        tz = ZoneInfo(catalog.province.timezone if catalog else self.timezone)
        return _summarise(p, eps, catalog, self.source.name, tz, cert_days, as_of or now or datetime.now(UTC))

    def availability(self, period: Period | str, scope: Scope = "service",
                     catalog: Catalog | None = None) -> list[Availability]:
        """One row per endpoint, service or agency (or the single province row)."""
        rep = self.report(period, catalog)
        return {"endpoint": rep.endpoints, "service": rep.services, "agency": rep.agencies,
                "province": [rep.province]}[scope]

    def uptime(self, period: Period | str, *, service: str | None = None, agency: str | None = None,
               endpoint: str | None = None, catalog: Catalog | None = None) -> Availability:
        """One row: the endpoint (with its service), the service, the agency, or else the province."""
        rep = self.report(period, catalog)
        if endpoint is not None:
            rows = [r for r in rep.endpoints if r.id == endpoint and (service is None or r.service == service)]
        elif service is not None:
            rows = [r for r in rep.services if r.id == service]
        elif agency is not None:
            rows = [r for r in rep.agencies if r.id == agency]
        else:
            rows = [rep.province]
        if not rows:
            what = endpoint or service or agency
            raise ProbeError(f"no probe history for {what!r} in {rep.period}: check the id against the catalogue")
        return rows[0]

    def incidents(self, period: Period | str, *, service: str | None = None, agency: str | None = None,
                  endpoint: str | None = None, catalog: Catalog | None = None) -> list[Incident]:
        """Service incidents (merged across endpoints), or one endpoint's own when `endpoint` is given."""
        p = self.period(period, catalog)
        eps = self.source.collect(p.start.timestamp(), p.end.timestamp())
        tz = ZoneInfo(catalog.province.timezone if catalog else self.timezone)
        if endpoint is not None:
            chosen = [e for e in eps if e.endpoint == endpoint and (service is None or e.service == service)]
            return [inc for e in chosen for inc in _merge([e], tz)]
        out = []
        for (sid, _ag), group in _by_service(eps, catalog).items():
            if (service is None or sid == service) and (agency is None or _ag == agency):
                out += _merge(group, tz)
        return sorted(out, key=lambda i: i.start)

    def certificates(self, within_days: float = 30, now: datetime | None = None) -> list[CertificateExpiry]:
        """The latest certificate seen on each endpoint that expires within `within_days` (expired included)."""
        now = now or datetime.now(UTC)
        eps = self.source.collect(now.timestamp() - 3600, now.timestamp())
        return _certificates(eps, within_days, now, ZoneInfo(self.timezone))

    def raw(self, since: datetime, until: datetime | None = None) -> list[dict[str, object]]:
        """Raw results still kept (`raw_days`), oldest first (SQLite only)."""
        return self._writable().raw(since.timestamp(), until.timestamp() if until else None)


class _SqliteSource:
    name = "sqlite"

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def collect(self, start: float, end: float) -> list[EndpointPeriod]:
        return self.store.collect(start, end)


def _aware(t: datetime, what: str) -> None:
    if t.tzinfo is None:
        raise ProbeError(f"{what} {t.isoformat()!r}: give a time zone, e.g. 2025-06-01T00:00:00+07:00")


# ---------------------------------------------------------------------------- rolling up


def _by_service(eps: list[EndpointPeriod], catalog: Catalog | None) -> dict[tuple[str, str], list[EndpointPeriod]]:
    """Endpoints grouped by (service, agency); the catalogue's agency wins over the recorded label."""
    known = {s.id: s.agency for s in catalog.services} if catalog else {}
    groups: dict[tuple[str, str], list[EndpointPeriod]] = defaultdict(list)
    for e in eps:
        groups[(e.service, known.get(e.service, e.agency))].append(e)
    return groups


@dataclass
class _Span:
    start: float
    end: float
    reason: str | None
    ongoing: bool
    endpoints: list[str]


def _merge(eps: list[EndpointPeriod], tz: ZoneInfo) -> list[Incident]:
    """The union of the endpoints' outages as incidents (overlapping or touching ones merged)."""
    merged: list[_Span] = []
    for start, end, reason, ongoing, label in sorted(
            (a, b, reason, ongoing, e.endpoint) for e in eps for a, b, reason, ongoing in e.outages):
        last = merged[-1] if merged else None
        if last is not None and start <= last.end:
            last.end = max(last.end, end)
            last.ongoing = last.ongoing or ongoing
            if label not in last.endpoints:
                last.endpoints.append(label)
        else:
            merged.append(_Span(start, end, reason, ongoing, [label]))
    service, agency = (eps[0].service, eps[0].agency) if eps else ("", "")
    return [Incident(service=service, agency=agency, endpoints=m.endpoints, start=datetime.fromtimestamp(m.start, tz),
                     end=None if m.ongoing else datetime.fromtimestamp(m.end, tz),
                     duration_minutes=round((m.end - m.start) / 60, 6), ongoing=m.ongoing, reason=m.reason)
            for m in merged]


def _row(scope: Scope, ident: str, period: str, counts: Counts, **kw: object) -> Availability:
    return Availability(scope=scope, id=ident, period=period, attempts=counts.charged, successes=counts.successes,
                        unknown=counts.unknowns, maintenance=counts.maintenance, uptime=counts.uptime,
                        p95_latency_seconds=counts.quantile(0.95), mean_latency_seconds=counts.mean_latency,
                        **kw)  # type: ignore[arg-type]


def _certificates(eps: list[EndpointPeriod], within_days: float, now: datetime,
                  tz: ZoneInfo) -> list[CertificateExpiry]:
    limit = now.timestamp() + within_days * 86400
    out = [CertificateExpiry(service=e.service, agency=e.agency, endpoint=e.endpoint,
                             expires_at=datetime.fromtimestamp(e.cert_expiry, tz),
                             days_left=round((e.cert_expiry - now.timestamp()) / 86400, 3), subject=e.cert_subject,
                             seen_at=datetime.fromtimestamp(e.cert_seen_at, tz) if e.cert_seen_at else None)
           for e in eps if e.cert_expiry is not None and e.cert_expiry <= limit]
    return sorted(out, key=lambda c: c.expires_at)


def _summarise(p: Period, eps: list[EndpointPeriod], catalog: Catalog | None, source: str, tz: ZoneInfo,
               cert_days: float, now: datetime) -> UptimeReport:
    label = p.label
    services = {s.id: s for s in catalog.services} if catalog else {}
    agencies = {a.id: a for a in catalog.agencies} if catalog else {}
    journeys = [e for e in eps if e.endpoint.startswith(JOURNEY_PREFIX)]
    eps = [e for e in eps if not e.endpoint.startswith(JOURNEY_PREFIX)]
    groups = _by_service(eps, catalog)
    for sid, known in services.items():  # catalogue services with no history yet still get a row
        groups.setdefault((sid, known.agency), [])

    endpoint_rows = [
        _row("endpoint", e.endpoint, label, e.counts, service=e.service, agency=agency,
             downtime_minutes=round(sum(b - a for a, b, _, _ in e.outages) / 60, 6), incidents=len(e.outages))
        for (_, agency), group in groups.items() for e in group
    ]
    incidents: list[Incident] = []
    service_rows: list[Availability] = []
    for (sid, agency), group in groups.items():
        counts = Counts()
        for e in group:
            counts.merge(e.counts)
        merged = _merge(group, tz) if group else []
        for inc in merged:
            inc.agency = agency
        incidents += merged
        svc = services.get(sid)
        slo = catalog.slo_of(svc) if catalog and svc else None
        reported = [e.locations for e in group if e.locations is not None]
        service_rows.append(_row(
            "service", sid, label, counts, name=svc.name if svc else None, service=sid, agency=agency, slo=slo,
            meets_slo=None if slo is None or counts.uptime is None else counts.uptime >= slo,
            downtime_minutes=round(sum(i.duration_minutes for i in merged), 6), incidents=len(merged),
            locations=max(reported) if reported else None))

    def roll(scope: Scope, ident: str, rows: list[Availability], name: str | None) -> Availability:
        counts = Counts()
        for (sid, agency), group in groups.items():
            if any(r.id == sid and r.agency == agency for r in rows):
                for e in group:
                    counts.merge(e.counts)
        return _row(scope, ident, label, counts, name=name, agency=ident if scope == "agency" else None,
                    downtime_minutes=round(sum(r.downtime_minutes for r in rows), 6),
                    incidents=sum(r.incidents for r in rows), services=len(rows),
                    services_meeting_slo=sum(1 for r in rows if r.meets_slo))

    by_agency: dict[str, list[Availability]] = defaultdict(list)
    for r in service_rows:
        by_agency[r.agency or ""].append(r)
    agency_ids = list(agencies) + sorted(a for a in by_agency if a not in agencies)
    agency_rows = [roll("agency", a, by_agency[a], agencies[a].name if a in agencies else None)
                   for a in agency_ids if by_agency.get(a)]
    province = roll("province", catalog.province.code if catalog else "province", service_rows,
                    catalog.province.name if catalog else None)
    order = {sid: i for i, sid in enumerate(services)}
    service_rows.sort(key=lambda r: (order.get(r.id, len(order)), r.id))
    journey_rows = [_journey_row(e, label, services, catalog) for e in journeys]
    journey_rows.sort(key=lambda r: (order.get(r.service or "", len(order)), r.id))
    return UptimeReport(period=label, start=p.start, end=p.end, source=source, province=province,
                        agencies=agency_rows, services=service_rows, endpoints=endpoint_rows, journeys=journey_rows,
                        incidents=sorted(incidents, key=lambda i: i.start),
                        certificates=_certificates(eps, cert_days, now, tz))


def _journey_row(e: EndpointPeriod, label: str, services: dict[str, Service], catalog: Catalog | None) -> Availability:
    """A journey's own row: its runs, outages and the step its last failure stopped at."""
    name = e.endpoint.removeprefix(JOURNEY_PREFIX)
    svc = services.get(e.service)
    declared = next((j for j in svc.journeys if j.name == name), None) if svc else None
    slo = catalog.slo_of(svc) if catalog and svc else None
    failed = [reason for _, _, reason, _ in e.outages if reason]
    return _row("journey", name, label, e.counts, name=(declared.title if declared else None) or name,
                service=e.service, agency=svc.agency if svc else e.agency, slo=slo,
                meets_slo=None if slo is None or e.counts.uptime is None else e.counts.uptime >= slo,
                downtime_minutes=round(sum(b - a for a, b, _, _ in e.outages) / 60, 6), incidents=len(e.outages),
                failed_step=failed[-1] if failed else None)
