"""The survey's tables (SQLAlchemy 2 declarative; the schema itself is created by Alembic migrations).

Anonymous by design: a rating row has no IP address, no user agent and no time of day (only the
local date, enough for reporting periods), and the dossier code only as a keyed hash, so the
table alone never reveals whose dossier it was. Derived values (level, 766 verdict, score, agency)
are stored with the rating so later edits to instruments or the catalogue never rewrite history.
A rating's answers live in its own row (migration 0003 says why), as JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only auto-increments INTEGER PRIMARY KEY
ANSWERS = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class Rating(Base):
    __tablename__ = "survey_ratings"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    receipt_id: Mapped[str] = mapped_column(String(24))
    """Shown to the citizen; random (80 bits), so it says nothing about the dossier. Not indexed: nothing looks
    a rating up by it, and every random-keyed index costs each commit a page per rating."""
    dossier_hash: Mapped[str] = mapped_column(String(64))
    """HMAC-SHA256 of the normalised dossier code: one rating per dossier, without storing the code."""
    service_id: Mapped[str] = mapped_column(String(63))
    agency_id: Mapped[str] = mapped_column(String(63))
    instrument: Mapped[str] = mapped_column(String(63))
    level: Mapped[str] = mapped_column(String(63))
    """The rating's level: its worst answer."""
    khong_hai_long: Mapped[bool] = mapped_column(Boolean)
    """Decision 766: the dossier counts as rated "không hài lòng"."""
    score: Mapped[float] = mapped_column(Float)
    """Mean of the answers' scores, 0-100."""
    channel: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    rated_on: Mapped[date] = mapped_column(Date)
    """Local date in the province's time zone; no time of day, so rows cannot be matched to server logs."""
    answers: Mapped[list[list[Any]]] = mapped_column(ANSWERS)
    """One `[question, SIPAS factor, level, score, 1 if the level is "không hài lòng" else 0]` per answer
    (instruments.AnswerRow.stored), sorted by question id: equal answers are equal text, which the statistics
    count per answer set before unnesting."""

    __table_args__ = (
        UniqueConstraint("dossier_hash", name="uq_survey_ratings_dossier_hash"),
        Index("ix_survey_ratings_rated_on", "rated_on", "service_id"),
        Index("ix_survey_ratings_service_level", "service_id", "level"),
    )


class SurveyWindow(Base):
    """When a service's survey is open: from opens_on to closes_on inclusive (no closes_on: open-ended).
    A service without a window is always open."""

    __tablename__ = "survey_windows"

    service_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date | None] = mapped_column(Date)

    def is_open(self, day: date) -> bool:
        return self.opens_on <= day and (self.closes_on is None or day <= self.closes_on)

    def describe(self) -> str:
        return f"{self.opens_on.isoformat()}..{self.closes_on.isoformat() if self.closes_on else ''}"
