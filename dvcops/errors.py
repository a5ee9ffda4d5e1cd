"""Errors a user can cause. The CLI turns each into one line per problem and exit code 2.

Each part subclasses `DvcopsError` (ProbeError, SurveyError, DrillError, LoadTestError, ProvisionError)
so a traceback always means a bug, never bad input.
"""

from __future__ import annotations


class DvcopsError(Exception):
    """A problem the user can fix: bad input, a missing package, an out-of-scope target."""

    def __init__(self, *lines: str) -> None:
        self.lines = [line for line in lines if line] or ["error"]
        super().__init__("\n".join(self.lines))


class CatalogError(DvcopsError):
    """The catalogue file is invalid; `lines` holds one `file:line: path: message` per problem."""


class MissingPackageError(DvcopsError):
    """A Debian package the part needs is not installed."""

    def __init__(self, program: str, package: str) -> None:
        super().__init__(f"'{program}' not found: install the Debian package '{package}' (apt-get install {package})")
        self.program = program
        self.package = package
