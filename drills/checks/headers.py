"""HTTP security headers, scored like the Mozilla HTTP Observatory (httpobs/docs/scoring.md).

Start at 100, subtract the penalties, add the bonuses only when the result is 90 or more, never
below 0; grade with Observatory's chart. Tests kept: Content-Security-Policy, Strict-Transport-
Security (HTTPS), the HTTP-to-HTTPS redirect (HTTP), X-Frame-Options (or CSP frame-ancestors),
X-Content-Type-Options and Referrer-Policy. Each failed test is a finding on the endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from drills.checks.http import CheckContext, Response
from drills.findings import NewFinding
from drills.messages import texts
from drills.plan import PlannedEndpoint
from drills.policy import Severity

GRADES = [(100, "A+"), (90, "A"), (85, "A-"), (80, "B+"), (70, "B"), (65, "B-"), (60, "C+"), (50, "C"), (45, "C-"),
          (40, "D+"), (30, "D"), (25, "D-"), (0, "F")]
SIX_MONTHS = 15_768_000
PRIVATE_REFERRER = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
UNSAFE_REFERRER = {"unsafe-url", "origin", "origin-when-cross-origin"}
EXAMPLES = {
    "Content-Security-Policy": "Content-Security-Policy: default-src 'self'; frame-ancestors 'self'",
    "Strict-Transport-Security": "Strict-Transport-Security: max-age=31536000",
    "X-Frame-Options": "X-Frame-Options: SAMEORIGIN",
    "X-Content-Type-Options": "X-Content-Type-Options: nosniff",
    "Referrer-Policy": "Referrer-Policy: strict-origin-when-cross-origin",
    "redirect": "return 301 https://$host$request_uri;",
}
SEVERITY = {"Content-Security-Policy": Severity.medium, "Strict-Transport-Security": Severity.medium,
            "X-Frame-Options": Severity.low, "X-Content-Type-Options": Severity.low, "Referrer-Policy": Severity.low,
            "redirect": Severity.medium}


class HeaderTest(BaseModel):
    header: str
    result: str
    """Observatory's test result name, e.g. csp-not-implemented."""
    modifier: int
    passed: bool
    problem: str = ""


class HeaderScore(BaseModel):
    score: int
    grade: str
    tests: list[HeaderTest]


def grade(score: int) -> str:
    return next(g for floor, g in GRADES if score >= floor)


def _csp(value: str | None) -> tuple[HeaderTest, dict[str, list[str]]]:
    if value is None:
        return HeaderTest(header="Content-Security-Policy", result="csp-not-implemented", modifier=-25,
                          passed=False), {}
    directives: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.strip().split()
        if words:
            directives.setdefault(words[0].lower(), [w.lower() for w in words[1:]])
    if not directives:
        return HeaderTest(header="Content-Security-Policy", result="csp-header-invalid", modifier=-25, passed=False,
                          problem="empty policy"), {}
    script = directives.get("script-src", directives.get("default-src", []))
    if "'unsafe-inline'" in script:
        t = HeaderTest(header="Content-Security-Policy", result="csp-implemented-with-unsafe-inline", modifier=-20,
                       passed=False, problem="script-src allows 'unsafe-inline'")
    elif any(s.startswith("http:") for v in directives.values() for s in v):
        t = HeaderTest(header="Content-Security-Policy", result="csp-implemented-with-insecure-scheme", modifier=-20,
                       passed=False, problem="allows resources over http:")
    elif "'unsafe-eval'" in script:
        t = HeaderTest(header="Content-Security-Policy", result="csp-implemented-with-unsafe-eval", modifier=-10,
                       passed=False, problem="script-src allows 'unsafe-eval'")
    elif directives.get("default-src") == ["'none'"]:
        t = HeaderTest(header="Content-Security-Policy", result="csp-implemented-with-no-unsafe-default-src-none",
                       modifier=10, passed=True)
    else:
        t = HeaderTest(header="Content-Security-Policy", result="csp-implemented-with-no-unsafe", modifier=5,
                       passed=True)
    return t, directives


def _hsts(value: str | None) -> HeaderTest:
    name = "Strict-Transport-Security"
    if value is None:
        return HeaderTest(header=name, result="hsts-not-implemented", modifier=-20, passed=False)
    age = None
    for part in value.split(";"):
        k, _, v = part.strip().partition("=")
        if k.lower() == "max-age" and v.strip().strip('"').isdigit():
            age = int(v.strip().strip('"'))
    if age is None:
        return HeaderTest(header=name, result="hsts-header-invalid", modifier=-20, passed=False,
                          problem=f"no max-age in {value!r}")
    if age < SIX_MONTHS:
        return HeaderTest(header=name, result="hsts-implemented-max-age-less-than-six-months", modifier=-10,
                          passed=False, problem=f"max-age={age} is less than six months")
    return HeaderTest(header=name, result="hsts-implemented-max-age-at-least-six-months", modifier=0, passed=True)


def _xfo(value: str | None, csp: dict[str, list[str]]) -> HeaderTest:
    name = "X-Frame-Options"
    if "frame-ancestors" in csp:
        return HeaderTest(header=name, result="x-frame-options-implemented-via-csp", modifier=5, passed=True)
    if value is None:
        return HeaderTest(header=name, result="x-frame-options-not-implemented", modifier=-20, passed=False)
    v = value.strip().lower()
    if v in ("deny", "sameorigin"):
        return HeaderTest(header=name, result="x-frame-options-sameorigin-or-deny", modifier=0, passed=True)
    if v.startswith("allow-from "):
        return HeaderTest(header=name, result="x-frame-options-allow-from-origin", modifier=0, passed=True)
    return HeaderTest(header=name, result="x-frame-options-header-invalid", modifier=-20, passed=False,
                      problem=f"{value!r} is not DENY or SAMEORIGIN")


def _xcto(value: str | None) -> HeaderTest:
    name = "X-Content-Type-Options"
    if value is None:
        return HeaderTest(header=name, result="x-content-type-options-not-implemented", modifier=-5, passed=False)
    if value.strip().lower() == "nosniff":
        return HeaderTest(header=name, result="x-content-type-options-nosniff", modifier=0, passed=True)
    return HeaderTest(header=name, result="x-content-type-options-header-invalid", modifier=-5, passed=False,
                      problem=f"{value!r} is not nosniff")


def _referrer(value: str | None) -> HeaderTest:
    name = "Referrer-Policy"
    if value is None:
        return HeaderTest(header=name, result="referrer-policy-not-implemented", modifier=0, passed=False)
    policies = [p.strip().lower() for p in value.split(",") if p.strip()]
    last = policies[-1] if policies else ""
    if last in PRIVATE_REFERRER:
        return HeaderTest(header=name, result="referrer-policy-private", modifier=5, passed=True)
    if last == "no-referrer-when-downgrade":
        return HeaderTest(header=name, result="referrer-policy-no-referrer-when-downgrade", modifier=0, passed=True)
    if last in UNSAFE_REFERRER:
        return HeaderTest(header=name, result="referrer-policy-unsafe", modifier=-5, passed=False,
                          problem=f"{last} leaks full or origin URLs")
    return HeaderTest(header=name, result="referrer-policy-header-invalid", modifier=-5, passed=False,
                      problem=f"{value!r} is not a referrer policy")


def score_headers(headers: Mapping[str, str], https: bool, status: int = 200, location: str = "") -> HeaderScore:
    """Observatory-style score of one response's headers (case-insensitive mapping)."""
    h = {k.lower(): v for k, v in headers.items()}
    csp_test, csp = _csp(h.get("content-security-policy"))
    tests = [csp_test]
    if https:
        tests.append(_hsts(h.get("strict-transport-security")))
    elif 300 <= status < 400 and location.lower().startswith("https://"):
        tests.append(HeaderTest(header="redirect", result="redirection-to-https", modifier=0, passed=True))
    else:
        tests.append(HeaderTest(header="redirect", result="redirection-missing", modifier=-20, passed=False))
    tests += [_xfo(h.get("x-frame-options"), csp), _xcto(h.get("x-content-type-options")),
              _referrer(h.get("referrer-policy"))]
    score = 100 + sum(t.modifier for t in tests if t.modifier < 0)
    if score >= 90:
        score += sum(t.modifier for t in tests if t.modifier > 0)
    score = max(score, 0)
    return HeaderScore(score=score, grade=grade(score), tests=tests)


def check_headers(ctx: CheckContext, ep: PlannedEndpoint, resp: Response) -> tuple[list[NewFinding], dict[str, Any]]:
    """Findings for the failed tests of one endpoint response. An HTTP endpoint that redirects to HTTPS
    is judged on the redirect alone (its headers are the HTTPS origin's business)."""
    host = ctx.hosts[ep.host]
    https = ep.scheme == "https"
    location = resp.headers.get("location", "")
    result = score_headers(resp.headers, https, resp.status, location)
    obs: dict[str, Any] = {"url": resp.url, "status": resp.status, "score": result.score, "grade": result.grade,
                           "tests": {t.header: t.result for t in result.tests}}
    if not https and 300 <= resp.status < 400 and location.lower().startswith("https://"):
        return [], obs
    out = []
    for t in result.tests:
        if t.passed:
            continue
        severity = Severity.info if t.modifier == 0 else SEVERITY[t.header]  # Observatory: no penalty
        rule = "header-missing" if t.result.endswith("not-implemented") else "header-weak"
        if t.header == "redirect":
            rule = "no-https-redirect"
        out.append(NewFinding(
            host=host.name, address=ep.address, system=host.system, zone=host.zone,
            security_level=host.security_level, check="headers", subject=f"{resp.url} {t.header}",
            severity=ctx.policy.for_level(severity, host.security_level),
            **texts(rule, header=t.header, score=result.score, grade=result.grade, problem=t.problem,
                    example=EXAMPLES[t.header]),
            evidence=f"GET {resp.url} -> {resp.status}; test {t.result} ({t.modifier:+d}); Observatory-style score "
                     f"{result.score}/100, grade {result.grade}"
                     + (f"; {t.header}: {resp.headers.get(t.header)!r}" if resp.headers.get(t.header) else "")))
    return out, obs
