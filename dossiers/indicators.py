"""THE read API for dossier indicators: what `dvcops dossiers stats` prints and the DoIC report reads.

    from dossiers import indicators
    with open_database(state=StateDir()) as db:                       # or url="postgresql://..."
        figures = indicators.compute(db, catalog, Period.parse("2025"), as_of=period.end)
    figures.province.indicators["on_time_rate"].value, figures.agencies["so-khdt"], figures.services[...]

Figures are as of `as_of` (a report passes the period's end, or now while the period runs): what happened
after it does not count, whatever was imported since. Formulas, targets and point scales come from the
policy version in force at that time (policy.yml), each with its legal source and whether it was verified.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import Engine, text

from dossiers.counters import COUNTERS, SQL_COUNTERS, counting_sql, empty, with_service_counters
from dossiers.db import DossierDatabase
from dossiers.policy import Indicator, PolicyVersion, policy_for
from dvcops.catalog import Catalog
from dvcops.periods import Period

Status = Literal["green", "amber", "red", "none"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Value(BaseModel):
    """One indicator for one slice."""

    value: float | None
    """numerator / denominator, 0..1; None when the denominator is 0."""
    numerator: int
    denominator: int
    target: float | None
    status: Status
    points: float | None = None
    max_points: float | None = None


class Slice(BaseModel):
    """The province, one agency or one service."""

    counts: dict[str, int]
    indicators: dict[str, Value]


class Definition(BaseModel):
    """How an indicator is computed and on what authority (shown in the report's methodology)."""

    name_vi: str
    name_en: str
    formula: str
    target: str
    points: str | None
    source: str
    verified: bool
    note: str


class DossierIndicators(BaseModel):
    period: str
    start: datetime
    end: datetime
    as_of: datetime
    """Figures count what happened before this time (the period's end, or earlier)."""
    policy_version: str
    definitions: dict[str, Definition]
    province: Slice
    agencies: dict[str, Slice]
    services: dict[str, Slice]

    @property
    def has_data(self) -> bool:
        """Whether any dossier was received, returned or open in the period."""
        c = self.province.counts
        return bool(c["received"] or c["returned"] or c["open"])


def _epoch(t: datetime) -> int:
    return (t - EPOCH) // timedelta(seconds=1)


def count(engine: Engine, start: datetime, cutoff: datetime, unhappy: list[str]
          ) -> list[tuple[str, str, dict[str, int]]]:
    """(service, agency, counters) for every service with a dossier that counts in [start, cutoff)."""
    sql, names = counting_sql(unhappy)
    with engine.connect() as conn:
        rows = conn.execute(text(sql), {"s": _epoch(start), "e": _epoch(cutoff), **names}).all()
    return [(r[0], r[1], dict(zip(SQL_COUNTERS, (int(v) for v in r[2:]), strict=True))) for r in rows]


def _target(ind: Indicator, catalog: Catalog, year: int) -> float | None:
    if ind.target.catalogue is not None:
        return getattr(catalog.targets, ind.target.catalogue).get(year)
    return ind.target.green_at


def _value(ind: Indicator, counts: dict[str, int], target: float | None) -> Value:
    numerator = sum(-counts[n[1:]] if n.startswith("-") else counts[n] for n in ind.numerator)
    denominator = counts[ind.denominator]
    value = numerator / denominator if denominator else None
    if value is None or target is None:
        status: Status = "none"
    elif value >= target:
        status = "green"
    else:
        status = "amber" if value >= target - ind.target.amber_gap else "red"
    return Value(value=value, numerator=numerator, denominator=denominator, target=target, status=status,
                 points=ind.points.of(value) if ind.points else None,
                 max_points=ind.points.max if ind.points else None)


def _slice(policy: PolicyVersion, counts: dict[str, int], catalog: Catalog, year: int) -> Slice:
    return Slice(counts=counts, indicators={key: _value(ind, counts, _target(ind, catalog, year))
                                            for key, ind in policy.indicators.items()})


def _definition(policy: PolicyVersion, key: str, ind: Indicator) -> Definition:
    if ind.target.catalogue is not None:
        target = f"catalogue targets.{ind.target.catalogue} of the year; amber within {ind.target.amber_gap:.0%}"
    else:
        target = f">= {ind.target.green_at:.0%}; amber within {ind.target.amber_gap:.0%}"
    points = (f"{ind.points.max:g} points at or above {ind.points.full_at:.0%}, proportional below"
              f"{'' if ind.points.verified else ' (unverified)'}") if ind.points else None
    source = policy.sources[ind.source]
    return Definition(name_vi=ind.name.vi, name_en=ind.name.en, formula=ind.formula(), target=target, points=points,
                      source=source.ref, verified=ind.verified and source.verified, note=ind.note)


def compute(db: DossierDatabase | Engine, catalog: Catalog, period: Period, *, as_of: datetime,
            policy: PolicyVersion | None = None) -> DossierIndicators:
    """Indicators per province, agency and service for `period`, counting what happened before `as_of`."""
    engine = db.engine if isinstance(db, DossierDatabase) else db
    tz = ZoneInfo(catalog.province.timezone)
    cutoff = max(period.start, min(period.end, as_of))
    policy = policy or policy_for((cutoff - timedelta(microseconds=1)).astimezone(tz).date())
    year = period.start.year
    levels = {s.id: s.level for s in catalog.services}
    province = empty()
    agencies: dict[str, dict[str, int]] = {}
    services: dict[str, dict[str, int]] = {}
    for service_id, agency_id, sql_counts in count(engine, period.start, cutoff, policy.unhappy_ratings):
        counts = with_service_counters(sql_counts, levels.get(service_id))
        for total in (province, agencies.setdefault(agency_id, empty()), services.setdefault(service_id, empty())):
            for k, v in counts.items():
                total[k] += v
    return DossierIndicators(
        period=period.label, start=period.start, end=period.end, as_of=cutoff, policy_version=policy.version,
        definitions={k: _definition(policy, k, ind) for k, ind in policy.indicators.items()},
        province=_slice(policy, province, catalog, year),
        agencies={k: _slice(policy, v, catalog, year) for k, v in sorted(agencies.items())},
        services={k: _slice(policy, v, catalog, year) for k, v in sorted(services.items())},
    )


__all__ = ["COUNTERS", "Definition", "DossierIndicators", "Slice", "Value", "compute"]
