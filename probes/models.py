"""What one probe attempt observed and concluded: the shape the CLI, exporter and history share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, computed_field

FailureReason = Literal["dns", "connect", "tls", "timeout", "status", "body", "condition"]
"""Why an attempt failed, a fixed set so `probe_failures_total{reason}` stays small."""
REASONS: tuple[str, ...] = get_args(FailureReason)

State = Literal["up", "down", "unknown", "maintenance"]
"""How an attempt counts: `unknown` (our own connectivity failed) and `maintenance` are not charged."""
STATES: tuple[str, ...] = get_args(State)

HTTP_PHASES = ("resolve", "connect", "tls", "processing", "transfer")
"""blackbox_exporter's `probe_http_duration_seconds{phase}` values, summed over redirects."""


class CertInfo(BaseModel):
    """The certificates a TLS server presented, reported even when verification failed."""

    model_config = ConfigDict(frozen=True)

    leaf_expiry: datetime
    earliest_expiry: datetime
    """Earliest NotAfter across every certificate presented, intermediates included (blackbox semantics)."""
    chain_expiry: datetime | None = None
    """Earliest NotAfter of the verified chain; None when verification failed."""
    subject: str = ""
    issuer: str = ""
    verified: bool = False
    verify_error: str | None = None
    tls_version: str | None = None
    """As blackbox labels it: 'TLS 1.2', 'TLS 1.3'."""
    cipher: str | None = None

    def seconds_left(self, now: datetime | None = None) -> float:
        return (self.earliest_expiry - (now or datetime.now(UTC))).total_seconds()


class ProbeResult(BaseModel):
    """One attempt against one endpoint. No retries: this is the SLI's single truth."""

    service: str
    agency: str
    level: str
    endpoint: str
    kind: Literal["http", "tcp", "tls", "dns"]
    at: datetime
    """When the attempt started (UTC)."""
    success: bool
    state: State
    failure_reason: FailureReason | None = None
    error: str | None = None
    """A short human explanation of the failure, e.g. 'connection refused' or '[STATUS] == 200 failed'."""
    duration_seconds: float
    status_code: int | None = None
    phases: dict[str, float] = Field(default_factory=dict)
    redirects: int = 0
    http_version: float | None = None
    content_length: int | None = None
    body_bytes: int | None = None
    ssl: bool = False
    """True when the final response came over TLS (probe_http_ssl)."""
    ip: str | None = None
    connected: bool = False
    cert: CertInfo | None = None
    dns_rcode: str | None = None
    dns_answers: list[str] = Field(default_factory=list)
    failed_conditions: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cert_expiry(self) -> datetime | None:
        """The earliest certificate expiry seen, or None for plain-text endpoints."""
        return self.cert.earliest_expiry if self.cert else None

    @property
    def charged(self) -> bool:
        """Whether the attempt counts towards uptime (not unknown, not in maintenance)."""
        return self.state in ("up", "down")

    def summary(self) -> dict[str, object]:
        """The fields `dvcops probe once --json` promises, plus state and error."""
        return {
            "service": self.service, "agency": self.agency, "level": self.level, "endpoint": self.endpoint,
            "success": self.success, "state": self.state, "status_code": self.status_code,
            "duration_seconds": round(self.duration_seconds, 6), "failure_reason": self.failure_reason,
            "error": self.error, "cert_expiry": self.cert_expiry.isoformat() if self.cert_expiry else None,
            "at": self.at.isoformat(),
        }
