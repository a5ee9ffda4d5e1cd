"""Reporting periods in the province's time zone."""

from __future__ import annotations

from datetime import datetime

import pytest

from dvcops.periods import Period, PeriodError


@pytest.mark.parametrize(("label", "start", "end", "days"), [
    ("2025-06", "2025-06-01", "2025-07-01", 30),
    ("2025-Q2", "2025-04-01", "2025-07-01", 91),
    ("2025-H1", "2025-01-01", "2025-07-01", 181),
    ("2025", "2025-01-01", "2026-01-01", 365),
    ("2024-12", "2024-12-01", "2025-01-01", 31),
])
def test_labels(label: str, start: str, end: str, days: int) -> None:
    p = Period.parse(label)
    assert p.start.date().isoformat() == start and p.end.date().isoformat() == end
    assert p.start.utcoffset().total_seconds() == 7 * 3600
    assert p.seconds == days * 86400


def test_previous_periods() -> None:
    assert Period.parse("2025-01").previous().label == "2024-12"
    assert Period.parse("2025-Q1").previous().label == "2024-Q4"
    assert Period.parse("2025-H2").previous().label == "2025-H1"
    assert Period.parse("2025").previous().label == "2024"
    r = Period.between("2025-06-10", "2025-06-20")
    assert (r.previous().start.day, r.previous().end.day) == (31, 10)


def test_bad_labels_are_one_line_errors() -> None:
    for bad in ("2025-13", "2025-Q5", "June", "2025-06-01"):
        with pytest.raises(PeriodError):
            Period.parse(bad)
    with pytest.raises(PeriodError):
        Period.between("2025-06-20", "2025-06-10")


def test_contains_is_end_exclusive() -> None:
    p = Period.parse("2025-06")
    assert p.contains(p.start) and not p.contains(p.end)
    assert p.contains(datetime.fromisoformat("2025-06-30T23:59:59+07:00"))
