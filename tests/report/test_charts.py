"""The report's inline SVG charts (report/charts.py) stay self-contained and escaped."""

from __future__ import annotations

from xml.etree import ElementTree

from report.charts import Bar, bar_chart, line_chart, stacked_bar


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
