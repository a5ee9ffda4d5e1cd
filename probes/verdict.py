"""From what a check observed to success and one failure reason.

A check that stopped early keeps its reason (dns, connect, tls, timeout). Otherwise the endpoint's
conditions decide (Gatus style; all must hold); an endpoint without conditions must answer 2xx
(http), connect (tcp), complete a verified handshake (tls) or resolve with NOERROR (dns). A failed
[STATUS] condition is `status`, a failed [BODY] one `body`, anything else `condition`. A dns://
endpoint's `expect:` answers must all be present, or it fails as `dns`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from probes.checks import Observed
from probes.models import FailureReason
from probes.targets import Target


@dataclass(frozen=True)
class Verdict:
    success: bool
    reason: FailureReason | None = None
    error: str | None = None
    failed_conditions: tuple[str, ...] = ()


class _Headers(dict[str, str]):
    """Response headers; [HEADER].Content-Type and [HEADER].content-type read the same one."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())


def placeholders(obs: Observed, now: datetime | None = None) -> dict[str, Any]:
    """The values conditions read: [STATUS], [RESPONSE_TIME] (ms), [BODY], [HEADER].name, ..."""
    return {
        "STATUS": obs.status_code,
        "RESPONSE_TIME": obs.duration * 1000.0,
        "BODY": obs.body,
        "HEADER": _Headers(obs.headers),
        "CONNECTED": obs.connected,
        "CERTIFICATE_EXPIRATION": obs.cert.seconds_left(now or datetime.now(UTC)) if obs.cert else None,
        "IP": obs.ip,
        "DNS_RCODE": obs.dns_rcode,
    }


def _reason_for(placeholder: str) -> FailureReason:
    return {"STATUS": "status", "BODY": "body"}.get(placeholder, "condition")  # type: ignore[return-value]


def judge(target: Target, obs: Observed) -> Verdict:
    if obs.reason is not None:
        return Verdict(False, obs.reason, obs.error)
    if target.kind == "dns":
        if obs.dns_rcode != "NOERROR":
            return Verdict(False, "dns", f"{target.host}: {obs.dns_rcode}")
        missing = [a for a in target.expect if a not in obs.dns_answers]
        if missing or not obs.dns_answers:
            got = ", ".join(obs.dns_answers) or "no answers"
            return Verdict(False, "dns", f"{target.host}: expected {', '.join(missing) or 'an answer'}, got {got}")
    if not target.conditions:
        if target.kind == "http" and not (obs.status_code is not None and 200 <= obs.status_code < 300):
            return Verdict(False, "status", f"HTTP {obs.status_code}: expected 2xx", ("[STATUS] is 2xx",))
        return Verdict(True)
    values = placeholders(obs)
    failed = [c for c in target.conditions if not c.evaluate(values)]
    if not failed:
        return Verdict(True)
    order = {"status": 0, "body": 1, "condition": 2}
    reason = min((_reason_for(c.placeholder) for c in failed), key=order.__getitem__)
    return Verdict(False, reason, "; ".join(f"{c.text} failed" for c in failed), tuple(c.text for c in failed))
