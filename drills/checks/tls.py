"""TLS check: protocol versions offered, certificate dates, trust and name, weak cipher suites.

One handshake per protocol version (TLS 1.0 to 1.3), one with verification against the system's
CAs plus the catalogue's `ca_file`, and one offering only weak suites: six connections per origin.
Dates are judged from the certificate itself, so an expired certificate is "expired", not "untrusted".
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from drills.checks.http import CheckContext
from drills.findings import NewFinding
from drills.messages import texts
from drills.plan import PlannedEndpoint
from drills.policy import Severity

PROTOCOLS = [("TLSv1.0", ssl.TLSVersion.TLSv1), ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
             ("TLSv1.2", ssl.TLSVersion.TLSv1_2), ("TLSv1.3", ssl.TLSVersion.TLSv1_3)]
OLD = ("TLSv1.0", "TLSv1.1")
WEAK_CIPHERS = "aNULL:eNULL:EXPORT:RC4:DES:3DES:MD5:kRSA:@SECLEVEL=0"
"""Suites no current profile allows: anonymous, null, export, RC4, (3)DES, MD5, static-RSA key exchange."""
NO_CHECK_TIME = 0x200000
"""OpenSSL's X509_V_FLAG_NO_CHECK_TIME: judge the chain's trust apart from its dates (checked separately)."""


@dataclass
class Handshake:
    ok: bool
    cipher: str = ""
    cert: bytes = b""
    error: str = ""
    verify_code: int = 0


def _context(version: ssl.TLSVersion | None, ciphers: str | None = None, verify: bool = False,
             ca_file: str | None = None) -> ssl.SSLContext:
    """A client context for exactly one protocol version (None: any), optionally verifying the chain."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_default_certs()
        if ca_file:
            ctx.load_verify_locations(cafile=ca_file)
        ctx.verify_flags = ctx.verify_flags | NO_CHECK_TIME
    else:
        ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated in Python: that is what we test for
        warnings.simplefilter("ignore", DeprecationWarning)
        if version is not None:
            ctx.minimum_version = version
            ctx.maximum_version = version
        if ciphers:  # weak suites exist up to TLS 1.2 only (TLS 1.3 suites are all strong)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if ciphers or (version is not None and version < ssl.TLSVersion.TLSv1_2):
            ctx.set_ciphers(ciphers or "ALL:@SECLEVEL=0")
    return ctx


def handshake(ctx: CheckContext, ep: PlannedEndpoint, tls: ssl.SSLContext) -> Handshake:
    ctx.guard(ep)
    try:
        with socket.create_connection((ep.address, ep.port), timeout=ctx.timeout) as sock, \
                tls.wrap_socket(sock, server_hostname=ep.server_name or None) as s:
            cipher = s.cipher()
            return Handshake(True, cipher[0] if cipher else "", s.getpeercert(binary_form=True) or b"")
    except ssl.SSLCertVerificationError as exc:
        return Handshake(False, error=exc.verify_message or str(exc), verify_code=exc.verify_code or 0)
    except (ssl.SSLError, OSError) as exc:
        return Handshake(False, error=str(exc) or type(exc).__name__)


def names_in(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the certificate is for."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        cn = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        return cn, []
    return san.get_values_for_type(x509.DNSName), [str(i) for i in san.get_values_for_type(x509.IPAddress)]


def matches(name: str, dns: list[str], ips: list[str]) -> bool:
    """RFC 6125 matching: exact names, a wildcard for one left-most label, IPs against IP SANs."""
    try:
        return str(ipaddress.ip_address(name)) in ips
    except ValueError:
        pass
    name = name.lower().rstrip(".")
    for pattern in (d.lower().rstrip(".") for d in dns):
        if pattern == name:
            return True
        if pattern.startswith("*.") and "." in name and name.split(".", 1)[1] == pattern[2:]:
            return True
    return False


def check_tls(ctx: CheckContext, ep: PlannedEndpoint, now: datetime) -> tuple[list[NewFinding], dict[str, Any]]:
    host = ctx.hosts[ep.host]
    policy = ctx.policy
    base = {"host": host.name, "address": ep.address, "system": host.system, "zone": host.zone,
            "security_level": host.security_level, "check": "tls"}
    out: list[NewFinding] = []
    offered = {name: handshake(ctx, ep, _context(v)) for name, v in PROTOCOLS}
    obs: dict[str, Any] = {"origin": ep.origin, "protocols": {k: h.ok for k, h in offered.items()}}
    if not any(h.ok for h in offered.values()):
        obs["error"] = offered["TLSv1.2"].error
        return out, obs
    for name in OLD:
        if offered[name].ok:
            out.append(NewFinding(**base, subject=f"{ep.origin} {name}", severity=policy.for_level(Severity.medium,
                                  host.security_level), **texts("tls-old-protocol", protocol=name),
                                  evidence=f"handshake with {name} only succeeded ({offered[name].cipher})"))
    if not (offered["TLSv1.2"].ok or offered["TLSv1.3"].ok):
        out.append(NewFinding(**base, subject=f"{ep.origin} modern TLS", severity=policy.for_level(
            Severity.high, host.security_level), **texts("tls-no-modern"),
            evidence=f"TLS 1.2: {offered['TLSv1.2'].error}; TLS 1.3: {offered['TLSv1.3'].error}"))

    best = next(h for h in reversed(list(offered.values())) if h.ok)
    cert = x509.load_der_x509_certificate(best.cert)
    not_before, not_after = cert.not_valid_before_utc, cert.not_valid_after_utc
    dns, ips = names_in(cert)
    obs.update({"subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
                "not_before": not_before.isoformat(), "not_after": not_after.isoformat(), "dns_names": dns,
                "ip_addresses": ips, "cipher": best.cipher})
    dates = (f"valid {not_before:%Y-%m-%d %H:%M} to {not_after:%Y-%m-%d %H:%M} UTC, "
             f"issuer {cert.issuer.rfc4514_string()}")
    cert_subject = f"{ep.origin} certificate"
    if now >= not_after:
        out.append(NewFinding(**base, subject=cert_subject, severity=policy.for_level(Severity.high,
                              host.security_level), **texts("tls-expired", not_after=f"{not_after:%Y-%m-%d}"),
                              evidence=f"expired {(now - not_after).days} days ago; {dates}"))
    elif now < not_before:
        out.append(NewFinding(**base, subject=cert_subject, severity=policy.for_level(Severity.high,
                              host.security_level), **texts("tls-not-yet-valid", not_before=f"{not_before:%Y-%m-%d}"),
                              evidence=dates))
    else:
        days = (not_after - now).days
        if days < policy.tls.expiry_warn_days:
            sev = Severity.high if days < policy.tls.expiry_high_days else Severity.medium
            out.append(NewFinding(**base, subject=cert_subject, severity=policy.for_level(sev, host.security_level),
                                  **texts("tls-expiring", days=days, not_after=f"{not_after:%Y-%m-%d}"),
                                  evidence=dates))

    trusted = handshake(ctx, ep, _context(None, verify=True, ca_file=str(ctx.ca_file) if ctx.ca_file else None))
    obs["trusted"] = trusted.ok
    if not trusted.ok:
        obs["verify_error"] = trusted.error
        out.append(NewFinding(**base, subject=f"{ep.origin} certificate trust", severity=policy.for_level(
            Severity.high, host.security_level), **texts("tls-untrusted", error=trusted.error),
            evidence=f"verification against the system CAs{' and ' + str(ctx.ca_file) if ctx.ca_file else ''} "
                     f"failed: {trusted.error} (code {trusted.verify_code}); {dates}"))
    name = ep.server_name or ep.address
    obs["name_matches"] = matches(name, dns, ips)
    if not obs["name_matches"]:
        out.append(NewFinding(**base, subject=f"{ep.origin} certificate name", severity=policy.for_level(
            Severity.high, host.security_level), **texts("tls-hostname", name=name),
            evidence=f"certificate names: DNS {dns or '-'}, IP {ips or '-'}"))

    weak = handshake(ctx, ep, _context(None, ciphers=WEAK_CIPHERS))
    obs["weak_cipher"] = weak.cipher if weak.ok else None
    if weak.ok:
        out.append(NewFinding(**base, subject=f"{ep.origin} weak ciphers", severity=policy.for_level(
            Severity.medium, host.security_level), **texts("tls-weak-cipher", cipher=weak.cipher),
            evidence=f"offered only weak suites ({WEAK_CIPHERS}); the server chose {weak.cipher}"))
    return out, obs
