"""Service checks on the in-scope HTTP(S) endpoints of the plan: TLS, headers, exposure, content.

Origins are checked in parallel (a few threads), each origin's requests one after another, all of
them paced and counted by the run's Budget. An origin that cannot be reached gives no findings and
does not count as covered, so its earlier findings are not marked fixed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from drills.checks.content import check_content
from drills.checks.exposure import check_exposure
from drills.checks.headers import check_headers
from drills.checks.http import BudgetSpent, CheckContext, client, get
from drills.checks.tls import check_tls
from drills.findings import NewFinding
from drills.plan import PlannedEndpoint

MAX_THREADS = 4


@dataclass
class OriginResult:
    endpoint: PlannedEndpoint
    findings: list[NewFinding] = field(default_factory=list)
    observations: dict[str, Any] = field(default_factory=dict)
    completed: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class ChecksOutcome:
    findings: list[NewFinding]
    origins: list[OriginResult]
    covered: set[tuple[str, str]]
    """(host, check) pairs every origin of that host completed: findings there not seen again are fixed."""
    notes: list[str]


def check_origin(ctx: CheckContext, ep: PlannedEndpoint, previous_hash: str | None, now: datetime) -> OriginResult:
    res = OriginResult(ep)
    try:
        if "tls" in ep.checks:
            found, obs = check_tls(ctx, ep, now)
            res.findings += found
            res.observations["tls"] = obs
            if "error" not in obs:
                res.completed.append("tls")
            else:
                res.error = f"TLS: {obs['error']}"
        web = [c for c in ep.checks if c in ("headers", "exposure", "content")]
        if web:
            with client(ctx) as http:
                front = get(ctx, http, ep, "/")
                page = front if ep.path == "/" else get(ctx, http, ep, ep.path)
                if "headers" in web:
                    found, obs = check_headers(ctx, ep, page)
                    res.findings += found
                    res.observations["headers"] = obs
                    res.completed.append("headers")
                if "content" in web:
                    found, obs = check_content(ctx, ep, front, previous_hash)
                    res.findings += found
                    res.observations["content"] = obs
                    res.completed.append("content")
                if "exposure" in web:
                    found, obs = check_exposure(ctx, http, ep, front)
                    res.findings += found
                    res.observations["exposure"] = obs
                    res.completed.append("exposure")
    except BudgetSpent as exc:
        res.error = exc.lines[0]
    except httpx.HTTPError as exc:
        res.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return res


def run_checks(ctx: CheckContext, endpoints: list[PlannedEndpoint], previous_hashes: dict[str, str | None],
               now: datetime) -> ChecksOutcome:
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_THREADS, len(endpoints)))) as pool:
        futures = [pool.submit(check_origin, ctx, ep, previous_hashes.get(f"{ep.origin}/"), now) for ep in endpoints]
        results = [f.result() for f in futures]
    attempted: set[tuple[str, str]] = set()
    failed: set[tuple[str, str]] = set()
    notes: list[str] = []
    for r in results:
        for check in r.endpoint.checks:
            key = (r.endpoint.host, check)
            attempted.add(key)
            if check not in r.completed:
                failed.add(key)
        if r.error:
            notes.append(f"{r.endpoint.origin}: {r.error}")
    return ChecksOutcome(findings=[f for r in results for f in r.findings], origins=results,
                         covered=attempted - failed, notes=notes)
