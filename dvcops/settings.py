"""Kernel settings from the environment (prefix DVCOPS_). Each part keeps its own settings class."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from dvcops.timezone import DEFAULT_TZ


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVCOPS_", extra="ignore")

    state: Path = Path(".dvcops")
    """State directory: SQLite files, raw scan XML, verdicts, reports (DVCOPS_STATE)."""

    timezone: str = DEFAULT_TZ
    """Province time zone for periods and reports (DVCOPS_TIMEZONE)."""


def get_settings() -> Settings:
    return Settings()
