"""Admin reads: the stored ratings page by page, as the API shows them (`GET /api/v1/ratings`)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Engine, Row, Table, func, select

from survey.models import Rating
from survey.schemas import RatingOut, RatingPage

ratings_t = cast(Table, Rating.__table__)


def list_ratings(engine: Engine, page: int, per_page: int) -> RatingPage:
    """One page of ratings, oldest first (stable while new ratings arrive)."""
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(ratings_t)).scalar_one()
        rows = conn.execute(select(ratings_t).order_by(ratings_t.c.id)
                            .limit(per_page).offset((page - 1) * per_page)).all()
    items = [rating_out(r) for r in rows]
    return RatingPage(items=items, total=total, page=page, per_page=per_page)


def rating_out(r: Row[Any]) -> RatingOut:
    """A survey_ratings row as the API shows it: the answers as {question: level}."""
    return RatingOut(receipt_id=r.receipt_id, rated_on=r.rated_on, service_id=r.service_id, agency_id=r.agency_id,
                     instrument=r.instrument, level=r.level, khong_hai_long=r.khong_hai_long, score=r.score,
                     channel=r.channel, comment=r.comment, answers={a[0]: a[2] for a in r.answers})
