"""Alertmanager's notification timings, divided by a scale only tests use (so an outage notifies in seconds)."""

from __future__ import annotations

from dataclasses import dataclass

from probes.rules import scaled


@dataclass(frozen=True)
class Timings:
    group_wait: str = "30s"
    """How long a new group waits for more alerts before the first notification."""
    group_interval: str = "5m"
    """How long before a changed group (a new alert, a resolved one) notifies again."""
    repeat_page: str = "4h"
    repeat_ticket: str = "24h"

    def scaled(self, scale: float) -> Timings:
        return Timings(*(scaled(v, scale) for v in (self.group_wait, self.group_interval, self.repeat_page,
                                                   self.repeat_ticket)))
