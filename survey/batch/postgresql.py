"""A batch of ratings on PostgreSQL: ONE statement, the windows check and the insert, the rows passed as one
JSON array.

One statement is one round trip and, in autocommit mode, one transaction (committed durably before it
returns); its text never changes with the batch size, so psycopg prepares it once and PostgreSQL stops
parsing and planning it. JSON because Python encodes it in C; psycopg adapts arrays element by element.
Each row is a JSON array in RATING_COLUMNS' order (keys repeated in every row would cost bytes and CPU);
the SELECT below names each position after its column, from the same list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from survey import windows
from survey.batch.rows import RATING_COLUMNS, Outcome, rating_row
from survey.validation import NewRating

CASTS = {"khong_hai_long": "boolean", "score": "float8", "rated_on": "date", "answers": "jsonb"}
"""Columns that are not text, and the type their JSON text is cast to."""


def _field(position: int, column: str) -> str:
    return f"(r->>{position})::{CASTS[column]} AS {column}" if column in CASTS else f"r->>{position} AS {column}"


PG_BATCH = f"""
WITH batch AS (
    SELECT {", ".join(_field(p, c) for p, c in enumerate(RATING_COLUMNS))}
    FROM jsonb_array_elements(%s::jsonb) AS r
), closed AS (
    SELECT b.receipt_id, w.opens_on, w.closes_on FROM batch b JOIN survey_windows w USING (service_id)
    WHERE b.rated_on < w.opens_on OR b.rated_on > w.closes_on
), rated AS (
    INSERT INTO survey_ratings ({", ".join(RATING_COLUMNS)})
    SELECT * FROM batch WHERE receipt_id NOT IN (SELECT receipt_id FROM closed)
    ON CONFLICT (dossier_hash) DO NOTHING
    RETURNING receipt_id
)
SELECT receipt_id, NULL::date, NULL::date FROM rated
UNION ALL SELECT receipt_id, opens_on, closes_on FROM closed
"""
"""The whole batch; its one parameter is `postgresql_params`, its rows read by `postgresql_outcomes`."""


def stage_postgresql(conn: Connection, items: Sequence[NewRating]) -> list[Outcome]:
    """Run PG_BATCH on this connection (the Python API's way; the server's writer runs it on its own)."""
    cursor = conn.connection.cursor()
    cursor.execute(PG_BATCH, postgresql_params(items))
    outcomes = postgresql_outcomes(items, cursor.fetchall())
    cursor.close()
    return outcomes


def postgresql_params(items: Sequence[NewRating]) -> tuple[str]:
    """PG_BATCH's parameter: the ratings as a JSON array of rows."""
    return (json.dumps([rating_row(i) for i in items], ensure_ascii=False),)


def postgresql_outcomes(items: Sequence[NewRating], rows: Sequence[Sequence[Any]]) -> list[Outcome]:
    """Each rating's outcome from PG_BATCH's rows: listed as stored, listed with its window, or a duplicate."""
    done = {receipt: (Outcome("created") if opens_on is None else Outcome("closed", windows.describe(opens_on,
                                                                                                      closes_on)))
            for receipt, opens_on, closes_on in rows}
    return [done.get(i.receipt_id, Outcome("duplicate")) for i in items]
