"""The report's own thresholds, legal references and deadlines, chosen by date from versioned data (policy.yml).

Security obligations (drill and check intervals, their legal references, the incident deadline) are the
drills' rule: see drills/policy.yml and drills.compliance."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from dvcops.yamlsource import load_model
from report.errors import ReportError
from report.settings import get_report_settings

POLICY_FILE = Path(__file__).with_name("policy.yml")


class LegalRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ref: str
    topic: str


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    cert_warning_days: int
    uptime_amber_budget_multiple: float
    satisfaction_green: float
    satisfaction_amber: float
    online_rate_amber_gap: float
    roadmap_amber_ratio: float


class PolicyVersion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: str
    effective: date
    legal: list[LegalRef]
    thresholds: Thresholds
    deadlines: dict[str, str]


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    versions: list[PolicyVersion]


def policy_for(day: date, path: Path | None = None) -> PolicyVersion:
    """The newest policy version in effect on `day` (the oldest one if `day` precedes them all), from `path`,
    else DVCOPS_REPORT_POLICY, else the shipped policy.yml; a bad file is ReportError lines `file:line: ...`."""
    policy = load_model(path or get_report_settings().policy or POLICY_FILE, PolicyFile, ReportError, "report policy")
    versions = sorted(policy.versions, key=lambda v: v.effective)
    current = versions[0]
    for v in versions:
        if v.effective <= day:
            current = v
    return current
