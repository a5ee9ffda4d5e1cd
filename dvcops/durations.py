"""Durations as the catalogue writes them: `30s`, `5m`, `2h`, `7d` (also `1h30m`, `500ms`)."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """Parse `30s`, `5m`, `2h`, `7d`, `1h30m`; raise ValueError naming the expected form."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration: expected a number and a unit, like 30s, 5m, 2h or 7d")
    if isinstance(text, int | float):
        return timedelta(seconds=float(text))
    s = str(text).strip()
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f"{text!r} is not a duration: expected a number and a unit, like 30s, 5m, 2h or 7d")
    return timedelta(seconds=total)


def format_duration(td: timedelta) -> str:
    """The shortest exact form: 90s -> 90s, 7200s -> 2h, 86400s -> 1d."""
    secs = td.total_seconds()
    if secs != int(secs):
        return f"{int(round(secs * 1000))}ms"
    secs_i = int(secs)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs_i and secs_i % size == 0:
            return f"{secs_i // size}{unit}"
    return f"{secs_i}s"
