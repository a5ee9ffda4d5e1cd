"""Store validated ratings in batches: ONE transaction per batch, deciding for each rating whether it is new,
a duplicate dossier (the dossier hash's unique index decides), or outside its service's survey window (read
in the same transaction, so a window change can never race a rating).

- `rows.py`: a rating as a row, by column name, and its Outcome;
- `sqlite.py`, `postgresql.py`: the SQL per database.

The server's writer (survey/core/writer.py) commits batches on connections of its own
(survey/core/committers.py); `write_batch` is the Python API's way (stats.record_rating, tests, benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine

from survey.batch.postgresql import stage_postgresql
from survey.batch.rows import RATING_COLUMNS, Outcome, rating_row
from survey.batch.sqlite import stage_sqlite
from survey.core.db import write_lock
from survey.validation import NewRating

__all__ = ["RATING_COLUMNS", "Outcome", "rating_row", "stage_batch", "write_batch"]


def write_batch(engine: Engine, items: Sequence[NewRating]) -> list[Outcome]:
    """Insert the ratings and commit."""
    if not items:
        return []
    with write_lock(engine), engine.begin() as conn:
        return stage_batch(conn, items)


def stage_batch(conn: Connection, items: Sequence[NewRating]) -> list[Outcome]:
    """Insert the ratings on this connection (in its open transaction, or as one statement in autocommit mode).

    Whether a rating is new is read back by its receipt id (RETURNING lists the rows inserted): a duplicate
    dossier's row was not."""
    if conn.dialect.name == "postgresql":
        return stage_postgresql(conn, items)
    return stage_sqlite(conn, items)
