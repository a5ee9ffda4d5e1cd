"""The report document: every figure the HTML shows, as data (this is also the JSON output)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["green", "amber", "red", "none"]


class Meta(BaseModel):
    province: str
    province_code: str
    reviewer: str
    period: str
    period_kind: str
    start: datetime
    end: datetime
    due: date | None
    """Half-year reports are due before 30/6, annual ones before 30/11 (policy.yml)."""
    generated_at: datetime
    as_of: datetime
    """Every figure is read as of this time: the period's end, or when generated while the period runs."""
    lang: str
    policy_version: str
    uptime_source: str
    survey_source: str


class Headline(BaseModel):
    key: str
    label: str
    value: float | None
    display: str
    target: float | None = None
    target_display: str = ""
    status: Status


class ServiceUptime(BaseModel):
    id: str
    name: str
    agency: str
    agency_name: str
    level: str
    slo: float
    uptime: float | None
    attempts: int
    downtime_minutes: float
    incidents: int
    p95_ms: float | None
    status: Status


class AgencyUptime(BaseModel):
    id: str
    name: str
    uptime: float | None
    downtime_minutes: float
    services: int
    services_meeting_slo: int
    status: Status


class IncidentRow(BaseModel):
    service: str
    service_name: str
    agency: str
    start: datetime
    end: datetime | None
    duration_minutes: float
    ongoing: bool


class CertificateRow(BaseModel):
    service: str
    endpoint: str
    expires_at: datetime
    days_left: float
    status: Status


class Availability(BaseModel):
    province_uptime: float | None
    province_slo: float
    attempts: int
    downtime_minutes: float
    services_meeting_slo: int
    services_with_data: int
    agencies: list[AgencyUptime]
    services: list[ServiceUptime]
    incidents: list[IncidentRow]
    certificates: list[CertificateRow]


class SatisfactionRow(BaseModel):
    id: str
    name: str
    ratings: int
    khong_hai_long: int
    ratio_766: float | None
    mean_score: float | None
    previous_ratio_766: float | None
    change: float | None
    """ratio_766 minus the previous period's, in fraction points."""
    status: Status


class LevelCount(BaseModel):
    id: str
    label: str
    count: int


class FactorRow(BaseModel):
    id: str
    label: str
    answers: int
    khong_hai_long: int
    mean_score: float | None


class CommentRow(BaseModel):
    rated_on: date
    service: str
    service_name: str
    level: str
    text: str
    """Raw; escaped by the renderer."""


class TrendPoint(BaseModel):
    label: str
    ratings: int
    ratio_766: float | None


class Satisfaction(BaseModel):
    ratings: int
    khong_hai_long: int
    ratio_766: float | None
    mean_score: float | None
    previous_period: str
    previous_ratings: int
    previous_ratio_766: float | None
    change: float | None
    status: Status
    levels: list[LevelCount]
    factors: list[FactorRow]
    agencies: list[SatisfactionRow]
    services: list[SatisfactionRow]
    comments: list[CommentRow]
    trend: list[TrendPoint] = Field(default_factory=list)
    """ratio_766 per month: the months of the period, or the six months up to a one-month period."""


class SystemRow(BaseModel):
    system: str
    security_level: int | None
    hosts: list[str]
    last_drill: datetime | None
    drill_ok: bool
    drill_reference: str | None = None
    """Approval reference of the last drill (e.g. a national exercise recorded with `dvcops drill record`)."""
    drill_months: int
    """The drill interval of this system's level (drills/policy.yml)."""
    last_check: datetime | None
    check_ok: bool
    check_reference: str | None = None
    check_months: int


class FindingRow(BaseModel):
    id: str
    host: str
    system: str
    severity: str
    title: str
    first_seen: datetime
    remediation: str


class WaiverRow(BaseModel):
    finding_id: str
    approver: str
    justification: str
    expires: datetime


class Security(BaseModel):
    """The drills' answer (drills.compliance.security_as_of) as of the period's end, rendered."""

    as_of: datetime
    policy_version: str
    """The drill policy version (drills/policy.yml) the obligations come from."""
    last_drill: datetime | None
    drill_within: bool
    """Every system had its drill within its level's interval (the per-system rows, all OK)."""
    drill_interval: str
    """e.g. "12 tháng", from the drill policy."""
    systems_drill_ok: int
    last_check: datetime | None
    check_within: bool
    check_interval: str
    systems_check_ok: int
    open_findings: dict[str, int]
    """Open, unwaived findings per severity (critical, high, medium, low, info)."""
    top_findings: list[FindingRow]
    waivers_expiring: list[WaiverRow]
    systems_without_level: list[str]
    systems: list[SystemRow]
    incident_report_days: int


class RoadmapLevel(BaseModel):
    level: str
    label: str
    count: int


class Roadmap(BaseModel):
    year: int
    target_year: int | None
    per_level: list[RoadmapLevel]
    level3: int
    level3_target: int | None
    level3_status: Status
    level4: int
    level4_target: int | None
    level4_status: Status
    online_rate_target: float | None
    online_rate: float | None
    online_rate_status: Status
    online_rate_source: Literal["dossiers", "override", "none"] = "none"
    """Where the online rate comes from: the dossiers, or --online-rate typed in (shown as such)."""
    full_online_rate_target: float | None = None
    full_online_rate: float | None = None
    full_online_rate_status: Status = "none"


class DossierIndicatorRow(BaseModel):
    id: str
    label: str
    value: float | None
    numerator: int
    denominator: int
    target: float | None
    status: Status
    points: float | None
    max_points: float | None
    formula: str
    source: str
    verified: bool
    """False: the formula was transcribed from secondary sources, not yet checked against the official text."""
    note: str
    reference: float | None = None
    """The national portal's published figure (--reference), if given."""
    difference: float | None = None
    """value - reference, in fraction points."""


class DossierAgencyRow(BaseModel):
    id: str
    name: str
    received: int
    online_rate: float | None
    full_online_rate: float | None
    on_time_rate: float | None
    overdue_open: int
    satisfaction_766: float | None


class Dossiers(BaseModel):
    """From the one-stop system's dossiers (dossiers.indicators), as of the period's end."""

    has_data: bool
    as_of: datetime
    policy_version: str
    received: int
    returned: int
    open: int
    overdue_open: int
    legacy_codes: int
    indicators: list[DossierIndicatorRow]
    agencies: list[DossierAgencyRow]
    reference_source: str | None = None


class Report(BaseModel):
    meta: Meta
    summary: list[Headline]
    availability: Availability
    satisfaction: Satisfaction
    security: Security
    roadmap: Roadmap
    dossiers: Dossiers | None = None
    methodology: list[str] = Field(default_factory=list)
    legal: list[str] = Field(default_factory=list)
