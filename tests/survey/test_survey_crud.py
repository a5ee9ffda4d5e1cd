"""One batch of ratings with every outcome at once, written the server's way on SQLite and PostgreSQL:
new, a dossier already stored, the same dossier twice in the batch, a service whose window is closed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from dvcops.catalog import Catalog
from survey import crud
from survey.core.db import make_engine, migrate
from survey.models import Answer, Rating
from survey.schemas import WindowIn
from tests.survey.helpers import new_rating as new


def test_a_batch_decides_each_rating_on_its_own(db_url: str, catalog: Catalog) -> None:
    engine = make_engine(make_url(db_url))
    migrate(engine)
    try:
        first = new(catalog, "OLD-1")
        assert crud.write_batch(engine, [first])[0].status == "created"
        closed_service = next(s.id for s in catalog.services if s.id != "dang-ky-kinh-doanh")
        crud.set_window(engine, closed_service, WindowIn(opens_on=date(2027, 1, 1), closes_on=None))
        batch = [new(catalog, "NEW-1"), new(catalog, "old-1"), new(catalog, "TWICE-1"), new(catalog, "TWICE-1"),
                 new(catalog, "CLOSED-1", closed_service)]
        outcomes = crud.write_batch(engine, batch)
        assert [o.status for o in outcomes] == ["created", "duplicate", "created", "duplicate", "closed"]
        assert outcomes[4].window == "2027-01-01.."
        with engine.connect() as conn:
            stored = set(conn.execute(select(Rating.receipt_id)).scalars())
            answers = conn.execute(select(func.count()).select_from(Answer)).scalar_one()
            orphans = conn.execute(select(func.count()).select_from(Answer)
                                   .outerjoin(Rating, Rating.id == Answer.rating_id).where(Rating.id.is_(None))
                                   ).scalar_one()
        assert stored == {first.receipt_id, batch[0].receipt_id, batch[2].receipt_id}
        assert answers == 3 * 5  # the three stored ratings' answers, nothing of the refused ones
        assert orphans == 0  # no foreign key (migration 0002): the writer alone keeps answers with their rating
    finally:
        engine.dispose()
