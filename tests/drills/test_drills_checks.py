"""Service checks against our own TLS and HTTP servers on 127.0.61.x: TLS, headers (Observatory scoring),
exposure (listings, admin paths, versions), front-page content, and the request budget."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from drillkit import PREFIX, TlsServer, issue_cert, write_catalog, write_roe

from drills.checks.headers import score_headers
from drills.findings import FindingsStore
from drills.roe import load_roe
from drills.runner import RunOutcome, run_drill
from dvcops.catalog import load_catalog
from dvcops.state import StateDir

pytestmark = pytest.mark.slow
A, FILES, B = f"{PREFIX}.30", f"{PREFIX}.31", f"{PREFIX}.32"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("checks61")
    ca, chain_a, key_a = issue_cert(root / "pki", "a", ["khac.drill.test"], [], days=(-30, -2))  # expired, wrong name
    _, chain_b, key_b = issue_cert(root / "other-pki", "b", [], [B], rsa_key=True)  # another CA: untrusted
    site = root / "site"
    (site / "uploads").mkdir(parents=True)
    (site / "uploads" / "ho-so.txt").write_text("hồ sơ\n", encoding="utf-8")
    (site / ".git").mkdir()
    (site / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    tls_a = TlsServer(A, 21443, chain_a, key_a)
    tls_b = TlsServer(B, 21443, chain_b, key_b, old_protocols=True,
                      ciphers="AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
    httpd = http.server.ThreadingHTTPServer((FILES, 21080), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    catalog = write_catalog(root / "catalog.yml", [
        {"name": "tls-a", "address": A, "zone": "dmz", "roles": ["web"], "security_level": 3},
        {"name": "files", "address": FILES, "zone": "dmz", "roles": ["web"], "security_level": 3},
        {"name": "tls-b", "address": B, "zone": "dmz", "roles": ["web"], "security_level": 4},
    ], {"web": [21080, 21443]}, services=[{
        "id": "cong", "name": "Cổng", "agency": "so-khcn", "level": 3,
        "endpoints": [{"url": "https://a.drill.test:21443/"}, {"url": f"https://{B}:21443/"},
                      {"url": f"http://{FILES}:21080/"}]}])
    text = catalog.read_text(encoding="utf-8").replace("agencies:", f"defaults: {{ca_file: {ca}}}\nagencies:", 1)
    catalog.write_text(text, encoding="utf-8")
    try:
        yield {"catalog": catalog, "site": site, "root": root}
    finally:
        httpd.shutdown()
        tls_a.close()
        tls_b.close()


def run(servers: dict[str, Path], state: Path, **roe: Any) -> RunOutcome:
    fields: dict[str, Any] = {"ports": [21080, 21443], "names": {"a.drill.test": A},
                              "checks": ["tls", "headers", "exposure", "content"], "rate": {"http_per_second": 100}}
    fields.update(roe)
    rules = load_roe(write_roe(state.parent / f"roe-{state.name}.yml", **fields))
    return run_drill(load_catalog(servers["catalog"]), rules, StateDir(state))


def by(outcome: RunOutcome, host: str, check: str) -> set[tuple[str, str]]:
    return {(f.subject, f.severity.value) for f in outcome.open if f.host == host and f.check == check}


def test_tls_dates_name_trust_protocols_and_ciphers(servers: dict[str, Path], tmp_path: Path) -> None:
    out = run(servers, tmp_path / "state", checks=["tls"])
    a, b = "https://a.drill.test:21443", f"https://{B}:21443"
    assert by(out, "tls-a", "tls") == {(f"{a} certificate", "high"), (f"{a} certificate name", "high")}
    expired = next(f for f in out.open if f.subject == f"{a} certificate")
    assert expired.title_en.startswith("TLS certificate expired") and "expired 2 days ago" in expired.evidence
    # level 4: everything one step up
    assert by(out, "tls-b", "tls") == {(f"{b} TLSv1.0", "high"), (f"{b} TLSv1.1", "high"),
                                       (f"{b} weak ciphers", "high"), (f"{b} certificate trust", "critical")}
    weak = next(f for f in out.open if f.subject == f"{b} weak ciphers")
    assert "the server chose AES128-SHA" in weak.evidence
    obs = {c["origin"]: c["observations"]["tls"] for c in _record(out)["checks"]}
    assert obs[a]["protocols"] == {"TLSv1.0": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True}
    assert obs[a]["trusted"] is True and obs[a]["name_matches"] is False and obs[a]["dns_names"] == ["khac.drill.test"]


def test_exposure_listing_admin_paths_versions_and_headers(servers: dict[str, Path], tmp_path: Path) -> None:
    out = run(servers, tmp_path / "state")
    origin = f"http://{FILES}:21080"
    assert by(out, "files", "exposure") == {
        (f"{origin}/ listing", "medium"), (f"{origin}/uploads/ listing", "medium"),
        (f"{origin}/.git/HEAD exposed", "high"), (f"{origin} Server", "low")}
    server = next(f for f in out.open if f.subject == f"{origin} Server")
    assert "SimpleHTTP/0.6 Python/" in server.title
    assert {s for s, _ in by(out, "files", "headers")} == {
        f"{origin}/ Content-Security-Policy", f"{origin}/ redirect", f"{origin}/ X-Frame-Options",
        f"{origin}/ X-Content-Type-Options"}
    assert all(f.severity.value == "info" for f in out.found if f.subject.endswith("Referrer-Policy"))
    # a server answering 200 to every path is not reported for every admin path
    assert by(out, "tls-a", "exposure") == set()


def test_front_page_defacement_and_change(servers: dict[str, Path], tmp_path: Path) -> None:
    state = tmp_path / "state"
    index = servers["site"] / "index.html"
    try:
        first = run(servers, state, checks=["content"])
        assert by(first, "files", "content") == set()
        index.write_text("<h1>HACKED BY Ghost</h1>", encoding="utf-8")
        second = run(servers, state, checks=["content"])
        origin = f"http://{FILES}:21080"
        assert by(second, "files", "content") == {(f"{origin}/ front page", "critical")}
        changed = [f for f in second.found if f.subject == f"{origin}/ front page content"]
        assert changed and changed[0].severity.value == "info"  # a change alone is information
        index.write_text("<h1>Cổng Dịch vụ công</h1>", encoding="utf-8")
        third = run(servers, state, checks=["content"])
        assert by(third, "files", "content") == set()
    finally:
        index.unlink(missing_ok=True)


def test_request_budget_stops_checks_and_says_so(servers: dict[str, Path], tmp_path: Path) -> None:
    state = tmp_path / "state"
    full = run(servers, state, checks=["headers", "exposure"])
    exposed = {f.id for f in full.open if f.check == "exposure"}
    assert len(exposed) == 4
    starved = run(servers, state, checks=["headers", "exposure"], rate={"max_http_requests": 3})
    assert _record(starved)["summary"]["http_requests"] == 3  # one front page per origin, then the budget is spent
    assert sum("request budget of 3 spent" in n for n in starved.notes) == 3
    assert {f.check for f in starved.found} == {"headers"}
    # the exposure checks did not finish, so their earlier findings are not taken as fixed
    store = FindingsStore(state)
    assert exposed <= {f.id for f in store.open_findings()}
    store.close()


def test_header_scoring_follows_the_observatory() -> None:
    lab = score_headers({"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN"}, https=True)
    assert (lab.score, lab.grade) == (55, "C")  # CSP -25, HSTS -20
    strong = score_headers({
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
        "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "strict-origin-when-cross-origin"}, https=True)
    assert (strong.score, strong.grade) == (120, "A+")  # 100 + 10 (CSP) + 5 (XFO via CSP) + 5 (referrer)
    weak = score_headers({"Content-Security-Policy": "script-src 'self' 'unsafe-inline'",
                          "Strict-Transport-Security": "max-age=3600", "X-Frame-Options": "DENY",
                          "X-Content-Type-Options": "nosniff", "Referrer-Policy": "unsafe-url"}, https=True)
    assert (weak.score, weak.grade) == (65, "B-")  # -20 -10 -5: no bonus below 90
    assert [t.result for t in weak.tests if not t.passed] == [
        "csp-implemented-with-unsafe-inline", "hsts-implemented-max-age-less-than-six-months",
        "referrer-policy-unsafe"]
    redirect = score_headers({"Location": "https://x/"}, https=False, status=301, location="https://x/")
    assert "redirection-to-https" in [t.result for t in redirect.tests]
    plain = score_headers({}, https=False, status=200)
    assert (plain.score, plain.grade) == (30, "D")  # CSP -25, redirect -20, XFO -20, XCTO -5


def _record(out: RunOutcome) -> dict[str, Any]:
    import json

    return json.loads((out.folder / "run.json").read_text(encoding="utf-8"))
