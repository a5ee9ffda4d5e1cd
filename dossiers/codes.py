"""Dossier codes (mã hồ sơ): what is refused, and which format a code is in.

Only an empty code, a code with control characters or one longer than 64 characters is refused: older
one-stop systems issued codes in many shapes and their history must still import. Codes are compared
upper-cased (one dossier, one row; the survey hashes them the same way). A code in a format of the policy
version in force (policy.yml: code_formats, e.g. Thông tư 04/2025/TT-VPCP's) counts under that format's
id; every other code counts as 'legacy'.
"""

from __future__ import annotations

import re
import unicodedata
from calendar import monthrange
from functools import cache

from dossiers.policy import PolicyVersion

MAX_LENGTH = 64
LEGACY = "legacy"
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
EXPECTED = f"expected a dossier code of 1 to {MAX_LENGTH} characters without control characters"


def normalise(raw: str) -> str:
    """NFC, surrounding spaces dropped, upper-cased."""
    code = raw.strip()
    if not code.isascii():
        code = unicodedata.normalize("NFC", code)
    return code.upper()


def problem(code: str) -> str | None:
    """Why a (normalised) code is refused, or None."""
    if not code:
        return f"empty: {EXPECTED}"
    if len(code) > MAX_LENGTH:
        return f"{len(code)} characters: {EXPECTED}"
    if (not code.isprintable() or not code.isascii()) and _CONTROLS.search(code):
        return f"contains a control character: {EXPECTED}"
    return None


class Classifier:
    """Which of a policy version's code formats a code is in ('legacy' for none). A format's group, if it has one,
    is the day received as YYMMDD and must be a real day."""

    def __init__(self, policy: PolicyVersion) -> None:
        self.formats = [(f.id, re.compile(f.pattern).match) for f in policy.code_formats]
        self.days = _days()

    def many(self, codes: list[str]) -> list[str]:
        """The format of each code: the first format tried on all of them in one pass, the rest one by one."""
        if not self.formats:
            return [LEGACY] * len(codes)
        format_id, match = self.formats[0]
        days = self.days
        found = [format_id if (m := match(code)) is not None and (m.lastindex is None or m[1] in days) else None
                 for code in codes]
        if None in found:
            found = [f or self(code) for f, code in zip(found, codes, strict=True)]
        return found  # type: ignore[return-value]

    def __call__(self, code: str) -> str:
        for i, (format_id, match) in enumerate(self.formats):
            m = match(code)
            if m is not None and (m.lastindex is None or m[1] in self.days):
                if i:  # an export's codes are mostly in one format: try it first next time
                    self.formats.insert(0, self.formats.pop(i))
                return format_id
        return LEGACY


@cache
def _days() -> frozenset[str]:
    """Every day of 2000-2099 as YYMMDD: a set lookup per code instead of building a date (built from numbers,
    three times faster than from dates: each part's process builds it)."""
    return frozenset(f"{y:02d}{m:02d}{d:02d}" for y in range(100) for m in range(1, 13)
                     for d in range(1, monthrange(2000 + y, m)[1] + 1))
