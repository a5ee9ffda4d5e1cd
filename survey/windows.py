"""Survey windows: when a service's survey is open (admin-set, `/api/v1/windows`). A service without a
window is always open; a window runs from opens_on to closes_on inclusive (no closes_on: open-ended).

The batch SQL (survey/batch/) checks each rating's date against its service's window in the rating's own
transaction; setting or removing a window takes the SQLite write lock, so it takes turns with the writers.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import Engine, Table, delete, insert, select

from survey.core.db import write_lock
from survey.models import SurveyWindow
from survey.schemas import WindowIn, WindowOut

windows_t = cast(Table, SurveyWindow.__table__)


def is_open(opens_on: date, closes_on: date | None, day: date) -> bool:
    return opens_on <= day and (closes_on is None or day <= closes_on)


def describe(opens_on: date, closes_on: date | None) -> str:
    """`2027-01-01..2027-06-30`, or `2027-01-01..` when open-ended (as a closed rating's error shows it)."""
    return f"{opens_on.isoformat()}..{closes_on.isoformat() if closes_on else ''}"


def window_is_open(window: WindowOut | None, day: date) -> bool:
    return window is None or is_open(window.opens_on, window.closes_on, day)


def get_windows(engine: Engine) -> list[WindowOut]:
    with engine.connect() as conn:
        return [WindowOut(service_id=w.service_id, opens_on=w.opens_on, closes_on=w.closes_on)
                for w in conn.execute(select(windows_t).order_by(windows_t.c.service_id))]


def get_window(engine: Engine, service_id: str) -> WindowOut | None:
    with engine.connect() as conn:
        w = conn.execute(select(windows_t).where(windows_t.c.service_id == service_id)).first()
    return WindowOut(service_id=w.service_id, opens_on=w.opens_on, closes_on=w.closes_on) if w else None


def set_window(engine: Engine, service_id: str, window: WindowIn) -> WindowOut:
    with write_lock(engine), engine.begin() as conn:  # takes turns with the servers' writers (SQLite)
        conn.execute(delete(windows_t).where(windows_t.c.service_id == service_id))
        conn.execute(insert(windows_t).values(service_id=service_id, opens_on=window.opens_on,
                                              closes_on=window.closes_on))
    return WindowOut(service_id=service_id, opens_on=window.opens_on, closes_on=window.closes_on)


def delete_window(engine: Engine, service_id: str) -> bool:
    with write_lock(engine), engine.begin() as conn:
        return conn.execute(delete(windows_t).where(windows_t.c.service_id == service_id)).rowcount > 0
