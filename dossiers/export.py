"""Dossiers out, as CSV in the import's own columns: e.g. the dossiers returned in a period, which
`dvcops survey invite --from-dossiers FILE` turns into rating invitations (the survey reads the file; the
parts never import each other, and the survey's signing key never leaves the survey)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Literal, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import text

from dossiers.columns import REQUIRED
from dossiers.db import DossierDatabase
from dvcops.periods import Period
from dvcops.timezone import DEFAULT_TZ

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Which = Literal["returned", "received"]


def rows(db: DossierDatabase, period: Period, *, as_of: datetime, which: Which = "returned",
         tz: str = DEFAULT_TZ) -> Iterator[list[str]]:
    """The dossiers returned (status returned) or received in the period before `as_of`, oldest first, as the
    import's REQUIRED columns with times in the province's time zone."""
    zone = ZoneInfo(tz)
    cutoff = max(period.start, min(period.end, as_of))
    s, e = ((t - EPOCH) // timedelta(seconds=1) for t in (period.start, cutoff))
    where = ("status = 'returned' AND returned_at >= :s AND returned_at < :e" if which == "returned"
             else "received_at >= :s AND received_at < :e")
    order = "returned_at" if which == "returned" else "received_at"

    def iso(t: int | None) -> str:
        return "" if t is None else (EPOCH + timedelta(seconds=t)).astimezone(zone).isoformat()

    with db.engine.connect() as conn:
        result = conn.execute(text(f"SELECT code, service_id, received_at, due_at, returned_at, channel, online_level, "
                                   f"status FROM dossiers WHERE {where} ORDER BY {order}, code"), {"s": s, "e": e})
        for code, service, received, due, returned, channel, level, status in result:
            yield [code, service, iso(received), iso(due), iso(returned), channel, level, status]


def write_csv(out: TextIO, lines: Iterator[list[str]]) -> int:
    """UTF-8 CSV (the caller opens `out` with a BOM for Excel); the number of dossiers written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REQUIRED)
    n = 0
    for line in lines:
        writer.writerow(line)
        n += 1
    return n
