"""The DC lab's one error type: bad input or a machine that cannot run it (exit 2, one line each)."""

from __future__ import annotations

from dvcops.errors import DvcopsError


class DCError(DvcopsError):
    """A problem the operator can fix: a host outside the subnet, not root, the DC already up..."""
