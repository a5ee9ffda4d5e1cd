"""Code formats: a code counts under a format only if its day received (YYMMDD) is a real day."""

from __future__ import annotations

from datetime import date

from dossiers.codes import LEGACY, Classifier
from dossiers.policy import policy_for


def test_a_code_is_in_a_format_only_with_a_real_day() -> None:
    current = Classifier(policy_for(date(2026, 6, 1)))
    assert current("H56.001.01-250228-DV0001") == "tt04-2025"
    assert current("H56.001.01-240229-DV0001") == "tt04-2025"  # 2024 is a leap year
    for day in ("250229", "250230", "251301", "250000", "250132"):
        assert current(f"H56.001.01-{day}-DV0001") == LEGACY, day
    assert current("H56.001.01-250228-DV001") == LEGACY  # one digit short
    older = Classifier(policy_for(date(2025, 6, 1)))
    assert older("000.00.31.H56-250601-0001") == "qd20-2020"
    assert older("000.00.31.H56-250631-0001") == LEGACY
    assert older("H56.001.01-250228-DV0001") == LEGACY
