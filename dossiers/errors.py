"""Errors a user of the dossiers part can cause (a bad export file, bad settings, a bad period). The CLI
prints `lines` (one per problem) and exits 2."""

from __future__ import annotations

from dvcops.errors import DvcopsError


class DossierError(DvcopsError):
    """A problem with a dossier file, the dossiers' settings or database, or the policy data."""
