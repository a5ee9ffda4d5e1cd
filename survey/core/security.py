"""Keyed hashes, receipt numbers, CSRF tokens and the admin credential check."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata


def dossier_hash(key: bytes, dossier_code: str) -> str:
    """HMAC-SHA256 of the normalised dossier code: the same dossier always maps to the same value, but
    without the key nobody can tell which code a stored hash belongs to (not even by trying every code)."""
    return hmac.new(key, dossier_code.encode(), hashlib.sha256).hexdigest()


def new_receipt_id() -> str:
    """A random receipt number such as '9F3A-07BC-11DE-42AA-0C1D' (80 bits): digits and A-F only, easy to read
    aloud at a kiosk, and it says nothing about the dossier."""
    raw = secrets.token_hex(10).upper()
    return f"{raw[0:4]}-{raw[4:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}"


def new_csrf_token(key: bytes) -> str:
    """A signed random token for the double-submit cookie: a page on another site can neither read the
    cookie nor forge a token that passes `csrf_ok`."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_csrf_sig(key, nonce)}"


def csrf_ok(key: bytes, cookie: str | None, field: str | None) -> bool:
    if not cookie or not field or not hmac.compare_digest(cookie, field):
        return False
    nonce, _, sig = cookie.partition(".")
    return bool(nonce) and hmac.compare_digest(sig, _csrf_sig(key, nonce))


def _csrf_sig(key: bytes, nonce: str) -> str:
    return hmac.new(key, f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def credentials_match(expected_user: str, expected_password: str, user: str, password: str) -> bool:
    """Constant-time comparison of both parts (NFC, so a password typed on any keyboard matches)."""
    expected_user, expected_password, user, password = (
        unicodedata.normalize("NFC", s) for s in (expected_user, expected_password, user, password))
    ok_user = hmac.compare_digest(user.encode(), expected_user.encode())
    ok_password = hmac.compare_digest(password.encode(), expected_password.encode())
    return ok_user and ok_password
