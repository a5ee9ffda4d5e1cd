"""`import_file`: check a whole export, then store it all or nothing.

Every row is checked against the catalogue and the rules below, and every problem is reported at once as
`FILE:LINE: column: value: what is expected`; if there is any, nothing from the file is stored (the
staging table is rolled back). Otherwise the rows move from the staging table into `dossiers` in one
statement, sorted by code (the key's B-tree is then written in order), updating the dossiers already there:
importing the same export twice changes nothing but the import log.

Rules: a code as in codes.py; a service of the catalogue; times ISO 8601 with an offset; due and returned
not before received; channel, online level and status from columns.VALUES; returned_at empty while
processing and given once returned; each dossier once per file; a rating a level id; complaints a whole
number >= 0.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from dossiers.codes import LEGACY, MAX_LENGTH, Classifier, normalise, problem
from dossiers.columns import EXPECTED_VALUES, VALUES, value_of
from dossiers.db import DossierDatabase
from dossiers.errors import DossierError
from dossiers.policy import PolicyVersion, policy_for
from dossiers.reader import Export, Row
from dvcops.catalog import Catalog

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
TIME_EXPECTED = "expected an ISO 8601 time with an offset, e.g. 2025-06-01T08:30:00+07:00"
RATING = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
STAGED = ("code", "code_format", "service_id", "agency_id", "received_at", "due_at", "returned_at", "channel",
          "online_level", "status", "rating", "complaints")
CHANNELS, LEVELS, STATUSES = VALUES["channel"], VALUES["online_level"], VALUES["status"]
CHUNK = 2500
"""Rows per multi-row INSERT into SQLite's staging table (12 values each: under SQLite's 32,766 parameters)."""


@dataclass
class ImportResult:
    file: str
    rows: int
    inserted: int
    updated: int
    formats: dict[str, int]
    """Rows per code format id ('legacy': codes in no format of the policy in force)."""
    policy_version: str
    seconds: float
    import_id: int = 0

    @property
    def legacy(self) -> int:
        return self.formats.get(LEGACY, 0)


def _show(value: str) -> str:
    """A value as the error line shows it: visible control characters, long values cut."""
    if value == "":
        return "(empty)"
    shown = value if value.isprintable() else repr(value)[1:-1]
    return shown if len(shown) <= 80 else f"{shown[:77]}… ({len(value)} characters)"


@dataclass
class _Checker:
    """Checks rows one by one, collecting every problem.

    `__call__` is the hot loop of an import: it only recognises a row that is entirely fine. Anything it does
    not recognise goes to `explain`, which applies every rule and says what is wrong (or, if nothing is, returns
    the row: the fast path may pass a good row on, it never accepts a bad one)."""

    name: str
    catalog: Catalog
    classify: Classifier
    problems: list[str]

    def __post_init__(self) -> None:
        self.services = {s.id: s.agency for s in self.catalog.services}
        self.seen: dict[str, int] = {}
        self._days: dict[str, int] = {}

    def batch(self, rows: list[Row]) -> list[tuple[Any, ...]]:
        """The rows of a batch that are fine, ready to stage. The hot loop of an import: it only recognises a row
        that is entirely fine; anything else goes to `explain`, which applies every rule and says what is wrong
        (or, if nothing is, returns the row: this loop may pass a good row on, it never accepts a bad one)."""
        out: list[tuple[Any, ...]] = []
        services, seen, classify, epoch = self.services, self.seen, self.classify, self.epoch_of
        fromiso, rating_ok = datetime.fromisoformat, RATING.match
        for line, values in rows:
            raw_code, service, received, due, returned, channel, level, status, rating, complaints = values
            try:
                code = raw_code.strip().upper()  # type: ignore[union-attr]
                agency = services[service]  # type: ignore[index]
                rt, dt = fromiso(received), fromiso(due)  # type: ignore[arg-type]
                ct = fromiso(returned) if returned else None
                ch, lv, st = CHANNELS[channel], LEVELS[level], STATUSES[status]  # type: ignore[index]
                late = dt < rt or (ct is not None and ct < rt)  # a time without offset: TypeError
            except (KeyError, ValueError, TypeError, AttributeError):
                row = self.explain(line, values)
                if row is not None:
                    out.append(row)
                continue
            if (late or rt.tzinfo is None or not code or len(code) > MAX_LENGTH or not code.isascii()
                    or not code.isprintable() or (st == "processing") != (ct is None)
                    or (rating and not rating_ok(rating)) or complaints not in ("0", "", None)
                    or seen.setdefault(code, line) != line):
                row = self.explain(line, values)
                if row is not None:
                    out.append(row)
                continue
            out.append((code, classify(code), service, agency, epoch(received, rt), epoch(due, dt),  # type: ignore[arg-type]
                        None if ct is None else epoch(returned, ct), ch, lv, st,  # type: ignore[arg-type]
                        rating or None, None if rating is None and complaints is None else 0))
        return out

    def epoch_of(self, text: str, t: datetime) -> int:
        """Seconds since 1970 of a time fromisoformat read from `text`. For YYYY-MM-DDTHH:MM:SS+HH:MM, nearly every
        time of an export, from the day's midnight at that offset, computed once per day and offset (twice as
        fast as subtracting datetimes)."""
        if len(text) == 25 and text[10] == "T" and text[22] == ":":
            key = text[:10] + text[19:]
            base = self._days.get(key)
            if base is None:
                base = self._days[key] = (t.replace(hour=0, minute=0, second=0) - EPOCH) // SECOND
            return base + t.hour * 3600 + t.minute * 60 + t.second
        return (t - EPOCH) // SECOND

    def bad(self, line: int, column: str, value: str, expected: str) -> None:
        self.problems.append(f"{self.name}:{line}: {column}: {_show(value)}: {expected}")

    def epoch(self, line: int, column: str, value: str) -> int | None:
        try:
            t = datetime.fromisoformat(value)
        except ValueError:
            t = None
        if t is None or t.tzinfo is None:
            self.bad(line, column, value, TIME_EXPECTED)
            return None
        return (t - EPOCH) // SECOND

    def explain(self, line: int, values: Sequence[str | None]) -> tuple[Any, ...] | None:
        """Every rule, one by one: a problem line for each broken one, or the row if none is."""
        raw_code, service, received, due, returned, channel, level, status, rating, complaints = values
        assert raw_code is not None and service is not None and received is not None and due is not None
        assert returned is not None and channel is not None and level is not None and status is not None
        before = len(self.problems)
        code = normalise(raw_code)
        why = problem(code)
        if why is not None:
            self.bad(line, "dossier_code", raw_code, why)
        first = self.seen.setdefault(code, line)
        if first != line:
            self.bad(line, "dossier_code", raw_code, f"expected each dossier once per file (also on line {first})")
        agency = self.services.get(service)
        if agency is None:
            self.bad(line, "service_id", service, "expected a service id of the catalogue")
        r = self.epoch(line, "received_at", received)
        d = self.epoch(line, "due_at", due)
        if r is not None and d is not None and d < r:
            self.bad(line, "due_at", due, f"expected a time at or after received_at ({received})")
        ch = value_of("channel", channel)
        if ch is None:
            self.bad(line, "channel", channel, f"expected {EXPECTED_VALUES['channel']}")
        lv = value_of("online_level", level)
        if lv is None:
            self.bad(line, "online_level", level, f"expected {EXPECTED_VALUES['online_level']}")
        st = value_of("status", status)
        if st is None:
            self.bad(line, "status", status, f"expected {EXPECTED_VALUES['status']}")
        ret = None
        if returned.strip():
            ret = self.epoch(line, "returned_at", returned)
            if st == "processing":
                self.bad(line, "returned_at", returned, "expected empty while the status is processing")
            elif ret is not None and r is not None and ret < r:
                self.bad(line, "returned_at", returned, f"expected a time at or after received_at ({received})")
        elif st is not None and st != "processing":
            self.bad(line, "returned_at", returned, f"expected the time the dossier was closed (status {st})")
        feedback = rating is not None or complaints is not None
        rated = rating.strip().lower() if rating and rating.strip() else None
        if rated is not None and not RATING.match(rated):
            self.bad(line, "rating", rating or "", "expected a rating level id such as hai-long or khong-hai-long")
        count: int | None = 0 if feedback else None
        if complaints and complaints.strip():
            text = complaints.strip()
            count = int(text) if text.isdigit() and text.isascii() and len(text) < 9 else None
            if count is None:
                self.bad(line, "complaints", complaints, "expected a whole number of complaints, 0 or more")
        if len(self.problems) != before:
            return None
        return (code, self.classify(code), service, agency, r, d, ret, ch, lv, st, rated, count)


def import_file(db: DossierDatabase | Engine, catalog: Catalog, path: Path, *, on: date | None = None,
                policy: PolicyVersion | None = None) -> ImportResult:
    """Check and store one export; DossierError with every problem (and nothing stored) if any row is bad.

    Codes are classified with the policy version in force `on` (default: today)."""
    start = time.perf_counter()
    engine = db.engine if isinstance(db, DossierDatabase) else db
    policy = policy or policy_for(on or datetime.now(ZoneInfo(catalog.province.timezone)).date())
    export = Export(Path(path))
    problems: list[str] = []
    check = _Checker(export.name, catalog, Classifier(policy), problems)
    staging = _Staging(engine)
    try:
        rows = 0
        for batch in export.batches(problems):
            rows += len(batch)
            good = check.batch(batch)
            if not problems:
                staging.add(good)
        if problems:
            staging.rollback()
            raise DossierError(*problems, f"{export.name}: {len(problems)} problem(s) in {rows} row(s): "
                                          "nothing from this file was stored")
        import_id, inserted, formats = staging.commit(export.name, rows, policy.version)
    except BaseException:
        staging.rollback()
        raise
    finally:
        export.close()
    return ImportResult(file=export.name, rows=rows, inserted=inserted, updated=rows - inserted,
                        formats=formats, policy_version=policy.version,
                        seconds=time.perf_counter() - start, import_id=import_id)


UPSERT = f"""INSERT INTO dossiers ({", ".join(STAGED)}, import_id)
SELECT {", ".join(STAGED)}, {{import_id}} FROM dossier_staging WHERE true ORDER BY code
ON CONFLICT (code) DO UPDATE SET {", ".join(f"{c} = excluded.{c}" for c in (*STAGED[1:], "import_id"))}"""


class _Staging:
    """The rows of one import on their way in: a temporary table in the import's own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.raw = engine.raw_connection()
        self.sqlite = engine.dialect.name == "sqlite"
        self.cursor = self.raw.cursor()
        self.chunk = CHUNK if self.sqlite else 10_000
        self.open = True
        if self.sqlite:
            self.cursor.execute("BEGIN IMMEDIATE")  # the write lock now: an import never fails half-way on it
            self.cursor.execute("DROP TABLE IF EXISTS temp.dossier_staging")
            self.cursor.execute("CREATE TEMP TABLE dossier_staging (code TEXT, code_format TEXT, "
                                "service_id TEXT, agency_id TEXT, received_at INTEGER, due_at INTEGER, returned_at "
                                "INTEGER, channel TEXT, online_level TEXT, status TEXT, rating TEXT, "
                                "complaints INTEGER)")
            group = f"({', '.join(['?'] * len(STAGED))})"
            self._insert = f"INSERT INTO dossier_staging VALUES {', '.join([group] * CHUNK)}"
            self._group = group
        else:
            self.cursor.execute("CREATE TEMP TABLE dossier_staging (code varchar(64), code_format varchar(32), "
                                "service_id varchar(63), agency_id varchar(63), received_at bigint, due_at bigint, "
                                "returned_at bigint, channel varchar(8), online_level varchar(12), "
                                "status varchar(12), rating varchar(32), complaints integer) ON COMMIT DROP")

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        if self.sqlite:  # multi-row INSERTs of CHUNK rows: one statement step per CHUNK, not per row
            for i in range(0, len(rows), CHUNK):
                part = rows[i:i + CHUNK]
                sql = self._insert if len(part) == CHUNK else \
                    f"INSERT INTO dossier_staging VALUES {', '.join([self._group] * len(part))}"
                self.cursor.execute(sql, [v for row in part for v in row])
        elif rows:
            with self.cursor.copy(f"COPY dossier_staging ({', '.join(STAGED)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def commit(self, name: str, rows: int, version: str) -> tuple[int, int, dict[str, int]]:
        """Move the staged rows into `dossiers`, log the import; (import id, dossiers inserted, rows per format)."""
        cur = self.cursor
        cur.execute("SELECT code_format, count(*) FROM dossier_staging GROUP BY code_format ORDER BY code_format")
        formats = {str(f): int(n) for f, n in cur.fetchall()}
        before = self._count()
        p = "?" if self.sqlite else "%s"
        legacy = formats.get(LEGACY, 0)
        cur.execute(f"INSERT INTO dossier_imports (file, imported_at, rows, inserted, updated, current_codes, "
                    f"legacy_codes, policy_version) VALUES ({p}, {p}, {p}, 0, 0, {p}, {p}, {p}) RETURNING id",
                    (name[-1024:], int(time.time()), rows, rows - legacy, legacy, version))
        import_id = self._one()
        cur.execute(UPSERT.format(import_id=int(import_id)))
        inserted = self._count() - before
        cur.execute(f"UPDATE dossier_imports SET inserted = {p}, updated = {p} WHERE id = {p}",
                    (inserted, rows - inserted, import_id))
        if self.sqlite:
            cur.execute("DROP TABLE temp.dossier_staging")  # PostgreSQL drops it at commit
        self.raw.commit()
        self._close()
        return int(import_id), inserted, formats

    def _count(self) -> int:
        self.cursor.execute("SELECT count(*) FROM dossiers")
        return self._one()

    def _one(self) -> int:
        row: Any = self.cursor.fetchone()
        return int(row[0])

    def rollback(self) -> None:
        if self.open:
            self.raw.rollback()
            self._close()

    def _close(self) -> None:
        self.open = False
        self.cursor.close()
        self.raw.close()
