"""THE read API for satisfaction figures: what the DoIC report calls directly against the database
(SQLite in the state dir by default, PostgreSQL by URL); no HTTP and no running server needed.

    from survey import stats
    db = stats.open_database(state=StateDir())            # or url="postgresql://..."
    s = stats.satisfaction(db, Period.parse("2025-Q2"), agency="so-khdt")
    s.ratings, s.khong_hai_long, s.ratio_766, s.mean_score, s.levels, s.factors, s.by_service, s.comments

Decision 766/QĐ-TTg: ratio_766 = (rated dossiers - dossiers rated "không hài lòng") / rated dossiers, a
fraction from 0 to 1 (None when nothing was rated). A dossier counts as "không hài lòng" when any of its
answers is at a level its instrument marks so (a rating is as good as its worst answer). The 766 figure
also subtracts dossiers with complaints; complaints are not recorded by this survey.

Comments are returned raw: whoever renders them escapes them (the report does, the form does).
`record_rating` writes a known rating through the same validation as the API (tests, imports).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, Float, Integer, Select, case, cast, extract, func, literal_column, select, true

from dvcops.catalog import Catalog
from dvcops.periods import Period
from dvcops.state import StateDir
from survey.batch import write_batch
from survey.core.config import SurveySettings, load_settings
from survey.core.db import make_engine, migrate
from survey.errors import DuplicateRating, FieldError, RatingInvalid
from survey.instruments import SIPAS_FACTORS, Instruments, load_instruments
from survey.models import Rating
from survey.schemas import RatingCreate, RatingReceipt
from survey.validation import prepare

__all__ = [
    "Breakdown", "Comment", "FactorStats", "Satisfaction", "SatisfactionStats", "SurveyDatabase",
    "Month", "open_database", "record_rating", "satisfaction", "monthly", "DuplicateRating", "RatingInvalid",
]


class Breakdown(BaseModel):
    """Figures for one slice of the ratings (everything, one agency, one service)."""

    ratings: int
    """Rated dossiers (one rating per dossier)."""
    khong_hai_long: int
    """Dossiers rated "không hài lòng" (Decision 766)."""
    ratio_766: float | None
    """(ratings - khong_hai_long) / ratings, 0..1; None when there are no ratings."""
    mean_score: float | None
    """Mean of the ratings' scores on a 0-100 scale (each rating: the mean of its answers)."""
    levels: dict[str, int]
    """Ratings per level (a rating's level is its worst answer), best level first."""


class FactorStats(BaseModel):
    """Answers to the questions of one SIPAS factor."""

    answers: int
    khong_hai_long: int
    mean_score: float | None
    levels: dict[str, int]


class Comment(BaseModel):
    receipt_id: str
    rated_on: date
    service_id: str
    agency_id: str
    level: str
    khong_hai_long: bool
    text: str
    """Raw text as the citizen wrote it (NFC, control characters removed): escape it when rendering."""


class SatisfactionStats(Breakdown):
    first_day: date | None
    """First day counted (None: from the first rating)."""
    last_day: date | None
    """Last day counted, inclusive (None: up to the last rating)."""
    agency: str | None
    service: str | None
    factors: dict[str, FactorStats]
    """Per SIPAS factor, in the Ministry's order: tiep-can, thu-tuc, cong-chuc, ket-qua, phan-anh."""
    by_agency: dict[str, Breakdown]
    by_service: dict[str, Breakdown]


class Satisfaction(SatisfactionStats):
    comments: list[Comment]
    """The most recent comments, newest first."""


@dataclass
class SurveyDatabase:
    """The survey's database, opened for reading (and, with the HMAC key, for writing known ratings)."""

    engine: Engine
    settings: SurveySettings

    def key(self) -> bytes:
        return self.settings.key()

    def close(self) -> None:
        self.engine.dispose()


def open_database(url: str | None = None, state: StateDir | Path | None = None,
                  run_migrations: bool = True) -> SurveyDatabase:
    """Open the survey database: `url`, else DVCOPS_SURVEY_DATABASE_URL, else SQLite in the state dir."""
    overrides: dict[str, Any] = {}
    if url is not None:
        overrides["database_url"] = url
    if state is not None:
        overrides["state"] = state.root if isinstance(state, StateDir) else Path(state)
    settings = load_settings(**overrides)
    engine = make_engine(settings.database())
    if run_migrations:
        migrate(engine)
    return SurveyDatabase(engine, settings)


def _level_order(instruments: Instruments) -> list[str]:
    """Every level id, best first (the 5-level scale interleaves with the 3-level one by score)."""
    best: dict[str, float] = {}
    for ins in instruments.instruments:
        for lv in ins.levels:
            best[lv.id] = max(best.get(lv.id, lv.score), lv.score)
    return sorted(best, key=lambda i: -best[i])


def _days(period: Period | None) -> tuple[date | None, date | None]:
    if period is None:
        return None, None
    return period.start.date(), (period.end - timedelta(microseconds=1)).date()


def satisfaction(db: SurveyDatabase | Engine, period: Period | None = None, *, agency: str | None = None,
                 service: str | None = None, comments: int = 20, by_factor: bool = True,
                 instruments: Instruments | None = None, as_of: date | None = None) -> Satisfaction:
    """Satisfaction figures for the ratings filed in `period` (all time if None), optionally one agency or service.

    Ratings carry only a local date, so a period boundary inside a day counts that whole day. `as_of` (the last
    local day counted, e.g. the period's last day) leaves out ratings filed later: a rating is dated the day it is
    filed, so a closed period's figures stay as they were. `by_factor=False` skips the per-answer SIPAS
    breakdown (the costly part: it reads every answer), e.g. for a comparison period."""
    engine = db.engine if isinstance(db, SurveyDatabase) else db
    order = _level_order(instruments or load_instruments())
    r = Rating.__table__
    first, last = _days(period)
    conds = []
    if first is not None:
        conds += [r.c.rated_on >= first, r.c.rated_on <= last]
    if as_of is not None:
        conds.append(r.c.rated_on <= as_of)
    if agency is not None:
        conds.append(r.c.agency_id == agency)
    if service is not None:
        conds.append(r.c.service_id == service)
    khl = func.sum(case((r.c.khong_hai_long, 1), else_=0))
    with engine.connect() as conn:
        slices = conn.execute(select(r.c.agency_id, r.c.service_id, r.c.level, func.count(), khl, func.sum(r.c.score))
                              .where(*conds).group_by(r.c.agency_id, r.c.service_id, r.c.level)).all()
        factor_rows = conn.execute(_answers_by_factor(engine.dialect.name, conds)).all() if by_factor else []
        recent = conn.execute(select(r.c.receipt_id, r.c.rated_on, r.c.service_id, r.c.agency_id, r.c.level,
                                     r.c.khong_hai_long, r.c.comment)
                              .where(*conds, r.c.comment.is_not(None)).order_by(r.c.id.desc()).limit(comments)
                              ).all() if comments > 0 else []

    total = _Acc(order)
    by_agency: dict[str, _Acc] = {}
    by_service: dict[str, _Acc] = {}
    for agency_id, service_id, level, n, k, score_sum in slices:
        for acc in (total, by_agency.setdefault(agency_id, _Acc(order)),
                    by_service.setdefault(service_id, _Acc(order))):
            acc.add(level, n, k or 0, score_sum or 0.0)
    factors = {f: _Acc(order) for f in SIPAS_FACTORS}
    for factor, level, n, k, score_sum in factor_rows:
        factors.setdefault(factor, _Acc(order)).add(level, n, k or 0, score_sum or 0.0)
    whole = total.breakdown()
    return Satisfaction(
        **whole.model_dump(), first_day=first, last_day=last, agency=agency, service=service,
        factors={f: FactorStats(answers=acc.n, khong_hai_long=acc.khl, mean_score=acc.mean(), levels=acc.levels)
                 for f, acc in factors.items()},
        by_agency={k: v.breakdown() for k, v in sorted(by_agency.items())},
        by_service={k: v.breakdown() for k, v in sorted(by_service.items())},
        comments=[Comment(receipt_id=c.receipt_id, rated_on=c.rated_on, service_id=c.service_id,
                          agency_id=c.agency_id, level=c.level, khong_hai_long=c.khong_hai_long, text=c.comment)
                  for c in recent],
    )


def _answers_by_factor(dialect: str, conds: list[Any]) -> Select[Any]:
    """Answers per SIPAS factor and level, with their "không hài lòng" count and score sum.

    Ratings with the same answers store the same text (models.Rating.answers), and an instrument allows few
    answer sets (3 levels over 5 questions: 243), so the ratings are first counted per answer set; only
    those sets are unnested (json_each on SQLite, jsonb_array_elements on PostgreSQL; both name the element
    `value`, and `->>` with a literal index reads a field on both), each answer weighted by its set's count."""
    r = Rating.__table__
    sets = select(r.c.answers, func.count().label("n")).where(*conds).group_by(r.c.answers).subquery("sets")
    unnest = func.jsonb_array_elements if dialect == "postgresql" else func.json_each
    answers = unnest(sets.c.answers).table_valued("value").alias("answer")

    def field(index: int) -> Any:
        return answers.c.value.op("->>")(literal_column(str(index)))

    factor, level, n = field(1), field(2), sets.c.n
    khong_hai_long, score = cast(field(4), Integer), cast(field(3), Float)
    return (select(factor, level, cast(func.sum(n), Integer), cast(func.sum(n * khong_hai_long), Integer),
                   cast(func.sum(n * score), Float))  # PostgreSQL sums bigints as numeric: back to int
            .select_from(sets).join(answers, true()).group_by(factor, level))


class Month(BaseModel):
    """Ratings filed in one calendar month."""

    month: str
    """YYYY-MM"""
    ratings: int
    khong_hai_long: int
    ratio_766: float | None


def monthly(db: SurveyDatabase | Engine, first: date, last: date, *, agency: str | None = None,
            service: str | None = None, as_of: date | None = None) -> list[Month]:
    """Ratings and ratio_766 per month for ratings filed from `first` to `last` (inclusive), in one query;
    months without ratings are listed with zero ratings, so a trend has no holes. `as_of`: the last local
    day counted (ratings filed later are left out; the months listed stay the same)."""
    engine = db.engine if isinstance(db, SurveyDatabase) else db
    r = Rating.__table__
    conds = [r.c.rated_on >= first, r.c.rated_on <= (min(last, as_of) if as_of is not None else last)]
    if agency is not None:
        conds.append(r.c.agency_id == agency)
    if service is not None:
        conds.append(r.c.service_id == service)
    year, month = extract("year", r.c.rated_on), extract("month", r.c.rated_on)
    khl = func.sum(case((r.c.khong_hai_long, 1), else_=0))
    with engine.connect() as conn:
        rows = conn.execute(select(year, month, func.count(), khl).where(*conds).group_by(year, month)).all()
    counts = {(int(y), int(m)): (int(n), int(k or 0)) for y, m, n, k in rows}
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        n, k = counts.get((y, m), (0, 0))
        out.append(Month(month=f"{y}-{m:02d}", ratings=n, khong_hai_long=k, ratio_766=(n - k) / n if n else None))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


class _Acc:
    """Running totals for one slice."""

    def __init__(self, order: list[str]) -> None:
        self.n = 0
        self.khl = 0
        self.score_sum = 0.0
        self.levels = dict.fromkeys(order, 0)

    def add(self, level: str, n: int, khl: int, score_sum: float) -> None:
        self.n += n
        self.khl += khl
        self.score_sum += score_sum
        self.levels[level] = self.levels.get(level, 0) + n

    def mean(self) -> float | None:
        return self.score_sum / self.n if self.n else None

    def breakdown(self) -> Breakdown:
        return Breakdown(ratings=self.n, khong_hai_long=self.khl,
                         ratio_766=(self.n - self.khl) / self.n if self.n else None,
                         mean_score=self.mean(), levels=self.levels)


def record_rating(db: SurveyDatabase, catalog: Catalog, rating: RatingCreate | Mapping[str, Any], *,
                  rated_on: date | None = None, instruments: Instruments | None = None) -> RatingReceipt:
    """Write one rating exactly as the API would (same checks, same derived values), filed on `rated_on`
    (default: today in the province). RatingInvalid on a bad rating, DuplicateRating on a rated dossier."""
    if not isinstance(rating, RatingCreate):
        try:
            rating = RatingCreate.model_validate(rating)
        except ValidationError as exc:
            raise RatingInvalid([FieldError(("body", *e["loc"]), "schema", {"msg": e["msg"]})
                                 for e in exc.errors(include_url=False)]) from None
    if rated_on is None:
        rated_on = datetime.now(ZoneInfo(catalog.province.timezone)).date()
    services = {s.id: s for s in catalog.services}
    item = prepare(rating, services, instruments or load_instruments(), db.key(), rated_on)
    outcome = write_batch(db.engine, [item])[0]
    if outcome.status == "duplicate":
        raise DuplicateRating()
    if outcome.status == "closed":
        raise RatingInvalid([FieldError(("body", "service_id"), "survey_closed", {
            "value": item.service_id, "day": rated_on.isoformat(), "window": outcome.window})])
    return RatingReceipt(receipt_id=item.receipt_id, service_id=item.service_id, instrument=item.instrument,
                         level=item.level, khong_hai_long=item.khong_hai_long, rated_on=item.rated_on)
