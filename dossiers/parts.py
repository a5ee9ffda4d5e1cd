"""Cut an export into parts of about equal size, each a run of whole rows, for checking in parallel.

A cut falls just after a line break that ends a row: in a CSV file, one where the double quotes seen since
the header are even (a quoted field can hold line breaks; an escaped quote is two quotes, so parity is
enough); in NDJSON, any line break. Each part knows the number of its first line, so every error still
points at the line an editor shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MIN_PART_BYTES = 4 << 20
"""Smaller exports are one part: a second process would cost more than it saves."""
CHUNK = 1 << 20
"""Read into one buffer, a chunk at a time: a new 8 MiB bytes object per read costs more in page faults than counting
its line breaks does."""


@dataclass(frozen=True)
class Part:
    start: int
    """Byte offset of the part's first line."""
    first_line: int
    stop_line: int | None = None
    """The first line of the next part (None: to the end of the file)."""


def cut(path: Path, start: int, first_line: int, count: int, *, quoted: bool) -> list[Part]:
    """At most `count` parts of the rows from byte `start` (line `first_line`) to the end; fewer when the
    file is small or no row ends after a cut point (one quoted field running to the end)."""
    size = path.stat().st_size
    count = max(1, min(count, (size - start) // MIN_PART_BYTES))
    starts = [(start, first_line)]
    buffer = bytearray(CHUNK)
    with path.open("rb") as f:
        f.seek(start)
        pos, line, quotes = start, first_line, 0
        for k in range(1, count):
            target = start + (size - start) * k // count
            while pos < target:  # a chunk at a time: a 1 GB file is never in memory at once
                n = f.readinto(memoryview(buffer)[:min(CHUNK, target - pos)])
                if not n:  # shorter than it was a moment ago
                    return _parts(starts)
                chunk = buffer if n == CHUNK else buffer[:n]
                pos, line = pos + n, line + chunk.count(b"\n")
                if quoted and b'"' in chunk:  # most exports have none: `in` stops at the first
                    quotes += chunk.count(b'"')
            while True:  # to the end of this line, and on to the end of the row
                rest = f.readline()
                if not rest.endswith(b"\n"):
                    return _parts(starts)
                pos, line = pos + len(rest), line + 1
                quotes += rest.count(b'"') if quoted else 0
                if quotes % 2 == 0:
                    break
            starts.append((pos, line))
    return _parts(starts)


def _parts(starts: list[tuple[int, int]]) -> list[Part]:
    stops = [line for _, line in starts[1:]] + [None]
    return [Part(pos, line, stop) for (pos, line), stop in zip(starts, stops, strict=True)]
