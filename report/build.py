"""Build the report document for one period from the parts' read APIs, every one asked as of the same time.

That time is the period's end (or now, while the period runs): a report for a closed period shows the
same figures whenever it is rendered, whatever was recorded since (drills held later, probe results and
ratings that arrived after it). The parts are read only through their public read API functions:
probes.history.History.report, survey.stats.satisfaction/monthly, drills.compliance.security_as_of.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dossiers.db import open_database as open_dossiers
from drills.compliance import security_as_of
from dvcops.catalog import Catalog
from dvcops.formatting import fmt_number, fmt_percent
from dvcops.i18n import LANGS
from dvcops.periods import Period
from dvcops.state import StateDir
from probes.history import History
from report.availability import availability_section, uptime_status
from report.dossiers import dossiers_section, load_reference
from report.errors import ReportError
from report.i18n import METHODOLOGY, label
from report.model import Availability, Dossiers, Headline, Meta, Report, Roadmap, Satisfaction, Security, Status
from report.policy import PolicyVersion, Thresholds, policy_for
from report.roadmap import roadmap_section
from report.satisfaction import satisfaction_section
from report.security import security_section
from survey import stats


@dataclass
class ReportInputs:
    """Where the figures come from: the embedded state dir by default; Prometheus and PostgreSQL in production."""

    state: StateDir
    uptime_source: str = "state"
    """state | prometheus"""
    prometheus_url: str | None = None
    survey_database_url: str | None = None
    online_rate: float | None = None
    """An online-application rate typed in (--online-rate): overrides the dossiers' figure, labelled as such."""
    dossiers_database_url: str | None = None
    reference: Path | None = None
    """The national portal's published figures for the period (YAML): the report shows the difference."""


def _due(period: Period, policy: PolicyVersion) -> date | None:
    """Half-year and annual reports have a deadline (policy.yml, keyed by period kind); others none."""
    if period.kind not in policy.deadlines:
        return None
    day, month = (int(x) for x in policy.deadlines[period.kind].split("/"))
    return date(period.start.year, month, day)


def _history(inputs: ReportInputs, catalog: Catalog) -> History:
    if inputs.uptime_source == "prometheus":
        if not inputs.prometheus_url:
            raise ReportError("--uptime-source prometheus needs --url (e.g. http://127.0.0.1:9090)")
        return History.from_prometheus(inputs.prometheus_url, catalog.province.timezone)
    if inputs.uptime_source != "state":
        raise ReportError(f"--uptime-source {inputs.uptime_source!r}: expected state or prometheus")
    return History.in_state(inputs.state, catalog.province.timezone)


def _summary(av: Availability, sat: Satisfaction, sec: Security, road: Roadmap, t: Thresholds,
             lang: str, dos: Dossiers | None = None) -> list[Headline]:
    def h(key: str, value: float | None, display: str, status: Status, target: float | None = None,
          target_display: str = "") -> Headline:
        return Headline(key=key, label=label(key, lang), value=value, display=display, target=target,
                        target_display=target_display, status=status)

    n_ok, n_all = av.services_meeting_slo, av.services_with_data
    slo_status: Status = "none" if n_all == 0 else "green" if n_ok == n_all else "amber" if n_ok >= 0.8 * n_all \
        else "red"
    crit = sec.open_findings.get("critical", 0) + sec.open_findings.get("high", 0)
    n_sys = len(sec.systems)
    heads: list[Headline] = [
        h("province_uptime", av.province_uptime, fmt_percent(av.province_uptime, 3, lang),
          uptime_status(av.province_uptime, av.province_slo, t),
          av.province_slo, fmt_percent(av.province_slo, 1, lang)),
        h("services_slo", n_ok, f"{n_ok}/{n_all}", slo_status, n_all, f"{n_all}/{n_all}"),
        h("ratio_766", sat.ratio_766, fmt_percent(sat.ratio_766, 1, lang), sat.status,
          t.satisfaction_green, fmt_percent(t.satisfaction_green, 0, lang)),
        # the same answer as the per-system rows (drills.compliance): met only when every system is in time
        h("drill", sec.systems_drill_ok, f"{sec.systems_drill_ok}/{n_sys}", "green" if sec.drill_within else "red",
          n_sys, f"{n_sys}/{n_sys}"),
        h("check", sec.systems_check_ok, f"{sec.systems_check_ok}/{n_sys}", "green" if sec.check_within else "red",
          n_sys, f"{n_sys}/{n_sys}"),
        h("critical_findings", crit, fmt_number(crit, 0, lang),
          "red" if sec.open_findings.get("critical", 0) else "amber" if crit else "green", 0, "0"),
        h("level3", road.level3, str(road.level3), road.level3_status, road.level3_target,
          str(road.level3_target) if road.level3_target is not None else "—"),
        h("level4", road.level4, str(road.level4), road.level4_status, road.level4_target,
          str(road.level4_target) if road.level4_target is not None else "—"),
    ]
    for head in heads:
        if head.key in ("drill", "check"):
            head.label = head.label.format(interval=sec.drill_interval if head.key == "drill" else sec.check_interval)
    if road.online_rate_target is not None or road.online_rate_source != "none":
        shown = fmt_percent(road.online_rate, 1, lang) if road.online_rate is not None else label("not_measured", lang)
        if road.online_rate_source == "override":
            shown += f" ({label('typed_in', lang)})"
        heads.append(h("online_rate", road.online_rate, shown, road.online_rate_status, road.online_rate_target,
                       fmt_percent(road.online_rate_target, 0, lang) if road.online_rate_target is not None else "—"))
    if dos is not None and dos.has_data:
        rows = {r.id: r for r in dos.indicators}
        for key in ("full_online_rate", "on_time_rate", "satisfaction_766"):
            if key in rows:
                r = rows[key]
                heads.append(h(f"dossiers_{key}", r.value, fmt_percent(r.value, 1, lang), r.status, r.target,
                               fmt_percent(r.target, 0, lang) if r.target is not None else "—"))
    return heads


def build_report(catalog: Catalog, period: Period | str, inputs: ReportInputs, lang: str = "vi",
                 now: datetime | None = None) -> Report:
    """All sections for `period`, with statuses from the policy version in effect at the period's end."""
    if lang not in LANGS:
        raise ReportError(f"--lang {lang!r}: expected vi or en")
    p = Period.parse(period, catalog.province.timezone) if isinstance(period, str) else period
    now = now or datetime.now(UTC)
    as_of = min(now, p.end)
    """Every read below is as of this time."""
    policy = policy_for(as_of.date())
    t = policy.thresholds
    history = _history(inputs, catalog)
    try:
        av = availability_section(catalog, history.report(p, catalog, cert_days=t.cert_warning_days, as_of=as_of), t)
    finally:
        history.close()
    last_day = (as_of - timedelta(microseconds=1)).astimezone(ZoneInfo(catalog.province.timezone)).date()
    db = stats.open_database(url=inputs.survey_database_url, state=inputs.state)
    try:
        sat = satisfaction_section(catalog, db, p, t, lang, as_of=last_day)
    finally:
        db.close()
    status = security_as_of(inputs.state, catalog, as_of)
    sec = security_section(catalog, status, lang)
    reference = load_reference(inputs.reference, p) if inputs.reference is not None else None
    dossier_db = open_dossiers(url=inputs.dossiers_database_url, state=inputs.state)
    try:
        dos = dossiers_section(catalog, dossier_db, p, as_of, lang, reference)
    finally:
        dossier_db.close()
    road = roadmap_section(catalog, p.start.year, t, lang, inputs.online_rate, dos)
    meta = Meta(province=catalog.province.name, province_code=catalog.province.code,
                reviewer=catalog.province.reviewer, period=p.label, period_kind=p.kind, start=p.start, end=p.end,
                due=_due(p, policy), generated_at=now, as_of=as_of, lang=lang, policy_version=policy.version,
                uptime_source=inputs.uptime_source if inputs.uptime_source == "state" else str(inputs.prometheus_url),
                survey_source="postgresql" if (inputs.survey_database_url or "").startswith("postgres") else "sqlite")
    return Report(meta=meta, summary=_summary(av, sat, sec, road, t, lang, dos), availability=av, satisfaction=sat,
                  security=sec, roadmap=road, dossiers=dos,
                  methodology=[*_methodology(lang), status.rule_text(lang), *_dossier_methods(dos, lang)],
                  legal=[*status.legal(lang), *(f"{ref.ref} — {ref.topic}" for ref in policy.legal)])


def _dossier_methods(dos: Dossiers, lang: str) -> list[str]:
    """Each dossier indicator's formula and legal source, marked when not yet checked against the official text."""
    unchecked = " — CHƯA ĐỐI CHIẾU văn bản gốc" if lang == "vi" else " — NOT YET CHECKED against the official text"
    intro = (f"Chỉ số hồ sơ tính từ dữ liệu hệ thống một cửa, tại thời điểm {dos.as_of:%d/%m/%Y %H:%M}, theo chính "
             f"sách phiên bản {dos.policy_version} (dossiers/policy.yml)." if lang == "vi" else
             f"Dossier indicators from the one-stop system's data, as of {dos.as_of:%Y-%m-%d %H:%M}, policy version "
             f"{dos.policy_version} (dossiers/policy.yml).")
    return [intro] + [f"{r.label}: {r.formula}. {r.source}{'' if r.verified else unchecked}." for r in dos.indicators]


def _methodology(lang: str) -> list[str]:
    """How availability and satisfaction are computed; the security rule's sentence comes from the drills."""
    return [label(key, lang) for key in METHODOLOGY]

