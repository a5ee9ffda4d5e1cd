"""`postgresql_scram_verifier`: the SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677).

Computed on the controller, so the password itself never reaches the database host: the role
sets the verifier with ALTER ROLE ... PASSWORD '<verifier>' and compares it with pg_authid to stay
idempotent. The salt is derived from the password and user name so the same inputs always give the
same verifier (like PostgreSQL's old md5 scheme, which salted with the user name).
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def postgresql_scram_verifier(password: str, username: str, iterations: int = 4096) -> str:
    salt = hmac.new(password.encode(), f"dvcops-scram-salt:{username}".encode(), hashlib.sha256).digest()[:16]
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.new(salted, b"Client Key", hashlib.sha256).digest()).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"postgresql_scram_verifier": postgresql_scram_verifier}
