"""One batch of ratings with every outcome at once, written the server's way on SQLite and PostgreSQL:
new, a dossier already stored, the same dossier twice in the batch, a service whose window is closed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.engine import make_url

from dvcops.catalog import Catalog
from survey import crud
from survey.core.db import make_engine, migrate
from survey.models import Rating
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
            stored = {receipt: answers for receipt, answers in conn.execute(select(Rating.receipt_id, Rating.answers))}
        assert set(stored) == {first.receipt_id, batch[0].receipt_id, batch[2].receipt_id}
        assert stored[batch[0].receipt_id] == [  # each with its factor, score and 766 verdict (1 or 0), by question
            ["cong-chuc", "cong-chuc", "hai-long", 50, 0], ["ket-qua", "ket-qua", "rat-hai-long", 100, 0],
            ["phan-anh", "phan-anh", "khong-hai-long", 0, 1], ["thu-tuc", "thu-tuc", "hai-long", 50, 0],
            ["tiep-can", "tiep-can", "rat-hai-long", 100, 0]]
    finally:
        engine.dispose()
