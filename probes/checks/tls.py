"""Certificate facts from a TLS session, and the second, unverified handshake that still reads them
when verification failed (blackbox_exporter reports nothing then: its issue #1119).

Python 3.11 keeps the presented chain behind a private accessor that 3.13 makes public; both are
tried, and the leaf alone is used if neither exists.
"""

from __future__ import annotations

import asyncio
import ssl
from datetime import datetime
from functools import lru_cache

from cryptography import x509

from probes.checks.env import CheckEnv, CheckFailed
from probes.models import CertInfo

TLS_VERSIONS = {"TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1", "TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}


@lru_cache(maxsize=4096)
def _cert_facts(der: bytes) -> tuple[datetime, str, str]:
    """(NotAfter, subject, issuer) of one DER certificate; cached because servers present the same ones."""
    cert = x509.load_der_x509_certificate(der)
    return cert.not_valid_after_utc, cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()


def _chain(ssl_object: ssl.SSLObject, verified: bool) -> list[bytes]:
    name = "get_verified_chain" if verified else "get_unverified_chain"
    getter = getattr(ssl_object, name, None) or getattr(getattr(ssl_object, "_sslobj", None), name, None)
    if getter is None:
        return []
    certs = getter() or []
    return [c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER) for c in certs]  # type: ignore[attr-defined]


def cert_info(ssl_object: ssl.SSLObject, verified: bool, verify_error: str | None = None) -> CertInfo | None:
    """The leaf, the earliest expiry across everything presented and, if verified, the chain's expiry."""
    leaf = ssl_object.getpeercert(binary_form=True)
    if not leaf:
        return None
    presented = _chain(ssl_object, verified=False) or [leaf]
    leaf_after, subject, issuer = _cert_facts(leaf)
    earliest = min(_cert_facts(der)[0] for der in presented)
    chain = _chain(ssl_object, verified=True) if verified else []
    cipher = ssl_object.cipher()
    version = ssl_object.version()
    return CertInfo(
        leaf_expiry=leaf_after, earliest_expiry=min(earliest, leaf_after),
        chain_expiry=min(_cert_facts(der)[0] for der in chain) if chain else None,
        subject=subject, issuer=issuer, verified=verified, verify_error=verify_error,
        tls_version=TLS_VERSIONS.get(version or "", version), cipher=cipher[0] if cipher else None,
    )


async def handshake(writer: asyncio.StreamWriter, ctx: ssl.SSLContext, host: str) -> ssl.SSLObject:
    """Upgrade a connected stream to TLS; CheckFailed('tls') with OpenSSL's reason when it fails.

    The certificate is checked against the host as written: a literal address against its IP SANs.
    """
    try:
        await writer.start_tls(ctx, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        raise CheckFailed("tls", exc.verify_message or str(exc)) from None
    except ssl.SSLError as exc:
        raise CheckFailed("tls", exc.reason or str(exc)) from None
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        raise CheckFailed("tls", f"connection closed during the TLS handshake ({exc.__class__.__name__})") from None
    ssl_object = writer.get_extra_info("ssl_object")
    assert isinstance(ssl_object, ssl.SSLObject)
    return ssl_object


async def unverified_cert(ip: str, port: int, host: str, env: CheckEnv, verify_error: str) -> CertInfo | None:
    """Connect again without verification, only to read what the server presents."""
    try:
        _, writer = await asyncio.open_connection(ip, port)
    except OSError:
        return None
    try:
        ssl_object = await handshake(writer, env.unverified_context(), host)
        return cert_info(ssl_object, verified=False, verify_error=verify_error)
    except CheckFailed:
        return None
    finally:
        writer.transport.abort()
