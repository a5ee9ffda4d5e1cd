"""Read a dossier export, CSV (UTF-8 with or without BOM; comma or, as Vietnamese Excel saves it, semicolon)
or NDJSON (one JSON object per line), a batch of rows at a time, by column (Batch).

A chunk of CSV lines that are all plain rows (no double quote, no blank line, every line with the header's
number of fields: nearly every chunk) is split in a few C calls, straight into columns; any other chunk goes
line by line, a line with quotes through the csv module, joined with the lines a quoted field runs on to.
Line numbers are those of the file, so every error points at the line an editor shows.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import IO

from dossiers.columns import OPTIONAL, REQUIRED, column_of
from dossiers.errors import DossierError
from dossiers.parts import Part, cut

COLUMNS = REQUIRED + OPTIONAL
Row = tuple[int, Sequence[str | None]]
"""A line number and the values of COLUMNS in order (None: the file has no such column)."""


@dataclass(frozen=True)
class Batch:
    """Rows by column: `columns[k][i]` is the value of COLUMNS[k] in the row on line `lines[i]`."""

    lines: Sequence[int]
    columns: list[Sequence[str | None]]

    @staticmethod
    def of_rows(rows: list[Row]) -> Batch:
        if not rows:
            return Batch([], [[] for _ in COLUMNS])
        lines, values = zip(*rows, strict=True)
        return Batch(lines, list(zip(*values, strict=True)))

    def rows(self) -> list[Row]:
        return list(zip(self.lines, zip(*self.columns, strict=True), strict=True))

    def __len__(self) -> int:
        return len(self.lines)


def _plain_columns(lines: list[str], width: int, delimiter: str,
                   positions: list[int]) -> list[Sequence[str | None]] | None:
    """The values of a chunk of lines by column (COLUMNS order, via the header's `positions`, -1 for a column the
    file lacks) when every line is a plain row: no double quote, no blank line, `width` fields, ending in \n or
    \r\n. None otherwise (the chunk then goes line by line)."""
    text = "".join(lines)
    if '"' in text or set(map(str.count, lines, repeat(delimiter))) != {width - 1}:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    cells = text.rstrip("\n").replace("\n", delimiter).split(delimiter)
    n = len(lines)
    if len(cells) != width * n:
        return None
    return [cells[p::width] if p >= 0 else [None] * n for p in positions]


class Export:
    """An open export file: its kind, which optional columns it carries, and its rows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        try:
            self._file: IO[str] = path.open(encoding="utf-8-sig", newline="")
        except FileNotFoundError:
            raise DossierError(f"{path}: no such file") from None
        except OSError as exc:
            raise DossierError(f"{path}: cannot read: {exc.strerror}") from None
        self._line = 0
        self._stop = sys.maxsize
        first = self._next_line()
        if first is None:
            self.close()
            raise DossierError(f"{path}:1: (file): empty: expected a header line (CSV) or JSON objects (NDJSON)")
        self.kind = "ndjson" if first.lstrip().startswith("{") else "csv"
        self._first: str | None = first
        self.present: set[str] = set()
        if self.kind == "csv":
            self._header(first)
        else:
            self.present = set(COLUMNS)  # per object: a key that is absent is a missing value

    def parts(self, count: int) -> list[Part]:
        """The rows cut into at most `count` parts (parts.py)."""
        with self.path.open("rb") as f:
            start = len(codecs.BOM_UTF8) if f.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8 else 0
        if self.kind == "csv":
            return cut(self.path, start + len(self._first.encode()), 2, count, quoted=True)  # type: ignore[union-attr]
        return cut(self.path, start, 1, count, quoted=False)

    def restrict(self, part: Part) -> None:
        """Read only the rows of `part` from now on."""
        raw = self.path.open("rb")
        raw.seek(part.start)
        self._file.close()
        self._file = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        self._line = part.first_line - 1
        self._stop = part.stop_line or sys.maxsize
        if self.kind == "ndjson":
            self._first = self._next_line()

    def _next_line(self) -> str | None:
        try:
            line = self._file.readline()
        except UnicodeDecodeError as exc:
            raise DossierError(f"{self.path}:{self._line + 1}: (file): byte {exc.object[exc.start]:#04x}: "
                               "expected UTF-8 text (with or without BOM)") from None
        if not line or self._line + 1 >= self._stop:
            return None
        self._line += 1
        return line

    def _header(self, line: str) -> None:
        self.delimiter = ";" if line.count(";") > line.count(",") else ","
        cells = next(csv.reader([line], delimiter=self.delimiter))
        self.width = len(cells)
        self.index: dict[str, int] = {}
        for i, cell in enumerate(cells):
            column = column_of(cell)
            if column is not None and column not in self.index:
                self.index[column] = i
        missing = [c for c in REQUIRED if c not in self.index]
        if missing:
            self.close()
            raise DossierError(*[f"{self.path}:1: (header): {c}: missing: expected a column named {c} "
                                 f"(or its Vietnamese name)" for c in missing])
        self.present = set(self.index)

    def batches(self, problems: list[str], size: int = 4096) -> Iterator[Batch]:
        """Every data row, a batch at a time (a row at a time would cost a generator step per row); a line that
        is not a row at all (wrong field count, not a JSON object) is a problem."""
        if self.kind == "csv":
            yield from self._csv_batches(problems)
            return
        batch: list[Row] = []
        for row in self._ndjson_rows(problems):
            batch.append(row)
            if len(batch) >= size:
                yield Batch.of_rows(batch)
                batch = []
        if batch:
            yield Batch.of_rows(batch)

    def _lines(self) -> list[str]:
        """The next ~1 MiB of whole lines ([] at the end)."""
        try:
            return self._file.readlines(1 << 20)
        except UnicodeDecodeError as exc:
            raise DossierError(f"{self.name}:{self._line + 1}: (file): byte {exc.object[exc.start]:#04x}: expected "
                               "UTF-8 text (with or without BOM), near this line") from None

    def _csv_batches(self, problems: list[str]) -> Iterator[Batch]:
        positions = [self.index.get(c, -1) for c in COLUMNS]  # -1: the None appended to each row
        pick = itemgetter(*positions)
        as_is = positions == list(range(len(COLUMNS))) and self.width == len(COLUMNS)  # the cells are the values
        width, delimiter, name, stop = self.width, self.delimiter, self.name, self._stop - 1
        number = self._line
        lines = self._lines()
        while lines and number < stop:
            if number + len(lines) > stop:  # the chunk runs on into the next part (which starts on a row)
                lines = lines[:stop - number]
            columns = _plain_columns(lines, width, delimiter, positions)
            if columns is not None:
                yield Batch(range(number + 1, number + 1 + len(lines)), columns)
                number += len(lines)
                lines = self._lines() if number < stop else []
                continue
            batch: list[Row] = []
            i, n = 0, len(lines)
            while i < n:
                if number == stop:  # the next part's first line
                    lines = []
                    break
                line = lines[i]
                i += 1
                number += 1
                start = number
                if '"' in line:
                    while line.count('"') % 2:  # a quoted field runs on into the next line
                        if i == n:
                            lines, i = self._lines(), 0
                            n = len(lines)
                            if not n:
                                break
                        line += lines[i]
                        i += 1
                        number += 1
                    cells = next(csv.reader([line], delimiter=delimiter), [])
                else:
                    cells = line.rstrip("\r\n").split(delimiter)
                if len(cells) != width:
                    if len(cells) <= 1 and not "".join(cells).strip():
                        continue  # a blank line
                    problems.append(f"{name}:{start}: (row): {len(cells)} fields: expected {width}, as in the header")
                    continue
                if as_is:
                    batch.append((start, cells))
                else:
                    cells.append(None)  # type: ignore[arg-type]
                    batch.append((start, pick(cells)))
            yield Batch.of_rows(batch)
            lines = self._lines() if lines else []

    def _ndjson_rows(self, problems: list[str]) -> Iterator[Row]:
        line: str | None = self._first
        number = self._line
        while line is not None:
            if line.strip():
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    problems.append(f"{self.name}:{number}: (row): {exc.msg}: expected one JSON object per line")
                    obj = None
                if isinstance(obj, dict):
                    yield number, [self._value(obj, key, number, problems) for key in COLUMNS]
                elif obj is not None:
                    problems.append(f"{self.name}:{number}: (row): a JSON {type(obj).__name__}: expected one JSON "
                                    "object per line")
            line = self._next_line()
            number = self._line

    def _value(self, obj: dict[str, object], key: str, number: int, problems: list[str]) -> str | None:
        """A key that is absent is an empty value (None for the optional ones: this row carries no feedback)."""
        if key not in obj:
            return None if key in OPTIONAL else ""
        value = obj[key]
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if key == "complaints" and isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        problems.append(f"{self.name}:{number}: {key}: {json.dumps(value, ensure_ascii=False)}: expected a string")
        return ""

    def close(self) -> None:
        self._file.close()
