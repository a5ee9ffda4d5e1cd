"""Dossier section, from the dossiers' read API (dossiers.indicators.compute), and the reconciliation with the
figures the national portal publishes for the province (`--reference FILE`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from dossiers import indicators
from dossiers.db import DossierDatabase
from dvcops.catalog import Catalog
from dvcops.periods import Period
from dvcops.yamlsource import read_source, validate_model
from report.errors import ReportError
from report.model import DossierAgencyRow, DossierIndicatorRow, Dossiers

Fraction = Annotated[float, Field(ge=0, le=1)]


class Reference(BaseModel):
    """What the national portal (Cổng DVCQG, the 766 index pages) publishes for the province and period."""

    model_config = ConfigDict(extra="forbid")
    source: str
    """Where and when the figures were read, e.g. "Cổng DVCQG, chỉ số 766, tra cứu 05/07/2025"."""
    period: str
    indicators: dict[str, Fraction]
    """Indicator id (online_rate, full_online_rate, on_time_rate, satisfaction_766) -> fraction 0..1."""


def load_reference(path: Path, period: Period) -> Reference:
    """The reference file (YAML or JSON); every problem as `file:line: path: message`, exit 2."""
    data, smap = read_source(path, ReportError)
    ref = validate_model(Reference, data, smap, ReportError)
    problems = []
    if ref.period != period.label:
        problems.append(smap.error(("period",), f"{ref.period!r}: expected the report's period {period.label!r}"))
    for key in ref.indicators:
        if key not in _KNOWN:
            problems.append(smap.error(("indicators", key), f"unknown indicator: expected one of {', '.join(_KNOWN)}"))
    if problems:
        raise ReportError(*problems)
    return ref


_KNOWN = ("online_rate", "full_online_rate", "on_time_rate", "satisfaction_766")


def dossiers_section(catalog: Catalog, db: DossierDatabase, period: Period, as_of: datetime, lang: str,
                     reference: Reference | None = None) -> Dossiers:
    figures = indicators.compute(db, catalog, period, as_of=as_of)
    p = figures.province
    rows = []
    for key, d in figures.definitions.items():
        v = p.indicators[key]
        ref = reference.indicators.get(key) if reference else None
        rows.append(DossierIndicatorRow(
            id=key, label=d.name_en if lang == "en" else d.name_vi, value=v.value, numerator=v.numerator,
            denominator=v.denominator, target=v.target, status=v.status, points=v.points, max_points=v.max_points,
            formula=d.formula, source=d.source, verified=d.verified, note=d.note, reference=ref,
            difference=v.value - ref if v.value is not None and ref is not None else None))
    names = {a.id: a.name for a in catalog.agencies}

    def rate(s: indicators.Slice, key: str) -> float | None:
        return s.indicators[key].value if key in s.indicators else None

    agencies = [DossierAgencyRow(id=a, name=names.get(a, a), received=s.counts["received"],
                                 online_rate=rate(s, "online_rate"), full_online_rate=rate(s, "full_online_rate"),
                                 on_time_rate=rate(s, "on_time_rate"), overdue_open=s.counts["overdue_open"],
                                 satisfaction_766=rate(s, "satisfaction_766"))
                for a, s in sorted(figures.agencies.items(), key=lambda kv: names.get(kv[0], kv[0]))]
    return Dossiers(has_data=figures.has_data, as_of=figures.as_of, policy_version=figures.policy_version,
                    received=p.counts["received"], returned=p.counts["returned"], open=p.counts["open"],
                    overdue_open=p.counts["overdue_open"], legacy_codes=p.counts["legacy_codes"],
                    indicators=rows, agencies=agencies, reference_source=reference.source if reference else None)
