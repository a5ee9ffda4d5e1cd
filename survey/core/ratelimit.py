"""Per-client rate limit for submissions: a token bucket per IP address, in memory.

The bucket holds `per_minute` tokens and refills at per_minute/60 a second, so a kiosk can submit a
short burst and then one rating every few seconds. The address is used only here, never stored.
Each server process keeps its own buckets (with --workers N a client gets up to N times the limit).
"""

from __future__ import annotations

import math
import time


class RateLimiter:
    def __init__(self, per_minute: int, max_clients: int = 100_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)

    def hit(self, client: str, now: float | None = None) -> int | None:
        """Take one token for `client`: None if allowed, else the whole seconds to wait (Retry-After)."""
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
        if len(self._buckets) >= self.max_clients and client not in self._buckets:
            self._forget_idle(now)
        self._buckets[client] = (tokens - 1.0, now)
        return None

    def _forget_idle(self, now: float) -> None:
        """Drop clients whose bucket has refilled: they are indistinguishable from new ones."""
        full_after = self.capacity / self.rate
        self._buckets = {c: (t, a) for c, (t, a) in self._buckets.items() if now - a < full_after}
