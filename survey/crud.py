"""Validate ratings against the catalogue and the instruments, and read and write the tables.

`prepare` turns a RatingCreate into the row to store (or RatingInvalid with every field error);
`write_batch` commits many prepared ratings in ONE transaction, deciding for each whether it is
new, a duplicate dossier, or outside its service's survey window (checked in the same transaction,
so a window change can never race a rating).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from typing import Any, Literal, NamedTuple, cast

from sqlalchemy import Connection, Engine, Row, Table, delete, func, insert, select

from dvcops.catalog import Catalog, Service
from survey.core.db import write_lock
from survey.core.security import dossier_hash, new_receipt_id
from survey.errors import FieldError, RatingInvalid
from survey.instruments import AnswerRow, Instrument, Instruments
from survey.models import Rating, SurveyWindow
from survey.schemas import RatingCreate, RatingOut, RatingPage, WindowIn, WindowOut

ratings_t = cast(Table, Rating.__table__)
windows_t = cast(Table, SurveyWindow.__table__)


class NewRating(NamedTuple):
    """A validated rating with everything derived, ready to insert (a NamedTuple: made for every rating)."""

    receipt_id: str
    dossier_hash: str
    service_id: str
    agency_id: str
    instrument: str
    level: str
    khong_hai_long: bool
    score: float
    channel: str
    comment: str | None
    rated_on: date
    answers: str
    """The answers as stored: a JSON array of their AnswerRow.stored, sorted by question id."""


class Outcome(NamedTuple):
    status: Literal["created", "duplicate", "closed"]
    window: str | None = None


def prepare(rating: RatingCreate, services: Mapping[str, Service], instruments: Instruments, key: bytes,
            rated_on: date) -> NewRating:
    """Check the rating against the catalogue's services (by id) and its instrument; derive level, 766 verdict
    and score."""
    errors: list[FieldError] = []
    service = services.get(rating.service_id)
    if service is None:
        errors.append(FieldError(("body", "service_id"), "unknown_service", {"value": rating.service_id}))
    instrument = instruments.get(rating.instrument)
    if instrument is None:
        errors.append(FieldError(("body", "instrument"), "unknown_instrument",
                                 {"value": rating.instrument, "expected": ", ".join(instruments.ids)}))
    answers: list[AnswerRow] = []
    if instrument is not None:
        answer_errors, answers = check_answers(instrument, rating.answers)
        errors += answer_errors
    if errors or service is None or instrument is None:
        raise RatingInvalid(errors)
    worst = instrument.worst([a.level for a in answers])
    return NewRating(
        receipt_id=new_receipt_id(), dossier_hash=dossier_hash(key, rating.dossier_code),
        service_id=service.id, agency_id=service.agency, instrument=instrument.id, level=worst.id,
        khong_hai_long=worst.khong_hai_long, score=round(sum(a.score for a in answers) / len(answers), 4),
        channel=rating.channel, comment=rating.comment, rated_on=rated_on,
        answers="[" + ",".join(a.stored for a in sorted(answers)) + "]",
    )


def check_answers(instrument: Instrument, given: Mapping[str, str]) -> tuple[list[FieldError], list[AnswerRow]]:
    """Every question answered once with one of the instrument's levels, and nothing else."""
    rows = instrument.answer_rows
    answers = [rows[q, lv] for q, lv in given.items() if (q, lv) in rows]
    if len(answers) == len(given) == len(instrument.questions):  # all known; keys are unique: every question once
        return [], answers
    errors: list[FieldError] = []
    level_ids = ", ".join(lv.id for lv in instrument.levels)
    for qid in given:
        if instrument.question(qid) is None:
            errors.append(FieldError(("body", "answers", qid), "unknown_question", {
                "value": qid, "instrument": instrument.id, "expected": ", ".join(q.id for q in instrument.questions)}))
    for question in instrument.questions:
        level_id = given.get(question.id)
        if level_id is None:
            errors.append(FieldError(("body", "answers", question.id), "missing_answer",
                                     {"question": question.id, "expected": level_ids}))
        elif instrument.level(level_id) is None:
            errors.append(FieldError(("body", "answers", question.id), "unknown_level",
                                     {"value": level_id, "expected": level_ids}))
    return errors, answers


RATING_COLUMNS = ("receipt_id", "dossier_hash", "service_id", "agency_id", "instrument", "level", "khong_hai_long",
                  "score", "channel", "comment", "rated_on", "answers")


def write_batch(engine: Engine, items: Sequence[NewRating]) -> list[Outcome]:
    """Insert the ratings and commit (the Python API's way; the server's writer keeps its own connection)."""
    if not items:
        return []
    with write_lock(engine), engine.begin() as conn:
        return stage_batch(conn, items)


def stage_batch(conn: Connection, items: Sequence[NewRating]) -> list[Outcome]:
    """Insert the ratings on this connection (in its open transaction, or as one statement in autocommit
    mode); the dossier hash's unique index decides duplicates, the survey windows (read in the same
    transaction) closed services.

    This runs for every rating, so rows go straight to the driver (SQLAlchemy's per-row parameter processing
    would cost more CPU than everything else a rating needs). Whether a rating is new is read back by its
    receipt id (RETURNING lists the rows inserted): a duplicate dossier's row was not."""
    if conn.dialect.name == "postgresql":
        return _stage_postgresql(conn, items)
    return _stage_sqlite(conn, items)


def _stage_sqlite(conn: Connection, items: Sequence[NewRating]) -> list[Outcome]:
    """Windows read, then one multi-row INSERT (`executemany` would release and re-take Python's GIL once per
    row), all on the driver's connection: SQLAlchemy's select() costs more per batch than the reads."""
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    if not raw.in_transaction:  # sqlite3 itself would begin only at the INSERT, after the windows were read
        cursor.execute("BEGIN IMMEDIATE")
    services = sorted({i.service_id for i in items})
    cursor.execute(f"SELECT service_id, opens_on, closes_on FROM survey_windows "
                   f"WHERE service_id IN ({', '.join(['?'] * len(services))})", services)
    windows = {service: (date.fromisoformat(opens), date.fromisoformat(closes) if closes else None)
               for service, opens, closes in cursor.fetchall()}  # dates as SQLAlchemy stores them: ISO text
    outcomes: dict[str, Outcome] = {}
    todo = []
    for item in items:
        window = windows.get(item.service_id)
        if window is not None and not _open(*window, item.rated_on):
            outcomes[item.receipt_id] = Outcome("closed", _describe(*window))
        else:
            todo.append(item)
    stored: set[str] = set()
    if todo:
        _insert_values(cursor, "survey_ratings", RATING_COLUMNS, [_rating_row(i) for i in todo],
                       " ON CONFLICT (dossier_hash) DO NOTHING RETURNING receipt_id")
        stored = {receipt for (receipt,) in cursor.fetchall()}
    cursor.close()
    for item in todo:
        outcomes[item.receipt_id] = Outcome("created") if item.receipt_id in stored else Outcome("duplicate")
    return [outcomes[i.receipt_id] for i in items]


def _rating_row(item: NewRating) -> tuple[object, ...]:
    """RATING_COLUMNS' values (NewRating's first ten fields, the date as ISO text: how SQLAlchemy stores a date
    in SQLite, and what PG_BATCH casts back; then the answers' JSON)."""
    return (*item[:10], item.rated_on.isoformat(), item.answers)


def _insert_values(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]],
                   suffix: str = "") -> None:
    group = f"({', '.join(['?'] * len(columns))})"
    cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([group] * len(rows))}{suffix}",
                   [value for row in rows for value in row])


PG_BATCH = f"""
WITH batch AS (
    SELECT r->>0 AS receipt_id, r->>1 AS dossier_hash, r->>2 AS service_id, r->>3 AS agency_id, r->>4 AS instrument,
           r->>5 AS level, (r->>6)::boolean AS khong_hai_long, (r->>7)::float8 AS score, r->>8 AS channel,
           r->>9 AS comment, (r->>10)::date AS rated_on, (r->>11)::jsonb AS answers
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
"""A whole batch in ONE statement: the windows check and the insert, the rows passed as one JSON array.
One statement is one round trip and, in autocommit mode, one transaction (committed durably before it
returns); its text never changes with the batch size, so psycopg prepares it once and PostgreSQL stops
parsing and planning it. JSON because Python encodes it in C; psycopg adapts arrays element by element."""


def _stage_postgresql(conn: Connection, items: Sequence[NewRating]) -> list[Outcome]:
    cursor = conn.connection.cursor()
    cursor.execute(PG_BATCH, postgresql_params(items))
    outcomes = postgresql_outcomes(items, cursor.fetchall())
    cursor.close()
    return outcomes


def postgresql_params(items: Sequence[NewRating]) -> tuple[str]:
    """PG_BATCH's parameter: the ratings as a JSON array."""
    return (json.dumps([_rating_row(i) for i in items], ensure_ascii=False),)


def postgresql_outcomes(items: Sequence[NewRating], rows: Sequence[Sequence[Any]]) -> list[Outcome]:
    """Each rating's outcome from PG_BATCH's rows: listed as stored, listed with its window, or a duplicate."""
    done = {receipt: (Outcome("created") if opens_on is None else Outcome("closed", _describe(opens_on, closes_on)))
            for receipt, opens_on, closes_on in rows}
    return [done.get(i.receipt_id, Outcome("duplicate")) for i in items]


def _open(opens_on: date, closes_on: date | None, day: date) -> bool:
    return opens_on <= day and (closes_on is None or day <= closes_on)


def _describe(opens_on: date, closes_on: date | None) -> str:
    return f"{opens_on.isoformat()}..{closes_on.isoformat() if closes_on else ''}"


# ---------------------------------------------------------------- reading ratings (admin)


def list_ratings(engine: Engine, page: int, per_page: int) -> RatingPage:
    """One page of ratings, oldest first (stable while new ratings arrive)."""
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(ratings_t)).scalar_one()
        rows = conn.execute(select(ratings_t).order_by(ratings_t.c.id)
                            .limit(per_page).offset((page - 1) * per_page)).all()
    items = [_rating_out(r) for r in rows]
    return RatingPage(items=items, total=total, page=page, per_page=per_page)


def _rating_out(r: Row[Any]) -> RatingOut:
    return RatingOut(receipt_id=r.receipt_id, rated_on=r.rated_on, service_id=r.service_id, agency_id=r.agency_id,
                     instrument=r.instrument, level=r.level, khong_hai_long=r.khong_hai_long, score=r.score,
                     channel=r.channel, comment=r.comment, answers={a[0]: a[2] for a in r.answers})


CSV_HEADERS = {
    "vi": ["Mã biên nhận", "Ngày đánh giá", "Mã dịch vụ", "Tên dịch vụ", "Cơ quan", "Bộ câu hỏi", "Mức đánh giá",
           "Không hài lòng (QĐ 766)", "Điểm (0-100)", "Kênh"],
    "en": ["Receipt", "Rated on", "Service id", "Service", "Agency", "Instrument", "Level",
           "Not satisfied (Decision 766)", "Score (0-100)", "Channel"],
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(text: str | None) -> str:
    """Keep Excel from running a comment as a formula (CSV injection): prefix such cells with a quote."""
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA_START) else text


def iter_csv(engine: Engine, catalog: Catalog, instruments: Instruments, lang: str = "vi",
             delimiter: str = ",", chunk: int = 1000) -> Iterator[str]:
    """All ratings as CSV for Excel: UTF-8 with BOM, CRLF, one column per question; read in chunks."""
    names = {s.id: s.name for s in catalog.services}
    agencies = {a.id: a.name for a in catalog.agencies}
    questions = list(dict.fromkeys(q.id for i in instruments.instruments for q in i.questions))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    comment = "Ý kiến" if lang == "vi" else "Comment"
    writer.writerow([*CSV_HEADERS["en" if lang == "en" else "vi"], *questions, comment])
    yield "\ufeff" + buf.getvalue()
    last = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(select(ratings_t).where(ratings_t.c.id > last).order_by(ratings_t.c.id)
                                .limit(chunk)).all()
        if not rows:
            return
        last = rows[-1].id
        buf.seek(0)
        buf.truncate()
        for r in map(_rating_out, rows):
            writer.writerow([r.receipt_id, r.rated_on.isoformat(), r.service_id, names.get(r.service_id, ""),
                             agencies.get(r.agency_id, r.agency_id), r.instrument, r.level,
                             1 if r.khong_hai_long else 0, f"{r.score:g}", r.channel,
                             *[r.answers.get(q, "") for q in questions], excel_safe(r.comment)])
        yield buf.getvalue()


# ---------------------------------------------------------------- survey windows


def get_windows(engine: Engine) -> list[WindowOut]:
    with engine.connect() as conn:
        return [WindowOut(service_id=w.service_id, opens_on=w.opens_on, closes_on=w.closes_on)
                for w in conn.execute(select(windows_t).order_by(windows_t.c.service_id))]


def get_window(engine: Engine, service_id: str) -> WindowOut | None:
    with engine.connect() as conn:
        w = conn.execute(select(windows_t).where(windows_t.c.service_id == service_id)).first()
    return WindowOut(service_id=w.service_id, opens_on=w.opens_on, closes_on=w.closes_on) if w else None


def set_window(engine: Engine, service_id: str, window: WindowIn) -> WindowOut:
    with write_lock(engine), engine.begin() as conn:  # takes turns with the servers' writers (SQLite)
        conn.execute(delete(windows_t).where(windows_t.c.service_id == service_id))
        conn.execute(insert(windows_t).values(service_id=service_id, opens_on=window.opens_on,
                                              closes_on=window.closes_on))
    return WindowOut(service_id=service_id, opens_on=window.opens_on, closes_on=window.closes_on)


def delete_window(engine: Engine, service_id: str) -> bool:
    with write_lock(engine), engine.begin() as conn:
        return conn.execute(delete(windows_t).where(windows_t.c.service_id == service_id)).rowcount > 0


def window_is_open(window: WindowOut | None, day: date) -> bool:
    return window is None or _open(window.opens_on, window.closes_on, day)
