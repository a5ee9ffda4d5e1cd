"""Render the report as one self-contained HTML file, JSON (the same figures) or Markdown."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from dvcops.formatting import fmt_date, fmt_datetime, fmt_minutes, fmt_number, fmt_percent
from report.charts import Bar, bar_chart, line_chart, stacked_bar
from report.i18n import LEVEL_LABELS, SEVERITY_LABELS, label
from report.model import Report

TEMPLATES = Path(__file__).with_name("templates")
FORMATS = ("html", "json", "md")


def _env(autoescape: bool) -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, trim_blocks=True,
                       lstrip_blocks=True, autoescape=autoescape)


def _charts(r: Report) -> dict[str, Markup]:
    lang = r.meta.lang
    av, sat = r.availability, r.satisfaction
    ups = [a.uptime for a in av.agencies if a.uptime is not None]
    lo = min([0.95, *ups]) if ups else 0.95
    lo = max(0.0, round(lo - 0.005, 2))
    charts = {
        "uptime": bar_chart(label("availability", lang), [
            Bar(a.name, a.uptime or 0.0, fmt_percent(a.uptime, 2, lang), a.status, r.availability.province_slo)
            for a in av.agencies], lo=lo, hi=1.0),
        "levels": stacked_bar(label("levels", lang), [(lv.label, lv.count, fmt_number(lv.count, 0, lang))
                                                     for lv in sat.levels if lv.count]),
        "trend": line_chart(label("ratio_766", lang), [(p.label, p.ratio_766) for p in sat.trend],
                            lo=0.5, hi=1.0, fmt="{:.0%}"),
    }
    return {k: Markup(v) for k, v in charts.items()}  # noqa: S704 - built by report.charts, every text escaped


def render(report: Report, fmt: str = "html") -> str:
    if fmt == "json":
        return report.model_dump_json(indent=2)
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: expected html, json or md")
    lang = report.meta.lang
    env = _env(autoescape=fmt == "html")
    template = env.get_template("report.html.j2" if fmt == "html" else "report.md.j2")
    return template.render(
        r=report, lang=lang,
        t=lambda key: label(key, lang),
        level=lambda lv: LEVEL_LABELS.get_text(lv, lang),
        severity=lambda s: SEVERITY_LABELS.get_text(s, lang),
        pct=lambda x, d=2: fmt_percent(x, d, lang),
        num=lambda x, d=0: fmt_number(x, d, lang),
        date=lambda d: fmt_date(d, lang),
        dt=lambda d: fmt_datetime(d, lang),
        minutes=lambda m: fmt_minutes(m, lang),
        pp=lambda x: "—" if x is None else f"{'+' if x >= 0 else '−'}{fmt_number(abs(x) * 100, 1, lang)}",
        charts=_charts(report) if fmt == "html" else {},
        css=(TEMPLATES / "report.css").read_text(encoding="utf-8") if fmt == "html" else "",
    )
