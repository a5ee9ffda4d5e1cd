"""Drill settings from the environment (prefix DVCOPS_DRILL_)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class DrillSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVCOPS_DRILL_", extra="ignore")

    policy: Path | None = None
    """Severity rules, compliance periods and legal references (DVCOPS_DRILL_POLICY); unset means the
    shipped drills/policy.yml. A province adopting a new decree before dvcops ships it points here."""


def get_drill_settings() -> DrillSettings:
    return DrillSettings()
