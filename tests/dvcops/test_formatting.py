"""Vietnamese number, date and duration formats."""

from __future__ import annotations

from datetime import date, datetime

from dvcops.formatting import fmt_date, fmt_datetime, fmt_minutes, fmt_number, fmt_percent


def test_numbers_and_percentages() -> None:
    assert fmt_number(1234.5, 1) == "1.234,5"
    assert fmt_number(1234.5, 1, "en") == "1,234.5"
    assert fmt_number(1234567) == "1.234.567"
    assert fmt_percent(0.99953) == "99,95%"
    assert fmt_percent(0.5, 0, "en") == "50%"
    assert fmt_number(None) == "—"


def test_dates_and_durations() -> None:
    assert fmt_date(date(2025, 6, 30)) == "30/06/2025"
    assert fmt_date(date(2025, 6, 30), "en") == "2025-06-30"
    assert fmt_datetime(datetime(2025, 6, 3, 14, 5)) == "14:05 03/06/2025"
    assert fmt_minutes(90) == "1 giờ 30 phút"
    assert fmt_minutes(1530, "en") == "1 d 1 h 30 min"
    assert fmt_minutes(0) == "0 phút"

