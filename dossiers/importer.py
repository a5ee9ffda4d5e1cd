"""`import_file`: check a whole export, then store it all or nothing.

Every row is checked against the catalogue and the rules below, and every problem is reported at once as
`FILE:LINE: column: value: what is expected`, in line order; if there is any, nothing from the file is
stored. Stored rows update the dossiers already there: importing the same export twice changes nothing but
the import log.

SQLite: the file is cut into parts (parts.py), one per CPU, each checked in a forked process that stages its
good rows in a scratch file. Once every part is checked (and no code found in two parts), the services are
cut into as many ranges of about as many rows, and the same processes sort them into the database in one
transaction, range after range (writers.store_ranges, writers.sort_range). PostgreSQL: one pass, the good
rows copied into the transaction while the next ones are checked.

Rules: a code as in codes.py; a service of the catalogue; times ISO 8601 with an offset; due and returned
not before received; channel, online level and status from columns.VALUES; returned_at empty while
processing and given once returned; each dossier once per file; a rating a level id; complaints a whole
number >= 0.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import operator
import os
import re
import shutil
import signal
import sqlite3
import tempfile
import threading
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import chain
from multiprocessing.connection import Connection
from operator import itemgetter
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from dossiers.codes import LEGACY, MAX_LENGTH, Classifier, normalise, problem
from dossiers.columns import EXPECTED_VALUES, REQUIRED, VALUES, value_of
from dossiers.db import DossierDatabase, migrate
from dossiers.errors import DossierError
from dossiers.parts import Part
from dossiers.policy import PolicyVersion, policy_for
from dossiers.reader import Batch, Export, Row
from dossiers.writers import ROW, PartStore, PostgresWriter, Range, Writer, sort_range, store_ranges
from dvcops.catalog import Catalog

TIME_EXPECTED = "expected an ISO 8601 time with an offset, e.g. 2025-06-01T08:30:00+07:00"
RATING = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
CHANNELS, LEVELS, STATUSES = VALUES["channel"], VALUES["online_level"], VALUES["status"]
MAX_PARTS = 4
CANONICAL = frozenset({"--T::+:", "--T::-:", "-- ::+:", "-- ::-:"})
"""text[4::3] of a 25-character time YYYY-MM-DDTHH:MM:SS+HH:MM: the separators at 4, 7, 10, 13, 16, 19 and 22."""
_SHAPE, _OFFSET = itemgetter(slice(4, None, 3)), itemgetter(slice(19, None))
_LATEST = {"": "~"}
"""An empty returned_at as a text after every time, so that `received > returned` holds for no open dossier."""
_NONE_IF_EMPTY: dict[str | None, None] = {"": None, None: None}


def canonical_time(text: str, t: datetime) -> str:
    """A time that fromisoformat read from `text` (with an offset), as both databases read it: `text` itself when it
    is YYYY-MM-DD[T ]HH:MM:SS±HH:MM, nearly every time of an export, else the same second in UTC in that form
    (fractions of a second dropped: times are whole seconds)."""
    if len(text) == 25 and text[4::3] in CANONICAL:
        return text
    return t.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "+00:00"


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
    """Checks rows a batch at a time (`batch`), collecting every problem (`explain`)."""

    name: str
    catalog: Catalog
    classify: Classifier
    problems: list[str]

    def __post_init__(self) -> None:
        self.services = {s.id: s.agency for s in self.catalog.services}
        self.seen: dict[str, int] = {}
        self.formats: Counter[str] = Counter()
        """Rows per code format id, LEGACY for codes in no format of the policy."""
        self.per_service: Counter[str] = Counter()

    def batch(self, batch: Batch) -> list[Any]:
        """The rows of a batch that are fine, flat (writers.ROW values a row), ready to store: the whole batch at
        once when it is plainly fine (`_plain`), else row by row (`_rows`)."""
        out = self._plain(batch) if len(batch) else []
        if out is None:
            out = self._rows(batch.rows())
        self.formats.update(out[1::ROW])
        self.per_service.update(out[2::ROW])
        return out

    def _plain(self, batch: Batch) -> list[Any] | None:
        """The batch column by column, each rule one map or set operation over a column (they run in C, several
        times faster than a Python loop over rows); None, and nothing recorded, unless every row is plainly fine:
        known values, every time of the batch in one canonical shape and offset (so they compare as text), no
        code seen before. Most batches of a one-stop export are."""
        lines = batch.lines
        required = cast("list[Sequence[str]]", batch.columns[:len(REQUIRED)])  # the reader's "" for a missing value
        raw_codes, services, received, due, returned, channels, levels, statuses = required
        ratings, complaints = batch.columns[len(REQUIRED):]
        fromiso = datetime.fromisoformat
        try:
            codes = list(map(str.upper, map(str.strip, raw_codes)))
            agencies = list(map(self.services.__getitem__, services))
            ch, lv = list(map(CHANNELS.__getitem__, channels)), list(map(LEVELS.__getitem__, levels))
            st = list(map(STATUSES.__getitem__, statuses))
            all(map(fromiso, received)), all(map(fromiso, due)), all(map(fromiso, filter(None, returned)))
        except (KeyError, ValueError, TypeError, AttributeError):
            return None
        times = [*received, *due, *filter(None, returned)]
        if (len(set(map(_OFFSET, times))) != 1
                or len(shapes := set(map(_SHAPE, times))) != 1 or not shapes <= CANONICAL
                or any(map(operator.lt, due, received))
                or any(map(operator.gt, received, map(_LATEST.get, returned, returned)))
                or any(map(operator.eq, map(bool, returned), map("processing".__eq__, st)))
                or min(map(len, codes)) == 0 or max(map(len, codes)) > MAX_LENGTH
                or not all(map(str.isascii, codes)) or not all(map(str.isprintable, codes))
                or not all(map(RATING.match, filter(None, ratings)))  # type: ignore[arg-type]
                or not all(map(str.isdigit, counts := list(filter(None, complaints))))  # type: ignore[arg-type]
                or not all(map(str.isascii, counts)) or max(map(len, counts), default=0) > 8
                or len(set(codes)) != len(codes) or not self.seen.keys().isdisjoint(codes)):
            return None
        self.seen.update(zip(codes, lines, strict=True))
        if None in complaints or "" in complaints:
            feedback = [int(c) if c else None if r is None and c is None else 0
                        for r, c in zip(ratings, complaints, strict=True)]
        else:  # every row gives its complaints: the usual export
            feedback = list(map(int, complaints))  # type: ignore[arg-type]
        return list(chain.from_iterable(zip(
            codes, self.classify.many(codes), services, agencies, received, due, map(_NONE_IF_EMPTY.get, returned,
                                                                                     returned),
            ch, lv, st, map(_NONE_IF_EMPTY.get, ratings, ratings), feedback, strict=True)))

    def _rows(self, rows: list[Row]) -> list[Any]:
        """Row by row: a row that is entirely fine, with its times already in canonical form, is taken as it is;
        anything else goes to `explain`, which applies every rule and says what is wrong (or, if nothing is,
        returns the row: this loop may pass a good row on, it never accepts a bad one)."""
        out: list[Any] = []
        add, services, seen, classify = out.extend, self.services, self.seen, self.classify
        fromiso, rating_ok = datetime.fromisoformat, RATING.match
        for line, values in rows:
            raw_code, service, received, due, returned, channel, level, status, rating, complaints = values
            try:
                code = raw_code.strip().upper()  # type: ignore[union-attr]
                agency = services[service]  # type: ignore[index]
                fromiso(received), fromiso(due)  # type: ignore[arg-type]
                if returned:
                    fromiso(returned)
                ch, lv, st = CHANNELS[channel], LEVELS[level], STATUSES[status]  # type: ignore[index]
                # Times in one canonical shape and offset compare as text: no datetime arithmetic per row.
                shape, offset = received[4::3], received[19:]  # type: ignore[index]
            except (KeyError, ValueError, TypeError, AttributeError):
                add(self.explain(line, values))
                continue
            if (len(received) != 25 or shape not in CANONICAL  # type: ignore[arg-type]
                    or len(due) != 25 or due[4::3] != shape or due[19:] != offset or due < received  # type: ignore
                    or (returned and (len(returned) != 25 or returned[4::3] != shape or returned[19:] != offset
                                      or returned < received))  # type: ignore[operator]
                    or not code or len(code) > MAX_LENGTH or not code.isascii() or not code.isprintable()
                    or (st == "processing") != (not returned)
                    or (rating and not rating_ok(rating)) or complaints not in ("0", "", None)
                    or seen.setdefault(code, line) != line):
                add(self.explain(line, values))
                continue
            add((code, classify(code), service, agency, received, due, returned or None, ch, lv, st,
                 rating or None, None if rating is None and complaints is None else 0))
        return out

    def bad(self, line: int, column: str, value: str, expected: str) -> None:
        self.problems.append(f"{self.name}:{line}: {column}: {_show(value)}: {expected}")

    def time(self, line: int, column: str, value: str) -> datetime | None:
        try:
            t = datetime.fromisoformat(value)
        except ValueError:
            t = None
        if t is None or t.tzinfo is None:
            self.bad(line, column, value, TIME_EXPECTED)
            return None
        return t

    def explain(self, line: int, values: Sequence[str | None]) -> tuple[Any, ...]:
        """Every rule, one by one: a problem line for each broken one (and no row), or the row if none is."""
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
        r = self.time(line, "received_at", received)
        d = self.time(line, "due_at", due)
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
            ret = self.time(line, "returned_at", returned)
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
            return ()
        assert r is not None and d is not None
        return (code, self.classify(code), service, agency, canonical_time(received, r), canonical_time(due, d),
                None if ret is None else canonical_time(returned, ret), ch, lv, st, rated, count)


@dataclass
class _PartResult:
    """What checking one part found (sent back from its process)."""

    rows: int = 0
    problems: list[str] = field(default_factory=list)
    formats: Counter[str] = field(default_factory=Counter)
    per_service: Counter[str] = field(default_factory=Counter)
    code_text: str = ""
    """The part's codes, one per line, for the duplicates across parts (only when there are several): one string
    crosses the pipe ten times faster than a list of them."""
    code_list: list[str] | None = None
    """The codes as a list instead, when one holds a line break (a refused code: the file fails anyway)."""
    lines: array[int] = field(default_factory=lambda: array("q"))
    """Each code's line."""

    def codes(self) -> list[str]:
        return self.code_list if self.code_list is not None else self.code_text.split("\n")
    failure: list[str] | None = None
    """The file could not be read, or the scratch file not written: the lines to show."""


def _check_rows(export: Export, check: _Checker, sink: Writer) -> int:
    """Check every row of the export (or of its part), handing the good ones to `sink` while no row is bad."""
    rows = 0
    for batch in export.batches(check.problems):
        rows += len(batch)
        good = check.batch(batch)
        if not check.problems:
            sink.add(good)
    return rows


def _check_part(path: Path, part: Part, several: bool, catalog: Catalog, policy: PolicyVersion,
                scratch: Path) -> _PartResult:
    """One part, in a process of its own: check it and, while no row is bad, stage it in `scratch`."""
    result = _PartResult()
    try:
        export = Export(path)
        try:
            export.restrict(part)
            check = _Checker(export.name, catalog, Classifier(policy), result.problems)
            store = PartStore(scratch)
            try:
                result.rows = _check_rows(export, check, store)
                if not result.problems:
                    store.staged()
            finally:
                store.close()
        finally:
            export.close()
    except DossierError as exc:
        result.failure = list(exc.lines)
    except sqlite3.Error as exc:
        result.failure = [f"{scratch}: {exc}"]
    else:
        result.formats, result.per_service = check.formats, check.per_service
        if several:
            codes, result.lines = list(check.seen), array("q", check.seen.values())
            result.code_text = "\n".join(codes)
            if result.code_text.count("\n") != len(codes) - 1:
                result.code_text, result.code_list = "", codes
    return result


def _part_process(pipe: Connection, k: int, path: Path, parts: list[Part], catalog: Catalog,
                  policy: PolicyVersion, folder: Path) -> None:
    """A part's process: check the part (`_check_part`), send what it found, then do what the importer says:
    sort a range of services from every part's staging into its own scratch file (`sort`), or, the first part's
    process, store (`store`: the import's transaction, see writers.store_ranges), or nothing (`stop`)."""
    gc.disable()  # a million rows make a million short-lived tuples, none in a cycle: the collector only costs time
    stagings = [folder / f"{j}.sqlite3" for j in range(len(parts))]
    result = _check_part(path, parts[k], len(parts) > 1, catalog, policy, stagings[k])
    command: tuple[Any, ...] = ("stop",)
    try:
        pipe.send(result)
        command = pipe.recv()
        if command[0] == "sort":
            sort_range(folder / f"{k}-part.sqlite3", stagings, command[1])
            pipe.send(("sorted",))
        elif command[0] == "store":
            stored = store_ranges(command[1], stagings, command[2], [folder / f"{j}-part.sqlite3"
                                                                     for j in range(1, len(parts))],
                                  lambda: pipe.recv()[0] == "append", *command[3:])
            pipe.send(("stored", stored))
    except (EOFError, OSError):  # the importer is gone: nothing is stored
        return
    except sqlite3.Error as exc:
        where = f"dossiers database {command[1]}" if command[0] == "store" else f"scratch folder {folder}"
        with contextlib.suppress(OSError):
            pipe.send(("error", f"{where}: {exc}"))


class _PartProcesses:
    """The part processes of one import (forked: checks are Python, so threads would take turns on the GIL), and
    the conversation with them. On the way out they are waited for, or killed if the import did not finish."""

    def __init__(self, path: Path, parts: list[Part], catalog: Catalog, policy: PolicyVersion,
                 folder: Path) -> None:
        self.path, self.parts = path, parts
        context = multiprocessing.get_context("fork")
        self.running: list[tuple[Connection, multiprocessing.process.BaseProcess]] = []
        self.done = False
        for k in range(len(parts)):
            ours, theirs = context.Pipe()
            process = context.Process(target=_part_process, name=f"dossiers-part-{k}", daemon=True,
                                      args=(theirs, k, path, parts, catalog, policy, folder))
            self.running.append((ours, process))
            process.start()
            theirs.close()

    def __enter__(self) -> _PartProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        for ours, process in self.running:
            if not self.done:
                process.kill()
            process.join(timeout=60)
            ours.close()

    def _receive(self, k: int) -> Any:
        """Part k's next message; None if its process ended."""
        ours, process = self.running[k]
        try:
            return ours.recv()
        except (EOFError, OSError):  # OSError: a process killed with a message of ours unread resets the socket
            process.join(timeout=10)
            return None

    def _ended(self, k: int) -> list[str]:
        return [f"{self.path}: the process checking rows from line {self.parts[k].first_line} ended (exit code "
                f"{self.running[k][1].exitcode}); nothing from this file was stored"]

    def checked(self) -> list[_PartResult]:
        return [self._receive(k) or _PartResult(failure=self._ended(k)) for k in range(len(self.running))]

    def stop(self) -> None:
        """Nothing to store: the processes end."""
        for k in range(len(self.running)):
            self._send(k, ("stop",))
        self.done = True

    def store(self, ranges: list[Range], database: Path, last_check: Callable[[], list[str]],
              *log: Any) -> tuple[int, int]:
        """Ranges of services sorted into the database (the first by the first process, inside the import's
        transaction; each later one by its own process, then appended); (import id, dossiers inserted).
        `last_check` runs here meanwhile: if it finds problems, the transaction is rolled back."""
        for k, services in enumerate(ranges[1:], start=1):
            self._send(k, ("sort", services))
        self._send(0, ("store", str(database), ranges[0], *log))
        failure = last_check() or None
        for k in range(1, len(ranges)):
            answer = self._receive(k)
            if answer is None or answer[0] != "sorted":
                failure = failure or self._failure(k, answer)
        self._send(0, ("stop",) if failure else ("append",))
        answer = self._receive(0)
        self.done = True
        if failure:
            raise DossierError(*failure)
        if answer is None or answer[0] != "stored":
            raise DossierError(*self._failure(0, answer))
        return answer[1]  # type: ignore[no-any-return]

    def _send(self, k: int, message: tuple[Any, ...]) -> None:
        """A process that has ended (its error, or its end, is what `_receive` gets next) cannot be told."""
        with contextlib.suppress(OSError):
            self.running[k][0].send(message)

    def _failure(self, k: int, answer: tuple[Any, ...] | None) -> list[str]:
        if answer is None:
            return self._ended(k)
        return [f"{answer[1]}; nothing from this file was stored"]


def _ranges(per_service: Counter[str], count: int) -> list[Range]:
    """`count` ranges of services, in the table's order (SQLite compares text as UTF-8 bytes), with about as many
    rows each; the last ones empty if there are fewer services than ranges."""
    total = sum(per_service.values())
    bounds: list[str] = []
    running = 0
    for service in sorted(per_service, key=str.encode):
        if len(bounds) < count - 1 and running >= total * (len(bounds) + 1) / count and running:
            bounds.append(service)
        running += per_service[service]
    edges: list[str | None] = [None, *bounds, None]
    ranges = [(edges[i], edges[i + 1]) for i in range(len(edges) - 1)]
    return ranges + [("", "")] * (count - len(ranges))  # nothing is at or after "" and before it


def _duplicates_across(name: str, results: list[_PartResult]) -> list[str]:
    """A code in two parts: a problem on its later line, as within a part. Sets find them (in C); the lines are
    looked up only when there are some."""
    problems = []
    seen: set[str] = set()
    codes = [result.codes() if len(results) > 1 else [] for result in results]
    for k, result in enumerate(results):
        again = seen.intersection(codes[k])
        if again:
            first: dict[str, int] = {}
            for j, earlier in enumerate(results[:k]):
                for code, line in zip(codes[j], earlier.lines, strict=True):
                    if code in again:
                        first.setdefault(code, line)
            problems += [f"{name}:{line}: dossier_code: {_show(code)}: expected each dossier once per file (also on "
                         f"line {first[code]})" for code, line in zip(codes[k], result.lines, strict=True)
                         if code in again]
        if k < len(results) - 1:
            seen.update(codes[k])
    return problems


def _in_line_order(name: str, problems: list[str]) -> list[str]:
    return sorted(problems, key=lambda p: _line_of(name, p))


def _line_of(name: str, problem: str) -> int:
    """The line a problem of importer.py or reader.py names: they all start `NAME:LINE: `."""
    return int(problem[len(name) + 1:].split(":", 1)[0])


def import_file(db: DossierDatabase | Engine, catalog: Catalog, path: Path, *, on: date | None = None,
                policy: PolicyVersion | None = None, parts: int | None = None) -> ImportResult:
    """Check and store one export; DossierError with every problem (and nothing stored) if any row is bad.

    Codes are classified with the policy version in force `on` (default: today). On SQLite the file is cut
    into `parts` (default: one per CPU, at most MAX_PARTS) checked in parallel. The database is migrated if it
    is not yet (open_database(migrated=False)): on SQLite while the parts are checked."""
    start = time.perf_counter()
    engine = db.engine if isinstance(db, DossierDatabase) else db
    policy = policy or policy_for(on or datetime.now(ZoneInfo(catalog.province.timezone)).date())
    export = Export(Path(path))
    if engine.dialect.name == "sqlite":
        rows, formats, (import_id, inserted) = _import_sqlite(engine, catalog, export, policy, parts)
    else:
        rows, formats, (import_id, inserted) = _import_postgres(engine, catalog, export, policy)
    return ImportResult(file=export.name, rows=rows, inserted=inserted, updated=rows - inserted,
                        formats=dict(sorted(formats.items())), policy_version=policy.version,
                        seconds=time.perf_counter() - start, import_id=import_id)


def _import_sqlite(engine: Engine, catalog: Catalog, export: Export, policy: PolicyVersion,
                   parts: int | None) -> tuple[int, Counter[str], tuple[int, int]]:
    """Rows, rows per code format, (import id, dossiers inserted)."""
    try:
        cuts = export.parts(parts or min(MAX_PARTS, len(os.sched_getaffinity(0))))
    finally:
        export.close()
    database = Path(str(engine.url.database))
    engine.dispose()  # no open connection may cross the fork
    with _sigterm_as_exit(), _scratch(database.parent) as tmp, \
            _PartProcesses(export.path, cuts, catalog, policy, tmp) as processes:
        migrate(engine)  # while the parts are checked
        results = processes.checked()
        failures = [r.failure for r in results if r.failure]
        problems = [p for r in results for p in r.problems]
        rows = sum(r.rows for r in results)
        if failures or problems:
            processes.stop()
            if failures:
                raise DossierError(*failures[0])
            _raise_problems(export.name, _in_line_order(export.name, problems + _duplicates_across(export.name,
                                                                                                 results)), rows)

        def duplicates() -> list[str]:
            """Codes in two parts, looked for while the rows are sorted into the database (rolled back if any)."""
            found = _in_line_order(export.name, _duplicates_across(export.name, results))
            return [*found, _summary(export.name, len(found), rows)] if found else []

        formats: Counter[str] = sum((r.formats for r in results), Counter())
        ranges = _ranges(sum((r.per_service for r in results), Counter()), len(cuts))
        stored = processes.store(ranges, database, duplicates, export.name, rows, rows - formats[LEGACY],
                                 formats[LEGACY], policy.version)
    return rows, formats, stored


def _import_postgres(engine: Engine, catalog: Catalog, export: Export,
                     policy: PolicyVersion) -> tuple[int, Counter[str], tuple[int, int]]:
    migrate(engine)
    problems: list[str] = []
    check = _Checker(export.name, catalog, Classifier(policy), problems)
    writer = PostgresWriter(engine)
    collecting = gc.isenabled()
    gc.disable()
    try:
        rows = _check_rows(export, check, writer)
        _raise_problems(export.name, problems, rows)
        formats = check.formats
        return rows, formats, writer.commit(export.name, rows, rows - formats[LEGACY], formats[LEGACY],
                                            policy.version)
    except BaseException:
        writer.rollback()
        raise
    finally:
        export.close()
        if collecting:
            gc.enable()


SCRATCH = ".dossiers-import-"
"""The scratch folder of an import, next to the database: SCRATCH + the importing process id + a random tail."""


@contextmanager
def _scratch(folder: Path) -> Iterator[Path]:
    """A scratch folder for this import, removed afterwards; those of imports whose process is gone (killed) too."""
    for old in folder.glob(f"{SCRATCH}*-*"):
        pid = old.name[len(SCRATCH):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH}{os.getpid()}-", dir=folder) as tmp:
        yield Path(tmp)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


@contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """SIGTERM (a service stopped, a timeout) ends the import like Ctrl-C does: the part processes are killed and
    the scratch folder removed on the way out. Only the main thread can take signals; elsewhere, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_problems(name: str, problems: list[str], rows: int) -> None:
    if problems:
        raise DossierError(*problems, _summary(name, len(problems), rows))


def _summary(name: str, problems: int, rows: int) -> str:
    return f"{name}: {problems} problem(s) in {rows} row(s): nothing from this file was stored"
