"""One attempt against one endpoint: what it observed, and why it stopped early if it did.

`run_check` picks the check for the target's scheme and bounds it by the target's timeout, so a
hung server costs exactly its own timeout. Each check fills an `Observed` as it goes, so a timeout
or refusal still reports the phases and certificate it got to; `probes.verdict` then decides.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from probes.checks.env import CheckEnv, CheckFailed
from probes.models import CertInfo, FailureReason
from probes.targets import Target


@dataclass
class Observed:
    """What one attempt saw. `reason` is set when the check itself failed (dns, connect, tls, timeout)."""

    started: float = 0.0
    """time.time() when the attempt started."""
    duration: float = 0.0
    reason: FailureReason | None = None
    error: str | None = None
    connected: bool = False
    ip: str | None = None
    phases: dict[str, float] = field(default_factory=dict)
    status_code: int | None = None
    http_version: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None
    body_bytes: int | None = None
    content_length: int | None = None
    redirects: int = 0
    ssl: bool = False
    cert: CertInfo | None = None
    dns_rcode: str | None = None
    dns_answers: list[str] = field(default_factory=list)


async def run_check(target: Target, env: CheckEnv) -> Observed:
    """Probe `target` once; never raises for anything the endpoint does, and never outlives its timeout."""
    from probes.checks.dns import check_dns
    from probes.checks.http import check_http
    from probes.checks.tcp import check_tcp, check_tls

    check = {"http": check_http, "tcp": check_tcp, "tls": check_tls, "dns": check_dns}[target.kind]
    obs = Observed(started=time.time())
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(target.timeout):
            await check(target, env, obs)
    except TimeoutError:
        obs.reason, obs.error = "timeout", f"no answer within {target.timeout:g}s"
    except CheckFailed as exc:
        obs.reason, obs.error = exc.reason, exc.message
    obs.duration = time.perf_counter() - t0
    return obs


__all__ = ["CheckEnv", "CheckFailed", "Observed", "run_check"]
