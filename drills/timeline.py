"""The exercise timeline: when each inject happened, when the blue team detected and responded.

Time to detect (TTD) runs from the inject to the logged detection; time to respond (TTR) from the
detection to the logged response (containment), as incident-response metrics usually count them.
Each inject is worth its `points`: half for detecting, half for responding, in full within the
scenario's target time, half within twice the target, nothing later or never.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from drills.db import iso, parse_iso, utcnow
from drills.errors import DrillError
from drills.findings import FindingsStore
from drills.scenarios import Inject, Scenario, scenario_from_json

EventKind = Literal["inject", "tool-detect", "detected", "responded", "note", "end"]
BLUE_EVENTS = ("detected", "responded", "note")
CLOCK_SKEW = timedelta(seconds=60)
"""A logged time may be this far in the future (clocks of the blue team's machines differ)."""


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    run_id: int
    inject_id: str | None
    event: EventKind
    at: datetime
    by: str | None
    note: str | None


class InjectScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    inject_id: str
    title: str
    injected_at: datetime | None
    tool_detected_at: datetime | None
    detected_at: datetime | None
    responded_at: datetime | None
    ttd: timedelta | None
    ttr: timedelta | None
    detect_within: timedelta
    respond_within: timedelta
    detect_points: float
    respond_points: float
    max_points: int

    @property
    def points(self) -> float:
        return self.detect_points + self.respond_points


class Score(BaseModel):
    model_config = ConfigDict(frozen=True)

    injects: list[InjectScore]
    total: float
    max: int

    @property
    def percent(self) -> float:
        return round(100 * self.total / self.max, 1) if self.max else 0.0


def _points(took: timedelta | None, goal: timedelta, full: float) -> float:
    if took is None:
        return 0.0
    if took <= goal:
        return full
    if took <= 2 * goal:
        return full / 2
    return 0.0


def score_inject(inject: Inject, injected: datetime | None, tool: datetime | None, detected: datetime | None,
                 responded: datetime | None) -> InjectScore:
    ttd = detected - injected if detected and injected else None
    ttr = responded - detected if responded and detected else None
    half = inject.points / 2
    return InjectScore(
        inject_id=inject.id, title=inject.title, injected_at=injected, tool_detected_at=tool,
        detected_at=detected, responded_at=responded, ttd=ttd, ttr=ttr,
        detect_within=inject.expect.detect_within, respond_within=inject.expect.respond_within,
        detect_points=_points(ttd, inject.expect.detect_within, half),
        respond_points=_points(ttr, inject.expect.respond_within, half), max_points=inject.points)


class Timeline:
    """Timeline events of drill runs, kept in the drills store."""

    def __init__(self, store: FindingsStore) -> None:
        self.store = store
        self.conn = store.conn

    def add(self, run_id: int, event: EventKind, at: datetime, *, inject_id: str | None = None,
            by: str | None = None, note: str | None = None) -> Event:
        """Record an event as is (the runner's injects and tool detections, the exercise end)."""
        with self.conn:
            cur = self.conn.execute(
                "INSERT INTO timeline (run_id, inject_id, event, at, by_whom, note, logged_at) VALUES (?,?,?,?,?,?,?)",
                (run_id, inject_id, event, iso(at), by, note, iso(utcnow())))
        return Event(id=int(cur.lastrowid or 0), run_id=run_id, inject_id=inject_id, event=event, at=at, by=by,
                     note=note)

    def events(self, run_id: int) -> list[Event]:
        rows = self.conn.execute("SELECT * FROM timeline WHERE run_id = ? ORDER BY at, id", (run_id,))
        return [Event(id=r["id"], run_id=r["run_id"], inject_id=r["inject_id"], event=r["event"],
                      at=parse_iso(r["at"]), by=r["by_whom"], note=r["note"]) for r in rows]

    def scenario(self, run_id: int) -> Scenario:
        row = self.conn.execute("SELECT kind, scenario_json FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise DrillError(f"run {run_id}: no such run")
        if not row["scenario_json"]:
            raise DrillError(f"run {run_id} is a compliance check without a scenario: there are no injects to log")
        return scenario_from_json(row["scenario_json"])

    def _first(self, run_id: int, inject_id: str, event: str) -> datetime | None:
        row = self.conn.execute("SELECT at FROM timeline WHERE run_id = ? AND inject_id = ? AND event = ? "
                                "ORDER BY at LIMIT 1", (run_id, inject_id, event)).fetchone()
        return parse_iso(row["at"]) if row else None

    def log(self, run_id: int, inject_id: str, event: Literal["detected", "responded", "note"], *,
            at: datetime | None = None, by: str | None = None, note: str | None = None,
            now: datetime | None = None) -> Event:
        """What the blue team reports: a detection, a response, or a note, for one inject."""
        now = now or utcnow()
        at = at or now
        if at.tzinfo is None:
            raise DrillError(f"time {at.isoformat()}: give a time zone offset, e.g. 2026-11-21T09:30:00+07:00")
        if event not in BLUE_EVENTS:
            raise DrillError(f"event {event!r}: expected one of {', '.join(BLUE_EVENTS)}")
        inject = self.scenario(run_id).inject(inject_id)
        injected = self._first(run_id, inject.id, "inject")
        if injected is None:
            raise DrillError(f"run {run_id}: inject {inject.id!r} has not happened (nothing to detect yet)")
        if at > now + CLOCK_SKEW:
            raise DrillError(f"time {at.isoformat()} is in the future: log what happened, when it happened")
        if event == "detected":
            if (prev := self._first(run_id, inject.id, "detected")) is not None:
                raise DrillError(f"run {run_id}: detection of {inject.id!r} was already logged at {prev.isoformat()}")
            if at < injected:
                raise DrillError(f"detection at {at.isoformat()} is before the inject at {injected.isoformat()}")
        if event == "responded":
            detected = self._first(run_id, inject.id, "detected")
            if detected is None:
                raise DrillError(f"run {run_id}: log the detection of {inject.id!r} before the response")
            if (prev := self._first(run_id, inject.id, "responded")) is not None:
                raise DrillError(f"run {run_id}: response to {inject.id!r} was already logged at {prev.isoformat()}")
            if at < detected:
                raise DrillError(f"response at {at.isoformat()} is before the detection at {detected.isoformat()}")
        return self.add(run_id, event, at, inject_id=inject.id, by=by, note=note)

    def score(self, run_id: int) -> Score:
        scenario = self.scenario(run_id)
        rows = [score_inject(i, self._first(run_id, i.id, "inject"), self._first(run_id, i.id, "tool-detect"),
                             self._first(run_id, i.id, "detected"), self._first(run_id, i.id, "responded"))
                for i in scenario.ordered()]
        return Score(injects=rows, total=sum(r.points for r in rows), max=sum(r.max_points for r in rows))

    def ended(self, run_id: int) -> datetime | None:
        row = self.conn.execute("SELECT at FROM timeline WHERE run_id = ? AND event = 'end'", (run_id,)).fetchone()
        return parse_iso(row["at"]) if row else None
