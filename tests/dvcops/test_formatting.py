"""Vietnamese number, date and duration formats; inline SVG charts stay self-contained and escaped."""

from __future__ import annotations

from datetime import date, datetime
from xml.etree import ElementTree

from dvcops.formatting import fmt_date, fmt_datetime, fmt_minutes, fmt_number, fmt_percent
from report.charts import Bar, bar_chart, line_chart, stacked_bar


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


def test_charts_are_valid_svg_with_escaped_text() -> None:
    svgs = [
        bar_chart("Uptime <b>", [Bar("Sở <X> & Y", 0.999, "99,90%", "green", 0.995)], lo=0.95, hi=1.0),
        stacked_bar("Mức độ", [("Rất hài lòng", 3, "3"), ("Không hài lòng", 1, "1")]),
        line_chart("Trend", [("T1", 0.9), ("T2", None), ("T3", 0.95)], lo=0.8, hi=1.0),
    ]
    for svg in svgs:
        root = ElementTree.fromstring(svg)  # parses: well-formed, text escaped
        assert root.tag.endswith("svg")
        assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing external
    assert "Sở &lt;X&gt; &amp; Y" in svgs[0]
    # the bar is 98% of the way from 0.95 to 1.0 (value 0.999): width = 0.98 * plot width (330)
    assert 'width="323.4"' in svgs[0]
