"""The one error type of the playbooks part: bad input for `dvcops inventory` / `dvcops provision`."""

from __future__ import annotations

from dvcops.errors import DvcopsError


class ProvisionError(DvcopsError):
    """A problem the operator can fix: a missing secret, a bad option, a chroot that does not exist."""
