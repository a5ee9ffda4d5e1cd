"""GET /stats: the Decision 766 indicators for a period, agency or service (public: no comments)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from dvcops.periods import Period, PeriodError
from survey import stats
from survey.api.deps import ContextDep
from survey.core.config import API_V1
from survey.errors import FieldError, RatingInvalid
from survey.stats import SatisfactionStats

router = APIRouter(prefix=API_V1, tags=["stats"])


@router.get("/stats", response_model=SatisfactionStats)
def get_stats(
    ctx: ContextDep,
    date_from: Annotated[date | None, Query(alias="from", description="First day counted (YYYY-MM-DD)")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Last day counted, inclusive")] = None,
    period: Annotated[str | None, Query(max_length=16, description="Or a period: 2025, 2025-06, 2025-Q2, 2025-H1")
                      ] = None,
    agency: Annotated[str | None, Query(max_length=63)] = None,
    service: Annotated[str | None, Query(max_length=63)] = None,
) -> SatisfactionStats:
    """Number of ratings, counts per level, per SIPAS factor, mean score (0-100) and ratio_766 =
    (ratings - ratings "không hài lòng") / ratings, overall and per agency and service."""
    errors: list[FieldError] = []
    tz = ctx.catalog.province.timezone
    chosen: Period | None = None
    if period is not None:
        if date_from is not None or date_to is not None:
            errors.append(FieldError(("query", "period"), "schema", {"msg": "give either period or from/to"}))
        else:
            try:
                chosen = Period.parse(period, tz)
            except PeriodError as exc:
                errors.append(FieldError(("query", "period"), "schema", {"msg": exc.lines[0]}))
    elif date_from is not None or date_to is not None:
        start = date_from or date(1970, 1, 1)
        end = date_to or date(9998, 12, 31)
        if end < start:
            errors.append(FieldError(("query", "to"), "schema", {"msg": f"{end} is before from={start}"}))
        else:
            chosen = Period.between(start, end + timedelta(days=1), tz)
    if agency is not None and agency not in {a.id for a in ctx.catalog.agencies}:
        errors.append(FieldError(("query", "agency"), "schema", {"msg": f"unknown agency {agency!r}"}))
    if service is not None and service not in {s.id for s in ctx.catalog.services}:
        errors.append(FieldError(("query", "service"), "unknown_service", {"value": service}))
    if errors:
        raise RatingInvalid(errors)
    full = stats.satisfaction(ctx.engine, chosen, agency=agency, service=service, comments=0,
                              instruments=ctx.instruments)
    return SatisfactionStats.model_validate(full.model_dump(exclude={"comments"}))
