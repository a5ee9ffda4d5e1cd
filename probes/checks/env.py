"""What every check shares: TLS contexts (built once per CA file), limits and the default resolver."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from probes.models import FailureReason


class CheckFailed(Exception):
    """The attempt stopped at a stage: dns, connect or tls (timeouts come from asyncio)."""

    def __init__(self, reason: FailureReason, message: str) -> None:
        super().__init__(message)
        self.reason: FailureReason = reason
        self.message = message


@dataclass
class CheckEnv:
    max_body_bytes: int = 1024 * 1024
    max_redirects: int = 10
    resolver: str | None = None
    """Default resolver `address[:port]` for targets that name none; None means the system resolver."""
    user_agent: str = "dvcops-probe/0.1"
    _verified: dict[str | None, ssl.SSLContext] = field(default_factory=dict, repr=False)
    _unverified: ssl.SSLContext | None = field(default=None, repr=False)

    def tls_context(self, ca_file: str | None) -> ssl.SSLContext:
        """A verifying client context trusting the system CAs plus `ca_file`; built once, reused."""
        ctx = self._verified.get(ca_file)
        if ctx is None:
            ctx = ssl.create_default_context()
            if ca_file:
                ctx.load_verify_locations(cafile=ca_file)
            self._verified[ca_file] = ctx
        return ctx

    def unverified_context(self) -> ssl.SSLContext:
        """For the second handshake that reads certificates a verifying handshake refused."""
        if self._unverified is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self._unverified = ctx
        return self._unverified
