"""Exposure: software versions in headers, directory listings, and a short list of admin paths.

About a dozen GET requests per origin. A path counts as exposed when it answers 200 with a body
different from what the site answers for a path that cannot exist (sites that answer 200 to
everything are not reported for every path), and, for files with a known shape, that shape.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Any

import httpx

from drills.checks.http import CheckContext, Response, get
from drills.findings import NewFinding
from drills.messages import texts
from drills.plan import PlannedEndpoint
from drills.policy import Severity

VERSION = re.compile(r"\d+\.\d+")
VERSION_HEADERS = ("Server", "X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version", "X-Generator")
LISTING = re.compile(r"<title>\s*(Index of /|Directory listing for /)|<h1>\s*Index of /", re.IGNORECASE)
LISTING_PATHS = ("/uploads/", "/backup/")
ADMIN_PATHS: dict[str, tuple[Severity, re.Pattern[str] | None]] = {
    "/.git/HEAD": (Severity.high, re.compile(r"^ref: refs/")),
    "/.env": (Severity.high, re.compile(r"^[A-Z_][A-Z0-9_]*=", re.MULTILINE)),
    "/admin/": (Severity.medium, None),
    "/administrator/": (Severity.medium, None),
    "/phpmyadmin/": (Severity.high, None),
    "/server-status": (Severity.medium, re.compile(r"Apache Server Status|Server Version:", re.IGNORECASE)),
    "/manager/html": (Severity.high, None),
    "/actuator/env": (Severity.high, re.compile(r"activeProfiles|propertySources")),
}


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def check_exposure(ctx: CheckContext, http: httpx.Client, ep: PlannedEndpoint,
                   front: Response) -> tuple[list[NewFinding], dict[str, Any]]:
    host = ctx.hosts[ep.host]
    base = {"host": host.name, "address": ep.address, "system": host.system, "zone": host.zone,
            "security_level": host.security_level, "check": "exposure"}
    out: list[NewFinding] = []
    obs: dict[str, Any] = {"origin": ep.origin, "paths": {}}

    for name in VERSION_HEADERS:
        value = front.headers.get(name)
        if value and VERSION.search(value):
            out.append(NewFinding(
                **base, subject=f"{ep.origin} {name}", severity=ctx.policy.for_level(Severity.low, host.security_level),
                **texts("version-disclosure", origin=ep.origin, value=f"{name}: {value}"),
                evidence=f"GET {front.url} -> {front.status}; {name}: {value}"))

    missing = get(ctx, http, ep, f"/dvcops-khong-ton-tai-{secrets.token_hex(4)}")
    soft404 = (missing.status, _digest(missing.body))
    obs["not_found_status"] = missing.status

    pages = [front] + [get(ctx, http, ep, p) for p in LISTING_PATHS]
    for page in pages:
        path = page.url.removeprefix(ep.origin)
        obs["paths"][path] = page.status
        listing = LISTING.search(page.body) if page.status == 200 else None
        if listing:
            out.append(NewFinding(**base, subject=f"{page.url} listing", severity=ctx.policy.for_level(
                Severity.medium, host.security_level), **texts("directory-listing", path=path),
                evidence=f"GET {page.url} -> 200 with a directory index ({listing.group(0)!r})"))

    for path, (severity, shape) in ADMIN_PATHS.items():
        page = get(ctx, http, ep, path)
        obs["paths"][path] = page.status
        if page.status != 200 or (page.status, _digest(page.body)) == soft404:
            continue
        if shape is not None and not shape.search(page.body):
            continue
        out.append(NewFinding(**base, subject=f"{page.url} exposed", severity=ctx.policy.for_level(
            severity, host.security_level), **texts("admin-exposed", path=path),
            evidence=f"GET {page.url} -> 200 without credentials, {len(page.body)} bytes; "
                     f"a missing path answers {missing.status}"))
    return out, obs
