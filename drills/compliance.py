"""Security obligations as of a date: THE read API the DoIC report uses for its security section.

Drills own the compliance rule (policy.yml: drill and check intervals per security level, legal
references, incident deadline); a consumer asks here and renders what it gets, so the rule has one
owner and the report's headline and its per-system rows cannot disagree.

    status = security_as_of(StateDir(), catalog, as_of=period.end)
    status.drill_ok, status.systems, status.open_findings, status.waivers_expiring
    status.drill_interval("vi")            # "12 tháng" (or "theo cấp độ: ..." when levels differ)
    status.rule_text("vi")                 # the methodology sentence, from the same policy data

Everything is as of `as_of`: exercises held after it, findings opened, fixed or re-rated after it and
waivers created after it are ignored, so the figures of a closed period never change.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from drills.findings import Finding, FindingsStore, SystemCompliance, Waiver
from drills.messages import COMPLIANCE
from drills.policy import SEVERITIES, load_policy
from dvcops.catalog import Catalog
from dvcops.state import StateDir


class SecurityStatus(BaseModel):
    """What the drills know about the province's security obligations at `as_of`."""

    model_config = ConfigDict(frozen=True)

    as_of: datetime
    policy_version: str
    systems: list[SystemCompliance]
    """One row per catalogue system: last drill and check held by `as_of`, and whether each is in time."""
    open_findings: dict[str, list[Finding]]
    """Open, unwaived findings at `as_of` per severity (critical first, every severity present)."""
    waivers_expiring: list[Waiver]
    """Waivers in force at `as_of` that expire within the window asked for."""
    incident_report_days: int
    legal_security_levels: str
    legal_incidents: str

    @property
    def last_drill(self) -> datetime | None:
        return max((s.last_drill for s in self.systems if s.last_drill is not None), default=None)

    @property
    def last_check(self) -> datetime | None:
        return max((s.last_check for s in self.systems if s.last_check is not None), default=None)

    @property
    def drill_ok(self) -> bool:
        """Every system had its drill in time (no system: not met)."""
        return bool(self.systems) and all(s.drill_ok for s in self.systems)

    @property
    def check_ok(self) -> bool:
        return bool(self.systems) and all(s.check_ok for s in self.systems)

    def _interval(self, months: dict[int | None, int], lang: str) -> str:
        if len(set(months.values())) <= 1:
            return COMPLIANCE("months", lang, n=next(iter(months.values()),
                                                     load_policy().compliance.default.drill_months))
        parts = [COMPLIANCE("level", lang, level=lv if lv is not None else COMPLIANCE("no_level", lang), n=n)
                 for lv, n in sorted(months.items(), key=lambda kv: kv[0] or 0)]
        return COMPLIANCE("by_level", lang, parts="; ".join(parts))

    def drill_interval(self, lang: str) -> str:
        """The drill interval of the systems reported, e.g. "12 tháng", from policy.yml."""
        return self._interval({s.security_level: s.drill_months for s in self.systems}, lang)

    def check_interval(self, lang: str) -> str:
        return self._interval({s.security_level: s.check_months for s in self.systems}, lang)

    def rule_text(self, lang: str) -> str:
        """The methodology sentence for drills and checks, built from the policy data."""
        return COMPLIANCE("rule", lang, drill=self.drill_interval(lang), check=self.check_interval(lang),
                          version=self.policy_version)

    def legal(self, lang: str) -> list[str]:
        """The legal references in force at `as_of`, with what each governs."""
        return [f"{self.legal_security_levels} — {COMPLIANCE('legal_security_levels', lang)}",
                f"{self.legal_incidents} — {COMPLIANCE('legal_incidents', lang, days=self.incident_report_days)}"]


def security_as_of(state: StateDir, catalog: Catalog, as_of: datetime,
                   waivers_within: timedelta = timedelta(days=30)) -> SecurityStatus:
    """Compliance per catalogue system, open findings and expiring waivers, all as of `as_of`."""
    if as_of.tzinfo is None:
        raise ValueError(f"as_of {as_of.isoformat()}: a time zone is needed")
    policy = load_policy()
    legal = policy.legal_at(as_of.date())
    store = FindingsStore(state)
    try:
        by_sev = store.by_severity(as_of=as_of)
        return SecurityStatus(
            as_of=as_of, policy_version=policy.version, systems=store.compliance(catalog, at=as_of),
            open_findings={s.value: by_sev[s] for s in SEVERITIES},
            waivers_expiring=store.waivers_expiring(waivers_within, now=as_of),
            incident_report_days=policy.incident.report_within_days,
            legal_security_levels=legal.security_levels, legal_incidents=legal.incidents)
    finally:
        store.close()
