"""A batch of ratings on SQLite: the survey windows read, then one multi-row INSERT, in one transaction.

All on the driver's connection: SQLAlchemy's select() costs more per batch than the reads, and its per-row
parameter processing more than everything else a rating needs. One multi-row INSERT rather than
`executemany`, which would release and re-take Python's GIL once per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection

from survey import windows
from survey.batch.rows import RATING_COLUMNS, Outcome, rating_row
from survey.validation import NewRating

_COLUMNS = ", ".join(RATING_COLUMNS)
_ROW = f"({', '.join(['?'] * len(RATING_COLUMNS))})"


def stage_sqlite(conn: Connection, items: Sequence[NewRating]) -> list[Outcome]:
    """Insert the ratings in the connection's transaction (begun here if need be, before the windows are read);
    the caller commits."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    if not raw.in_transaction:  # sqlite3 itself would begin only at the INSERT, after the windows were read
        cursor.execute("BEGIN IMMEDIATE")
    services = sorted({i.service_id for i in items})
    cursor.execute(f"SELECT service_id, opens_on, closes_on FROM survey_windows "
                   f"WHERE service_id IN ({', '.join(['?'] * len(services))})", services)
    open_windows = {service: (date.fromisoformat(opens), date.fromisoformat(closes) if closes else None)
                    for service, opens, closes in cursor.fetchall()}  # dates as SQLAlchemy stores them: ISO text
    outcomes: dict[str, Outcome] = {}
    todo = []
    for item in items:
        window = open_windows.get(item.service_id)
        if window is not None and not windows.is_open(*window, item.rated_on):
            outcomes[item.receipt_id] = Outcome("closed", windows.describe(*window))
        else:
            todo.append(item)
    stored: set[str] = set()
    if todo:
        cursor.execute(f"INSERT INTO survey_ratings ({_COLUMNS}) VALUES {', '.join([_ROW] * len(todo))} "
                       "ON CONFLICT (dossier_hash) DO NOTHING RETURNING receipt_id",
                       [value for item in todo for value in rating_row(item)])
        stored = {receipt for (receipt,) in cursor.fetchall()}
    cursor.close()
    for item in todo:
        outcomes[item.receipt_id] = Outcome("created") if item.receipt_id in stored else Outcome("duplicate")
    return [outcomes[i.receipt_id] for i in items]
