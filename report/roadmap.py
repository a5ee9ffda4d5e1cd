"""Roadmap section: services per delivery level against the year's targets (from the catalogue)."""

from __future__ import annotations

from dvcops.catalog import LEVEL_EQUIVALENT, LEVELS, Catalog
from report.i18n import LEVEL_LABELS
from report.model import Dossiers, Roadmap, RoadmapLevel, Status
from report.policy import Thresholds


def count_status(actual: int, target: int | None, t: Thresholds) -> Status:
    if target is None:
        return "none"
    if actual >= target:
        return "green"
    return "amber" if actual >= t.roadmap_amber_ratio * target else "red"


def roadmap_section(catalog: Catalog, year: int, t: Thresholds, lang: str,
                    online_rate: float | None = None, dossiers: Dossiers | None = None) -> Roadmap:
    """Count services online by `year` (online_since <= year, or unknown) per level. Old-decree targets
    count 'một phần' as level 3 and 'toàn trình' as level 4 (dvcops.catalog.LEVEL_EQUIVALENT).

    The online and fully-online rates come from the dossiers when there are any in the period (their status
    by the dossier policy); `online_rate`, typed in with --online-rate, overrides the online rate and is shown
    as typed in."""
    online = [s for s in catalog.services if s.online_since is None or s.online_since <= year]
    per_level = {lv: sum(s.level == lv for s in online) for lv in LEVELS}
    old = {lv: sum(LEVEL_EQUIVALENT.get(s.level, s.level) == lv for s in online) for lv in ("3", "4")}
    roadmap = catalog.targets.roadmap
    target_year = year if year in roadmap else min((y for y in roadmap if y > year), default=None)
    target = roadmap.get(target_year) if target_year is not None else None
    rate_target = catalog.targets.online_rate.get(year)
    measured = {r.id: r for r in dossiers.indicators} if dossiers is not None and dossiers.has_data else {}
    source = "override" if online_rate is not None else "dossiers" if "online_rate" in measured else "none"
    rate_status: Status
    if source == "dossiers":
        online_rate, rate_status = measured["online_rate"].value, measured["online_rate"].status
    elif rate_target is None or online_rate is None:
        rate_status = "none"
    elif online_rate >= rate_target:
        rate_status = "green"
    else:
        rate_status = "amber" if online_rate >= rate_target - t.online_rate_amber_gap else "red"
    full = measured.get("full_online_rate")
    return Roadmap(
        year=year, target_year=target_year,
        per_level=[RoadmapLevel(level=lv, label=LEVEL_LABELS(lv, lang), count=n) for lv, n in per_level.items()],
        level3=old["3"], level3_target=target.level3 if target else None,
        level3_status=count_status(old["3"], target.level3 if target else None, t),
        level4=old["4"], level4_target=target.level4 if target else None,
        level4_status=count_status(old["4"], target.level4 if target else None, t),
        online_rate_target=rate_target, online_rate=online_rate, online_rate_status=rate_status,
        online_rate_source=source,  # type: ignore[arg-type]
        full_online_rate_target=catalog.targets.full_online_rate.get(year),
        full_online_rate=full.value if full else None, full_online_rate_status=full.status if full else "none",
    )
