"""Report settings from the environment (prefix DVCOPS_REPORT_)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DVCOPS_REPORT_", extra="ignore")

    policy: Path | None = None
    """Thresholds and legal references (DVCOPS_REPORT_POLICY); unset means the shipped report/policy.yml."""


def get_report_settings() -> ReportSettings:
    return ReportSettings()
