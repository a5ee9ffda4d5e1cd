"""Errors a user of the report can cause: a bad option, period or policy file. The CLI prints them, exit 2."""

from __future__ import annotations

from dvcops.errors import DvcopsError


class ReportError(DvcopsError):
    """The report cannot be built as asked; `lines` say what to fix."""
