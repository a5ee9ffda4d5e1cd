"""Every rating as CSV for Excel (`GET /api/v1/ratings.csv`): UTF-8 with BOM, CRLF, one column per question,
comments kept from running as formulas."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import Engine, select

from dvcops.catalog import Catalog
from survey.instruments import Instruments
from survey.listing import rating_out, ratings_t

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
             delimiter: str = ",", chunk: int = 1000, decimal: str = ".") -> Iterator[str]:
    """All ratings, read in chunks of `chunk` rows (the response streams; memory stays flat)."""
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
        for r in map(rating_out, rows):
            writer.writerow([r.receipt_id, r.rated_on.isoformat(), r.service_id, names.get(r.service_id, ""),
                             agencies.get(r.agency_id, r.agency_id), r.instrument, r.level,
                             1 if r.khong_hai_long else 0, f"{r.score:g}".replace(".", decimal), r.channel,
                             *[r.answers.get(q, "") for q in questions], excel_safe(r.comment)])
        yield buf.getvalue()
