"""Front-page integrity: defacement markers, and a change since the previous run.

The hash of each origin's front page is kept in the store; a page that differs from the last run's
is an `info` finding (many pages change legitimately), a page with a defacement marker ("hacked
by" ...) is critical and does not become the new reference.
"""

from __future__ import annotations

import hashlib
from typing import Any

from drills.checks.http import CheckContext, Response
from drills.findings import NewFinding
from drills.messages import texts
from drills.plan import PlannedEndpoint
from drills.policy import Severity


def check_content(ctx: CheckContext, ep: PlannedEndpoint, front: Response,
                  previous: str | None) -> tuple[list[NewFinding], dict[str, Any]]:
    """`previous`: the front page's hash at the last run. obs["keep"] says whether this page becomes the reference."""
    host = ctx.hosts[ep.host]
    base = {"host": host.name, "address": ep.address, "system": host.system, "zone": host.zone,
            "security_level": host.security_level, "check": "content"}
    digest = hashlib.sha256(front.body.encode()).hexdigest()
    lowered = front.body.lower()
    marker = next((m for m in ctx.policy.content.defacement_markers if m.lower() in lowered), None)
    obs: dict[str, Any] = {"url": front.url, "status": front.status, "sha256": digest, "previous": previous,
                           "marker": marker}
    out: list[NewFinding] = []
    if marker:
        at = lowered.index(marker.lower())
        excerpt = " ".join(front.body[max(0, at - 40): at + 80].split())
        out.append(NewFinding(**base, subject=f"{front.url} front page", severity=ctx.policy.for_level(
            Severity.critical, host.security_level), **texts("defaced", marker=marker),
            evidence=f"GET {front.url} -> {front.status}; marker {marker!r} in: …{excerpt}…; sha256 {digest[:16]}"))
    if previous is not None and previous != digest:
        out.append(NewFinding(**base, subject=f"{front.url} front page content", severity=Severity.info,
                              **texts("content-changed"),
                              evidence=f"sha256 {previous[:16]}… at the previous run, now {digest[:16]}…"))
    obs["keep"] = not marker and front.status == 200
    return out, obs
