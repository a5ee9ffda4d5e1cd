"""Errors a drill user can cause: bad RoE/scenario files, out-of-scope targets, nmap failures.

The CLI prints `lines` and exits 2; a traceback always means a bug.
"""

from __future__ import annotations

from dvcops.errors import DvcopsError


class DrillError(DvcopsError):
    """A drill cannot run as asked: invalid input, a failed scan, an unknown run or finding."""


class ScopeRefused(DrillError):
    """Something the drill would touch is outside the rules of engagement; nothing was sent."""
