"""The one error type of the load-test part: bad input, an out-of-scope or unreachable target."""

from __future__ import annotations

from dvcops.errors import DvcopsError


class LoadTestError(DvcopsError):
    """A problem the operator can fix; the CLI prints `lines` and exits 2."""
