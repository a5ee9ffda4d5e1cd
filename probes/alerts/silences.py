"""Maintenance windows as Alertmanager silences, so alerts and the SLO agree (attempts in a window are
not charged; their alerts are not sent).

Each occurrence of a catalogue window that overlaps [now, now + horizon) becomes one silence on the
services it covers (`service=~"a|b"`; every service when the window names none), created by `dvcops`
with a key in its comment. A refresh reads the silences first: a key already active or pending is
kept, a dvcops silence whose window left the catalogue is expired, the rest are created. If anything
fails half-way, the silences this run created are expired again before the error is raised.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from dvcops.catalog import Catalog
from probes.errors import ProbeError

CREATED_BY = "dvcops"
KEY_MARK = "[dvcops:"


@dataclass(frozen=True)
class PlannedSilence:
    key: str
    services: tuple[str, ...]
    """Empty: every service."""
    starts: datetime
    ends: datetime
    reason: str

    def body(self) -> dict[str, Any]:
        value = "|".join(self.services) if self.services else ".+"
        return {
            "matchers": [{"name": "service", "value": value, "isRegex": True, "isEqual": True}],
            "startsAt": self.starts.astimezone(UTC).isoformat(), "endsAt": self.ends.astimezone(UTC).isoformat(),
            "createdBy": CREATED_BY,
            "comment": f"Bảo trì theo danh mục / catalogue maintenance: {self.reason} {KEY_MARK}{self.key}]",
        }


@dataclass
class SyncResult:
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)


def planned(catalog: Catalog, now: datetime, horizon: timedelta) -> list[PlannedSilence]:
    out = []
    for i, m in enumerate(catalog.maintenance):
        services = tuple(sorted(m.services))
        for start, end in m.windows(now, now + horizon):
            ident = f"{i}|{','.join(services)}|{start.astimezone(UTC).isoformat()}|{end.astimezone(UTC).isoformat()}"
            key = hashlib.sha256(ident.encode()).hexdigest()[:16]
            out.append(PlannedSilence(key, services, start, end, m.reason or "—"))
    return out


def _key(silence: dict[str, Any]) -> str | None:
    comment = str(silence.get("comment", ""))
    if silence.get("createdBy") != CREATED_BY or KEY_MARK not in comment:
        return None
    return comment.rsplit(KEY_MARK, 1)[1].rstrip("]")


class _Api:
    def __init__(self, url: str, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url, timeout=timeout)

    def call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            response = self.client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ProbeError(f"--alertmanager {self.url}: cannot reach Alertmanager ({exc.__class__.__name__}: "
                             f"{exc})") from None
        if response.status_code >= 300:
            raise ProbeError(f"--alertmanager {self.url}: {method} {path} answered {response.status_code}: "
                             f"{response.text.strip()[:200]}")
        return response.json() if response.content else None


def sync(catalog: Catalog, url: str, now: datetime | None = None, horizon: timedelta = timedelta(days=7),
         timeout: float = 10.0) -> SyncResult:
    """Make Alertmanager's dvcops silences match the catalogue's windows; nothing half-done on error."""
    now = now or datetime.now(UTC)
    api = _Api(url, timeout)
    result = SyncResult()
    try:
        existing = api.call("GET", "/api/v2/silences")
        live = {k: s for s in existing if s.get("status", {}).get("state") in ("active", "pending")
                and (k := _key(s)) is not None}
        wanted = {p.key: p for p in planned(catalog, now, horizon)}
        try:
            for key, plan in wanted.items():
                if key in live:
                    result.kept.append(live[key]["id"])
                    continue
                created = api.call("POST", "/api/v2/silences", json=plan.body())
                result.created.append(created["silenceID"])
            for key, silence in live.items():
                if key not in wanted:
                    api.call("DELETE", f"/api/v2/silence/{silence['id']}")
                    result.expired.append(silence["id"])
        except ProbeError:
            for sid in result.created:  # undo this run's silences; the first error is the one reported
                try:
                    api.call("DELETE", f"/api/v2/silence/{sid}")
                except ProbeError:
                    pass
            raise
    finally:
        api.client.close()
    return result
