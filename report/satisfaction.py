"""Satisfaction section, from the survey's read API (survey.stats.satisfaction)."""

from __future__ import annotations

from datetime import date, timedelta

from dvcops.catalog import Catalog
from dvcops.periods import Period
from report.model import (
    CommentRow,
    FactorRow,
    LevelCount,
    Satisfaction,
    SatisfactionRow,
    Status,
    TrendPoint,
)
from report.policy import Thresholds
from survey import stats
from survey.instruments import load_instruments


def ratio_status(ratio: float | None, t: Thresholds) -> Status:
    if ratio is None:
        return "none"
    if ratio >= t.satisfaction_green:
        return "green"
    return "amber" if ratio >= t.satisfaction_amber else "red"


def _rows(now: dict[str, stats.Breakdown], before: dict[str, stats.Breakdown], names: dict[str, str],
          t: Thresholds) -> list[SatisfactionRow]:
    out = []
    for key in sorted(set(now) | set(before), key=lambda k: names.get(k, k)):
        cur, prev = now.get(key), before.get(key)
        ratio = cur.ratio_766 if cur else None
        prev_ratio = prev.ratio_766 if prev else None
        out.append(SatisfactionRow(
            id=key, name=names.get(key, key), ratings=cur.ratings if cur else 0,
            khong_hai_long=cur.khong_hai_long if cur else 0, ratio_766=ratio,
            mean_score=cur.mean_score if cur else None, previous_ratio_766=prev_ratio,
            change=ratio - prev_ratio if ratio is not None and prev_ratio is not None else None,
            status=ratio_status(ratio, t)))
    return out


def _trend_span(period: Period) -> tuple[date, date]:
    """The months a trend covers: those of the period, or the six months up to a one-month period."""
    first = period.start.date()
    if period.kind == "month":
        y, m = first.year, first.month - 5
        if m < 1:
            y, m = y - 1, m + 12
        first = date(y, m, 1)
    return first, (period.end - timedelta(microseconds=1)).date()


def satisfaction_section(catalog: Catalog, db: stats.SurveyDatabase, period: Period, t: Thresholds,
                         lang: str, comments: int = 10, as_of: date | None = None) -> Satisfaction:
    """Ratings filed by `as_of` (the period's last day for a closed period): later ones change nothing."""
    instruments = load_instruments()
    now = stats.satisfaction(db, period, comments=comments, instruments=instruments, as_of=as_of)
    prev_period = period.previous()
    before = stats.satisfaction(db, prev_period, comments=0, by_factor=False, instruments=instruments, as_of=as_of)
    level_names: dict[str, str] = {}
    for ins in instruments.instruments:
        for lv in ins.levels:
            level_names.setdefault(lv.id, lv.label(lang))
    factor_names = {fid: f.get(lang) for fid, f in instruments.factors.items()}
    service_names = {s.id: s.name for s in catalog.services}
    agency_names = {a.id: a.name for a in catalog.agencies}
    trend = [TrendPoint(label=m.month, ratings=m.ratings, ratio_766=m.ratio_766)
             for m in stats.monthly(db, *_trend_span(period), as_of=as_of)]
    return Satisfaction(
        trend=trend,
        ratings=now.ratings, khong_hai_long=now.khong_hai_long, ratio_766=now.ratio_766, mean_score=now.mean_score,
        previous_period=prev_period.label, previous_ratings=before.ratings, previous_ratio_766=before.ratio_766,
        change=(now.ratio_766 - before.ratio_766
                if now.ratio_766 is not None and before.ratio_766 is not None else None),
        status=ratio_status(now.ratio_766, t),
        levels=[LevelCount(id=k, label=level_names.get(k, k), count=v)
                for k, v in now.levels.items()],
        factors=[FactorRow(id=k, label=factor_names.get(k, k), answers=f.answers, khong_hai_long=f.khong_hai_long,
                           mean_score=f.mean_score) for k, f in now.factors.items()],
        agencies=_rows(now.by_agency, before.by_agency, agency_names, t),
        services=_rows(now.by_service, before.by_service, service_names, t),
        comments=[CommentRow(rated_on=c.rated_on, service=c.service_id,
                             service_name=service_names.get(c.service_id, c.service_id),
                             level=level_names.get(c.level, c.level), text=c.text) for c in now.comments],
    )
