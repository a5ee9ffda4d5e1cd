"""Errors a user of the prober can cause: a bad option, listen address or Prometheus URL."""

from __future__ import annotations

from dvcops.errors import DvcopsError


class ProbeError(DvcopsError):
    """Bad input to the prober; the CLI prints one line per problem and exits 2."""
