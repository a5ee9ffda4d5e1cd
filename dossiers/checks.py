"""The rules an export's rows must follow, checked a batch at a time (`Checker`), every problem reported at once as
`FILE:LINE: column: value: what is expected`.

Rules: a code as in codes.py; a service of the catalogue; times ISO 8601 with an offset; due and returned
not before received; channel, online level and status from columns.VALUES; returned_at empty while
processing and given once returned; each dossier once per file; a rating a level id; complaints a whole
number >= 0.
"""

from __future__ import annotations

import operator
import re
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any, cast

from dossiers.codes import MAX_LENGTH, Classifier, normalise, problem
from dossiers.columns import EXPECTED_VALUES, NUMBERS, PROCESSING, REQUIRED, value_of
from dossiers.errors import DossierError
from dossiers.reader import Batch, Export, Row
from dossiers.writers import EMPTY, ROW, Writer
from dvcops.catalog import Catalog

TIME_EXPECTED = "expected an ISO 8601 time with an offset, e.g. 2025-06-01T08:30:00+07:00"
RATING = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
CHANNELS, LEVELS, STATUSES = NUMBERS["channel"], NUMBERS["online_level"], NUMBERS["status"]
CANONICAL = frozenset({"--T::+:", "--T::-:", "-- ::+:", "-- ::-:"})
"""text[4::3] of a 25-character time YYYY-MM-DDTHH:MM:SS+HH:MM: the separators at 4, 7, 10, 13, 16, 19 and 22."""
_SHAPE, _OFFSET = operator.itemgetter(slice(4, None, 3)), operator.itemgetter(slice(19, None))
_LATEST = {"": "~"}
"""An empty returned_at as a text after every time, so that `received > returned` holds for no open dossier."""
_EMPTY_IF_NONE: dict[str | None, str] = {None: EMPTY}
"""A rating that the file has no column for is as absent as an empty one (writers.EMPTY)."""


def canonical_time(text: str, t: datetime) -> str:
    """A time that fromisoformat read from `text` (with an offset), as both databases read it: `text` itself when it
    is YYYY-MM-DD[T ]HH:MM:SS±HH:MM, nearly every time of an export, else the same second in UTC in that form
    (fractions of a second dropped: times are whole seconds)."""
    if len(text) == 25 and text[4::3] in CANONICAL:
        return text
    return t.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "+00:00"


def _show(value: str) -> str:
    """A value as the error line shows it: visible control characters, long values cut."""
    if value == "":
        return "(empty)"
    shown = value if value.isprintable() else repr(value)[1:-1]
    return shown if len(shown) <= 80 else f"{shown[:77]}… ({len(value)} characters)"


def problem_line(name: str, line: int, column: str, value: str, expected: str) -> str:
    return f"{name}:{line}: {column}: {_show(value)}: {expected}"


def once_per_file(first: int) -> str:
    return f"expected each dossier once per file (also on line {first})"


class Seen:
    """The dossier codes met so far and the line of each. The codes are a set: a look-up is one memory access where a
    dict's takes two, and a part looks up half a million codes twice. The lines are kept beside them in the same
    order (`codes`, `lines`), indexed by code only to name the earlier line of a duplicate."""

    def __init__(self) -> None:
        self._set: set[str] = set()
        self.codes: list[str] = []
        self.lines: array[int] = array("q")
        self._first: dict[str, int] = {}
        """The line of each of the first `_indexed` codes, built when a duplicate asks."""
        self._indexed = 0

    def add_new(self, codes: Sequence[str], lines: Sequence[int]) -> bool:
        """Keep a batch's codes if none is in it twice or met before (True); else keep none (False)."""
        if len(set(codes)) != len(codes) or not self._set.isdisjoint(codes):
            return False
        self._set.update(codes)
        self.codes += codes
        self.lines.extend(lines)
        return True

    def first_line(self, code: str, line: int) -> int:
        """The line `code` was first met on: `line` if it is new (it is kept)."""
        if code not in self._set:
            self._set.add(code)
            self.codes.append(code)
            self.lines.append(line)
            return line
        for i in range(self._indexed, len(self.codes)):
            self._first.setdefault(self.codes[i], self.lines[i])
        self._indexed = len(self.codes)
        return self._first[code]


@dataclass
class Checker:
    """Checks rows a batch at a time (`batch`), collecting every problem (`explain`)."""

    name: str
    catalog: Catalog
    classify: Classifier
    problems: list[str]

    def __post_init__(self) -> None:
        self.services = {s.id: s.agency for s in self.catalog.services}
        self.seen = Seen()
        self.formats: Counter[str] = Counter()
        """Rows per code format id, LEGACY for codes in no format of the policy."""
        self.per_service: Counter[str] = Counter()

    def batch(self, batch: Batch) -> list[Any]:
        """The rows of a batch that are fine, flat (writers.ROW values a row, the enumerated columns as
        columns.NUMBERS), ready to store: the whole batch at once when it is plainly fine (`_plain`), else row by
        row (`_rows`)."""
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
                or any(map(operator.eq, map(bool, returned), map(PROCESSING.__eq__, st)))
                or min(map(len, codes)) == 0 or max(map(len, codes)) > MAX_LENGTH
                or not all(map(str.isascii, codes)) or not all(map(str.isprintable, codes))
                or not all(map(RATING.match, filter(None, ratings)))  # type: ignore[arg-type]
                or not all(map(str.isdigit, counts := list(filter(None, complaints))))  # type: ignore[arg-type]
                or not all(map(str.isascii, counts)) or max(map(len, counts), default=0) > 8
                or not self.seen.add_new(codes, lines)):  # last: it keeps the codes when the batch is taken
            return None
        if None in complaints or "" in complaints:
            feedback = [int(c) if c else EMPTY if r is None and c is None else 0
                        for r, c in zip(ratings, complaints, strict=True)]
        else:  # every row gives its complaints: the usual export
            feedback = list(map(int, complaints))  # type: ignore[arg-type]
        return list(chain.from_iterable(zip(
            codes, self.classify.many(codes), services, agencies, received, due, returned, ch, lv, st,
            map(_EMPTY_IF_NONE.get, ratings, ratings), feedback, strict=True)))

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
                    or (st == PROCESSING) != (not returned)
                    or (rating and not rating_ok(rating)) or complaints not in ("0", "", None)
                    or seen.first_line(code, line) != line):
                add(self.explain(line, values))
                continue
            add((code, classify(code), service, agency, received, due, returned, ch, lv, st,
                 rating or EMPTY, EMPTY if rating is None and complaints is None else 0))
        return out

    def bad(self, line: int, column: str, value: str, expected: str) -> None:
        self.problems.append(problem_line(self.name, line, column, value, expected))

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
        first = self.seen.first_line(code, line)
        if first != line:
            self.bad(line, "dossier_code", raw_code, once_per_file(first))
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
        assert r is not None and d is not None and ch is not None and lv is not None and st is not None
        return (code, self.classify(code), service, agency, canonical_time(received, r), canonical_time(due, d),
                EMPTY if ret is None else canonical_time(returned, ret), NUMBERS["channel"][ch],
                NUMBERS["online_level"][lv], NUMBERS["status"][st], EMPTY if rated is None else rated,
                EMPTY if count is None else count)


def check_rows(export: Export, check: Checker, sink: Writer) -> int:
    """Check every row of the export (or of its part), handing the good ones to `sink` while no row is bad."""
    rows = 0
    for batch in export.batches(check.problems):
        rows += len(batch)
        good = check.batch(batch)
        if not check.problems:
            sink.add(good)
    return rows


def in_line_order(name: str, problems: list[str]) -> list[str]:
    return sorted(problems, key=lambda p: line_of(name, p))


def line_of(name: str, problem: str) -> int:
    """The line a problem of checks.py, parallel.py or reader.py names: they all start `NAME:LINE: `."""
    return int(problem[len(name) + 1:].split(":", 1)[0])


def raise_problems(name: str, problems: list[str], rows: int) -> None:
    if problems:
        raise DossierError(*problems, summary(name, len(problems), rows))


def summary(name: str, problems: int, rows: int) -> str:
    return f"{name}: {problems} problem(s) in {rows} row(s): nothing from this file was stored"
