"""The DoIC report: availability, satisfaction, security obligations and roadmap for one period.

It reads each part through its public read API (probes.history, survey.stats, drills.findings),
computes statuses against versioned policy data (policy.yml), and renders one self-contained HTML
file (inline SVG, print CSS for A4), JSON with the same figures, or Markdown.
"""

from report.build import ReportInputs, build_report
from report.render import render

__all__ = ["ReportInputs", "build_report", "render"]
