"""A rating as a row of survey_ratings, column by column, and what became of it (its Outcome).

Both databases' batch SQL is written from RATING_COLUMNS, and `rating_row` gives the values in that order,
each taken from NewRating by its column's name (tests/survey/test_survey_batch.py checks the two agree with
each other and with the table).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from survey.validation import NewRating

RATING_COLUMNS = ("receipt_id", "dossier_hash", "service_id", "agency_id", "instrument", "level", "khong_hai_long",
                  "score", "channel", "comment", "rated_on", "answers")
"""The columns a rating fills (all but `id`), in the order `rating_row` gives them."""


class Outcome(NamedTuple):
    status: Literal["created", "duplicate", "closed"]
    window: str | None = None
    """For "closed": the service's window (windows.describe)."""


def rating_row(item: NewRating) -> tuple[object, ...]:
    """RATING_COLUMNS' values, by name; the date as ISO text (how SQLAlchemy stores a date in SQLite, and what
    the PostgreSQL batch casts back). Runs for every rating: a plain tuple, no per-row dict."""
    return (item.receipt_id, item.dossier_hash, item.service_id, item.agency_id, item.instrument, item.level,
            item.khong_hai_long, item.score, item.channel, item.comment, item.rated_on.isoformat(), item.answers)
