"""The DoIC report: availability, satisfaction, security obligations and roadmap for one period.

It reads each part through its public read API (probes.history, survey.stats, drills.compliance), all
as of the period's end, computes its own statuses against versioned policy data (policy.yml; the
security obligations are the drills' answer, rendered as given), and renders one self-contained HTML
file (inline SVG, print CSS for A4), JSON with the same figures, or Markdown.
"""

from report.build import ReportInputs, build_report
from report.render import render

__all__ = ["ReportInputs", "build_report", "render"]
