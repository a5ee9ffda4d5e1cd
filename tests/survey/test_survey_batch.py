"""survey/batch: one batch of ratings with every outcome at once, written the server's way on SQLite and
PostgreSQL (new, a dossier already stored, the same dossier twice in the batch, a service whose window is
closed); a rating's row holds each field under its own column."""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.engine import make_url

from dvcops.catalog import Catalog
from survey.batch import RATING_COLUMNS, rating_row, write_batch
from survey.core.db import make_engine, migrate
from survey.models import Rating
from survey.schemas import WindowIn
from survey.validation import NewRating
from survey.windows import set_window
from tests.survey.helpers import new_rating as new


def test_a_batch_decides_each_rating_on_its_own(db_url: str, catalog: Catalog) -> None:
    engine = make_engine(make_url(db_url))
    migrate(engine)
    try:
        first = new(catalog, "OLD-1")
        assert write_batch(engine, [first])[0].status == "created"
        closed_service = next(s.id for s in catalog.services if s.id != "dang-ky-kinh-doanh")
        set_window(engine, closed_service, WindowIn(opens_on=date(2027, 1, 1), closes_on=None))
        batch = [new(catalog, "NEW-1"), new(catalog, "old-1"), new(catalog, "TWICE-1"), new(catalog, "TWICE-1"),
                 new(catalog, "CLOSED-1", closed_service)]
        outcomes = write_batch(engine, batch)
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


def test_a_rating_row_holds_each_field_under_its_column() -> None:
    """The batch SQL of both databases is written from RATING_COLUMNS: they are the table's columns, and
    rating_row gives each NewRating field in its own column's place (the date as ISO text)."""
    table = cast(Table, Rating.__table__)
    assert set(RATING_COLUMNS) == {c.name for c in table.columns} - {"id"} == set(NewRating._fields)
    item = NewRating(receipt_id="R", dossier_hash="H", service_id="S", agency_id="A", instrument="I", level="L",
                     khong_hai_long=True, score=12.5, channel="C", comment="Ý", rated_on=date(2026, 1, 2), answers="[]")
    row = dict(zip(RATING_COLUMNS, rating_row(item), strict=True))
    assert row == {**item._asdict(), "rated_on": "2026-01-02"}
