"""The counters the indicator formulas are written with (policy.yml), and the one query that counts them.

A period is [start, end) and the figures are as of `end` (the period's end, or an earlier as-of time): a
dossier returned after that time counts as still open at it, one received after it does not count at all.
Times are whole seconds since 1970 (UTC), so "on time" is one integer comparison on both databases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

COUNTERS: dict[str, str] = {
    "received": "dossiers received in the period",
    "received_online": "received, through the online channel",
    "received_full_online": "received, handled fully online (online_level toan-trinh)",
    "received_of_online_services": "received, for services the catalogue lists as offered online "
                                   "(levels 3, 4, toan-trinh, mot-phan)",
    "received_online_of_online_services": "received online, for services offered online",
    "received_of_full_online_services": "received, for services the catalogue lists as toan-trinh",
    "received_full_online_of_full_online_services": "received and handled fully online, for toan-trinh services",
    "current_codes": "received, with a code in the current regulation's format",
    "legacy_codes": "received, with a code in another (older) format",
    "returned": "results returned in the period (status returned)",
    "returned_on_time": "returned, at or before the due time",
    "returned_late": "returned, after the due time",
    "open": "still being processed at the end of the period",
    "overdue_open": "still being processed at the end of the period and already past the due time",
    "feedback_base": "returned, from a file that carried ratings or complaints",
    "rated": "returned, with a citizen's rating",
    "unhappy": "returned, rated 'không hài lòng' (policy: unhappy_ratings) or with a complaint",
}
"""Every counter a formula may use, with what it counts."""

SQL_COUNTERS = ("received", "received_online", "received_full_online", "current_codes", "legacy_codes", "returned",
                "returned_on_time", "returned_late", "open", "overdue_open", "feedback_base", "rated", "unhappy")
"""Counted in SQL per service; the `..._services` counters follow from them and the catalogue's levels."""

ONLINE_LEVELS = frozenset({"3", "4", "toan-trinh", "mot-phan"})


def counting_sql(unhappy: Sequence[str]) -> tuple[str, dict[str, str]]:
    """The query (parameters :s and :e, the period's bounds in epoch seconds) and the unhappy levels' parameters.

    COUNT(*) FILTER (WHERE ...) reads the same on SQLite (3.30+) and PostgreSQL. Only rows that can count are
    read: received before the end and not returned before the start."""
    names = {f"u{i}": level for i, level in enumerate(unhappy)}
    unhappy_in = ", ".join(f":{n}" for n in names) or "NULL"
    received = "received_at >= :s"
    returned = "status = 'returned' AND returned_at >= :s AND returned_at < :e"
    still_open = "((status = 'processing' AND returned_at IS NULL) OR returned_at >= :e)"
    feedback = f"{returned} AND complaints IS NOT NULL"
    filters = {
        "received": received,
        "received_online": f"{received} AND channel = 'online'",
        "received_full_online": f"{received} AND online_level = 'toan-trinh'",
        "current_codes": f"{received} AND code_format <> 'legacy'",
        "legacy_codes": f"{received} AND code_format = 'legacy'",
        "returned": returned,
        "returned_on_time": f"{returned} AND returned_at <= due_at",
        "returned_late": f"{returned} AND returned_at > due_at",
        "open": still_open,
        "overdue_open": f"{still_open} AND due_at < :e",
        "feedback_base": feedback,
        "rated": f"{returned} AND rating IS NOT NULL",
        "unhappy": f"{feedback} AND (rating IN ({unhappy_in}) OR complaints > 0)",
    }
    assert tuple(filters) == SQL_COUNTERS
    columns = ",\n  ".join(f"COUNT(*) FILTER (WHERE {cond}) AS {name}" for name, cond in filters.items())
    sql = (f"SELECT service_id, agency_id,\n  {columns}\nFROM dossiers\n"
           "WHERE received_at < :e AND (returned_at IS NULL OR returned_at >= :s)\n"
           "GROUP BY service_id, agency_id")
    return sql, names


def with_service_counters(counts: Mapping[str, int], level: str | None) -> dict[str, int]:
    """A service's SQL counters plus those that depend on its catalogue level (None: not in the catalogue)."""
    out = dict(counts)
    online = level in ONLINE_LEVELS
    full = level == "toan-trinh"
    out["received_of_online_services"] = counts["received"] if online else 0
    out["received_online_of_online_services"] = counts["received_online"] if online else 0
    out["received_of_full_online_services"] = counts["received"] if full else 0
    out["received_full_online_of_full_online_services"] = counts["received_full_online"] if full else 0
    return out


def empty() -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0)
