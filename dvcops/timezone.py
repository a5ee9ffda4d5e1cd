"""The province's default time zone: the one place it is written.

The catalogue's `province.timezone`, the `DVCOPS_TIMEZONE` setting and every reader that has neither
default to it. Periods, daily roll-ups and report dates are local days of this zone.
"""

from __future__ import annotations

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
"""Vietnam (UTC+7, no daylight saving)."""
