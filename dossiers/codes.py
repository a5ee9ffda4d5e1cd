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
from datetime import date
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
    """Which of a policy version's code formats a code is in ('legacy' for none)."""

    def __init__(self, policy: PolicyVersion) -> None:
        self.formats = [(f.id, re.compile(f.pattern)) for f in policy.code_formats]

    def __call__(self, code: str) -> str:
        for i, (format_id, pattern) in enumerate(self.formats):
            m = pattern.match(code)
            if m is not None and (not m.groups() or _is_yymmdd(m.group(1))):
                if i:  # an export's codes are mostly in one format: try it first next time
                    self.formats.insert(0, self.formats.pop(i))
                return format_id
        return LEGACY


@cache
def _is_yymmdd(text: str) -> bool:
    try:
        date(2000 + int(text[0:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        return False
    return True
