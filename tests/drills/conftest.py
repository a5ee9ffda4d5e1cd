"""Fixtures for the drills tests; the helpers live in drillkit.py (a unique module name)."""

from drillkit import listeners, packets, test_dns  # noqa: F401  (pytest fixtures)
