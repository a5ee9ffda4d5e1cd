"""Numbers, percentages, dates and durations as Vietnamese readers expect them (1.234,5 and dd/mm/yyyy),
with English available. Used by the report and every part that shows figures to people."""

from __future__ import annotations

from datetime import date, datetime

from dvcops.i18n import Messages

UNITS = Messages({"day": ("ngày", "d"), "hour": ("giờ", "h"), "minute": ("phút", "min")})


def fmt_number(x: float | int | None, decimals: int = 0, lang: str = "vi") -> str:
    """1234.5 -> '1.234,5' (vi) or '1,234.5' (en); None -> '—'."""
    if x is None:
        return "—"
    text = f"{x:,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def fmt_percent(ratio: float | None, decimals: int = 2, lang: str = "vi") -> str:
    """0.99953 -> '99,95%' (vi) or '99.95%' (en)."""
    if ratio is None:
        return "—"
    return f"{fmt_number(ratio * 100, decimals, lang)}%"


def fmt_date(d: date | datetime | None, lang: str = "vi") -> str:
    """dd/mm/yyyy in Vietnamese, ISO in English."""
    if d is None:
        return "—"
    return d.strftime("%d/%m/%Y") if lang == "vi" else d.strftime("%Y-%m-%d")


def fmt_datetime(d: datetime | None, lang: str = "vi") -> str:
    if d is None:
        return "—"
    return d.strftime("%H:%M %d/%m/%Y") if lang == "vi" else d.strftime("%Y-%m-%d %H:%M")


def fmt_minutes(minutes: float | None, lang: str = "vi") -> str:
    """90 -> '1 giờ 30 phút' / '1 h 30 min'; under an hour in minutes; days for long outages."""
    if minutes is None:
        return "—"
    total = int(round(minutes))
    days, rest = divmod(total, 1440)
    hours, mins = divmod(rest, 60)
    units = [UNITS(unit, lang) for unit in ("day", "hour", "minute")]
    parts = [f"{n} {u}" for n, u in zip((days, hours, mins), units, strict=True) if n]
    return " ".join(parts) if parts else f"0 {units[2]}"
