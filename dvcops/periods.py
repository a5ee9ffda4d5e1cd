"""Reporting periods: a month `2025-06`, a quarter `2025-Q2`, a half-year `2025-H1`, a year `2025`,
or an explicit from/to. Boundaries are midnight in the province's time zone, end exclusive."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dvcops.errors import DvcopsError
from dvcops.timezone import DEFAULT_TZ

_LABEL = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])|H([12])))?$")


class PeriodError(DvcopsError):
    pass


def _month_start(year: int, month: int, tz: ZoneInfo) -> datetime:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=tz)


@dataclass(frozen=True)
class Period:
    label: str
    start: datetime
    end: datetime
    kind: str  # month | quarter | half | year | range

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @classmethod
    def parse(cls, label: str, tz: str = DEFAULT_TZ) -> Period:
        """Parse a period label; an unknown form is a one-line error saying what is expected."""
        zone = ZoneInfo(tz)
        m = _LABEL.match(label.strip())
        if not m:
            raise PeriodError(
                f"period {label!r}: expected YYYY, YYYY-MM, YYYY-Qn or YYYY-Hn (e.g. 2025, 2025-06, 2025-Q2, 2025-H1)"
            )
        year = int(m.group(1))
        if m.group(2):
            month = int(m.group(2))
            if not 1 <= month <= 12:
                raise PeriodError(f"period {label!r}: month must be 01-12")
            start, months, kind = month, 1, "month"
        elif m.group(3):
            start, months, kind = (int(m.group(3)) - 1) * 3 + 1, 3, "quarter"
        elif m.group(4):
            start, months, kind = (int(m.group(4)) - 1) * 6 + 1, 6, "half"
        else:
            start, months, kind = 1, 12, "year"
        return cls(label.strip(), _month_start(year, start, zone), _month_start(year, start + months, zone), kind)

    @classmethod
    def between(cls, start: datetime | date | str, end: datetime | date | str, tz: str = DEFAULT_TZ) -> Period:
        """An explicit range [start, end); dates mean local midnight."""
        zone = ZoneInfo(tz)

        def conv(v: datetime | date | str) -> datetime:
            if isinstance(v, str):
                try:
                    v = datetime.fromisoformat(v)
                except ValueError:
                    raise PeriodError(
                        f"time {v!r}: expected an ISO date or time like 2025-06-01 or 2025-06-01T08:00"
                    ) from None
            if not isinstance(v, datetime):
                v = datetime(v.year, v.month, v.day)
            return v if v.tzinfo else v.replace(tzinfo=zone)

        s, e = conv(start), conv(end)
        if e <= s:
            raise PeriodError(f"period from {s.isoformat()} to {e.isoformat()}: the end must come after the start")
        return cls(f"{s.date().isoformat()}..{e.date().isoformat()}", s, e, "range")

    def previous(self) -> Period:
        """The period of the same kind just before this one (a range: the same length before it)."""
        zone = self.start.tzinfo
        assert isinstance(zone, ZoneInfo)
        if self.kind == "range":
            length = self.end - self.start
            return Period.between(self.start - length, self.start, zone.key)
        months = {"month": 1, "quarter": 3, "half": 6, "year": 12}[self.kind]
        s = _month_start(self.start.year, self.start.month - months, zone)
        y = s.year
        label = {
            "month": f"{y}-{s.month:02d}",
            "quarter": f"{y}-Q{(s.month - 1) // 3 + 1}",
            "half": f"{y}-H{(s.month - 1) // 6 + 1}",
            "year": f"{y}",
        }[self.kind]
        return Period.parse(label, zone.key)

    def contains(self, t: datetime) -> bool:
        return self.start <= t < self.end
