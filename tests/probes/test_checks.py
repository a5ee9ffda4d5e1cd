"""Each kind of failure against a real server gives the right success and failure_reason."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.probes.conftest import probe, target
from tests.probes.servers import (
    DNS,
    DNS_PORT,
    EXPIRED,
    HTTP,
    HUNG,
    HUNG_PORT,
    SELF_SIGNED,
    VALID,
    ProbeTestServers,
)

pytestmark = pytest.mark.usefixtures("servers")
RESOLVER = f"{DNS}:{DNS_PORT}"
WEB = f"http://{HTTP}:8080"


def test_200_is_up_with_phases() -> None:
    r = probe(target(f"{WEB}/ok"))
    assert (r.success, r.state, r.failure_reason, r.status_code) == (True, "up", None, 200)
    assert set(r.phases) == {"resolve", "connect", "tls", "processing", "transfer"}
    assert r.phases["connect"] > 0 and r.phases["processing"] > 0 and r.phases["tls"] == 0
    assert r.duration_seconds >= sum(r.phases.values()) * 0.99
    assert r.http_version == 1.1 and r.ssl is False and r.cert_expiry is None


def test_500_fails_on_status() -> None:
    r = probe(target(f"{WEB}/error"))
    assert (r.success, r.state, r.failure_reason, r.status_code) == (False, "down", "status", 500)
    assert "expected 2xx" in (r.error or "")


def test_status_condition_with_any() -> None:
    assert probe(target(f"{WEB}/error", ["[STATUS] == any(500, 503)"])).success
    assert probe(target(f"{WEB}/ok", ["[STATUS] == any(500, 503)"])).failure_reason == "status"


def test_redirect_chain_is_followed_and_counted() -> None:
    r = probe(target(f"{WEB}/redirect/3"))
    assert (r.success, r.status_code, r.redirects) == (True, 200, 3)


def test_endless_redirects_fail() -> None:
    r = probe(target(f"{WEB}/loop"))
    assert (r.success, r.failure_reason) == (False, "status")
    assert "more than 10 redirects" in (r.error or "")


def test_body_match_and_mismatch() -> None:
    assert probe(target(f"{WEB}/ok", ["[STATUS] == 200", "[BODY] == pat(*Dịch vụ công*)"])).success
    r = probe(target(f"{WEB}/ok", ["[STATUS] == 200", "[BODY] == pat(*Hà Giang*)"]))
    assert (r.success, r.failure_reason, r.failed_conditions) == (False, "body", ["[BODY] == pat(*Hà Giang*)"])


def test_chunked_body_is_read() -> None:
    assert probe(target(f"{WEB}/chunked", ["[BODY] == Dịch vụ công trực tuyến"])).success


def test_header_condition() -> None:
    assert probe(target(f"{WEB}/ok", ["[HEADER].X-Frame-Options == SAMEORIGIN"])).success
    r = probe(target(f"{WEB}/ok", ["[HEADER].content-security-policy == pat(*)"]))
    assert (r.success, r.failure_reason) == (False, "condition")


def test_response_time_condition() -> None:
    r = probe(target(f"{WEB}/ok", ["[RESPONSE_TIME] < 0"]))
    assert (r.success, r.failure_reason, r.status_code) == (False, "condition", 200)


def test_hung_server_times_out_after_its_own_timeout() -> None:
    t0 = time.monotonic()
    r = probe(target(f"http://{HUNG}:{HUNG_PORT}/", timeout=0.8))
    took = time.monotonic() - t0
    assert (r.success, r.failure_reason, r.connected) == (False, "timeout", True)
    assert 0.8 <= r.duration_seconds < 1.0 and took < 1.5


def test_refused_port_fails_on_connect() -> None:
    r = probe(target(f"http://{HTTP}:8099/"))
    assert (r.success, r.failure_reason, r.connected) == (False, "connect", False)
    assert "refused" in (r.error or "")


def test_expired_certificate_fails_on_tls_and_still_reports_expiry(servers: ProbeTestServers) -> None:
    r = probe(target(f"https://{EXPIRED}:8443/ok", ca_file=servers.pki.ca_file))
    assert (r.success, r.failure_reason) == (False, "tls")
    assert "expired" in (r.error or "")
    assert r.cert is not None and r.cert.verified is False
    assert r.cert_expiry == servers.pki.expiry[EXPIRED]
    assert r.cert_expiry < datetime.now(UTC) - timedelta(days=1)


def test_self_signed_certificate_fails_on_tls_and_reports_it(servers: ProbeTestServers) -> None:
    r = probe(target(f"https://{SELF_SIGNED}:8443/ok", ca_file=servers.pki.ca_file))
    assert (r.success, r.failure_reason) == (False, "tls")
    assert "self-signed" in (r.error or "") or "self signed" in (r.error or "")
    assert r.cert is not None and r.cert.leaf_expiry == servers.pki.expiry[SELF_SIGNED]
    assert r.cert.subject == r.cert.issuer


def test_valid_certificate_reports_leaf_chain_and_version(servers: ProbeTestServers) -> None:
    r = probe(target(f"https://{VALID}:8443/ok", ["[CERTIFICATE_EXPIRATION] > 720h"], ca_file=servers.pki.ca_file))
    assert r.success and r.ssl and r.cert is not None and r.cert.verified
    assert r.cert.leaf_expiry == servers.pki.expiry[VALID]
    assert r.cert.chain_expiry == servers.pki.expiry[VALID]  # the leaf expires before the CA
    assert r.cert.tls_version in ("TLS 1.2", "TLS 1.3")
    assert r.phases["tls"] > 0
    short = probe(target(f"https://{VALID}:8443/ok", ["[CERTIFICATE_EXPIRATION] > 2400h"],
                         ca_file=servers.pki.ca_file))
    assert (short.success, short.failure_reason) == (False, "condition")


def test_tls_endpoint(servers: ProbeTestServers) -> None:
    ok = probe(target(f"tls://{VALID}:8443", ca_file=servers.pki.ca_file))
    assert ok.success and ok.cert is not None and ok.cert.verified
    bad = probe(target(f"tls://{EXPIRED}:8443", ca_file=servers.pki.ca_file))
    assert (bad.success, bad.failure_reason) == (False, "tls") and bad.cert_expiry == servers.pki.expiry[EXPIRED]


def test_tcp_endpoint() -> None:
    assert probe(target(f"tcp://{HTTP}:8080", ["[CONNECTED] == true"])).success
    r = probe(target(f"tcp://{HTTP}:8099"))
    assert (r.success, r.failure_reason) == (False, "connect")


def test_dns_endpoint_answers_and_expectations() -> None:
    r = probe(target("dns://web.probe.test", resolver=RESOLVER, expect=(HTTP,)))
    assert (r.success, r.dns_rcode, r.dns_answers, r.ip) == (True, "NOERROR", [HTTP], HTTP)
    assert r.phases["resolve"] > 0
    wrong = probe(target("dns://web.probe.test", resolver=RESOLVER, expect=("10.0.0.1",)))
    assert (wrong.success, wrong.failure_reason) == (False, "dns")


def test_name_that_does_not_resolve() -> None:
    r = probe(target("dns://khong-ton-tai.probe.test", resolver=RESOLVER))
    assert (r.success, r.failure_reason, r.dns_rcode) == (False, "dns", "NXDOMAIN")
    http = probe(target("http://khong-ton-tai.probe.test:8080/ok", resolver=RESOLVER))
    assert (http.success, http.failure_reason, http.connected) == (False, "dns", False)
    assert "NXDOMAIN" in (http.error or "")


def test_http_host_name_resolved_by_the_named_resolver() -> None:
    r = probe(target("http://web.probe.test:8080/ok", resolver=RESOLVER))
    assert (r.success, r.ip) == (True, HTTP)


def test_default_resolver_from_settings() -> None:
    assert probe(target("dns://web.probe.test"), resolver=RESOLVER).success


def test_resolver_that_does_not_answer() -> None:
    r = probe(target("dns://web.probe.test", resolver=f"{DNS}:5399", timeout=1.0))
    assert not r.success and r.failure_reason in ("dns", "timeout")
