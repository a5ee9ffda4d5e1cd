"""Known history without probing: a regular series of attempts with outage, maintenance and unknown
spans, turned into exactly the roll-ups and incidents that probing at that interval would record.

Used to import history, to build test fixtures ("a month with one 90-minute outage and one
maintenance window") and to generate a year of per-minute history for the benchmark. It counts
attempts span by span and hour by hour instead of one by one, so a year of minutes is quick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from probes.rollup import Counts, Outage

Span = tuple[float, float]


@dataclass(frozen=True)
class Series:
    """Rows for one endpoint: hourly counts, incidents, and the last attempt."""

    hourly: dict[int, Counts]
    outages: list[Outage]
    last_at: float | None
    last_state: str | None


def _state_at(t: float, maintenance: Sequence[Span], unknown: Sequence[Span], outages: Sequence[Span]) -> str:
    """Maintenance wins over unknown, unknown over down: the same order the prober applies."""
    for state, spans in (("maintenance", maintenance), ("unknown", unknown), ("down", outages)):
        if any(a <= t < b for a, b in spans):
            return state
    return "up"


def _copy(counts: Counts | None) -> Counts:
    fresh = Counts()
    if counts is not None:
        fresh.merge(counts)
    return fresh


def segments(start: float, end: float, outages: Sequence[Span], maintenance: Sequence[Span],
             unknown: Sequence[Span]) -> list[tuple[float, float, str]]:
    """[start, end) cut into maximal spans of one state."""
    points = {start, end}
    for a, b in (*outages, *maintenance, *unknown):
        points.update(p for p in (a, b) if start < p < end)
    cuts = sorted(points)
    out: list[tuple[float, float, str]] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        state = _state_at(a, maintenance, unknown, outages)
        if out and out[-1][2] == state:
            out[-1] = (out[-1][0], b, state)
        else:
            out.append((a, b, state))
    return out


def series(start: float, end: float, every: float, outages: Sequence[Span] = (), maintenance: Sequence[Span] = (),
           unknown: Sequence[Span] = (), latency: float | None = 0.1, reason: str | None = "connect") -> Series:
    """Attempts at start, start + every, ... (< end); failures inside `outages`, and so on."""
    if every <= 0 or end <= start:
        raise ValueError("backfill needs every > 0 and end after start")

    def first_index(t: float) -> int:
        """Index of the first attempt at or after t."""
        return max(0, math.ceil((t - start) / every - 1e-9))

    hourly: dict[int, Counts] = {}
    whole: dict[tuple[str, int], Counts] = {}
    """Hours wholly inside one span share one (read-only) Counts: a year is 8,760 hours, mostly alike."""
    incidents: list[Outage] = []
    open_: list[float] | None = None  # [start, last_failure, failures]
    last_at = last_state = None
    for a, b, state in segments(start, end, outages, maintenance, unknown):
        ka, kb = first_index(a), first_index(b)
        if ka >= kb:
            continue
        k = ka
        while k < kb:
            hour = int((start + k * every) // 3600) * 3600
            hour_end = first_index(hour + 3600)
            k_next = min(kb, hour_end)
            n = k_next - k
            if hour not in hourly and k == first_index(hour) and k_next == hour_end:
                shared = whole.get((state, n))
                if shared is None:
                    shared = whole[(state, n)] = Counts()
                    shared.add(state, latency if state == "up" else None, n)
                hourly[hour] = shared
            else:
                counts = hourly.get(hour)
                if counts is None or any(counts is c for c in whole.values()):
                    counts = hourly[hour] = _copy(counts)
                counts.add(state, latency if state == "up" else None, n)
            k = k_next
        first, last = start + ka * every, start + (kb - 1) * every
        if state == "down":
            if open_ is None:
                open_ = [first, last, 0]
            open_[1], open_[2] = last, open_[2] + (kb - ka)
        elif state in ("up", "maintenance") and open_ is not None:
            incidents.append(Outage(open_[0], first, open_[1], int(open_[2]), reason))
            open_ = None
        last_at, last_state = last, state
    if open_ is not None:
        incidents.append(Outage(open_[0], None, open_[1], int(open_[2]), reason))
    return Series(hourly, incidents, last_at, last_state)
