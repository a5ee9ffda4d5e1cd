"""The dossiers' tables (the schema itself is created by the Alembic migrations in alembic/versions).

One row per dossier, keyed by its code (upper-cased: codes are case-insensitive, as in the survey), so
importing the same dossier again updates its row. Times are whole seconds since 1970 UTC (see counters.py).
The agency is stored with the dossier, as the export named it through the catalogue at import time, so a
later catalogue edit never moves history between agencies. No personal data: no names, addresses or phones.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Dossier(Base):
    __tablename__ = "dossiers"
    __table_args__ = {"sqlite_with_rowid": False}  # the code is the key: one B-tree, not a table and an index

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    code_format: Mapped[str] = mapped_column(String(32))
    """The id of the policy's code format it matched at import ('tt04-2025' ...), or 'legacy'."""
    service_id: Mapped[str] = mapped_column(String(63))
    agency_id: Mapped[str] = mapped_column(String(63))
    received_at: Mapped[int] = mapped_column(BigInteger)
    due_at: Mapped[int] = mapped_column(BigInteger)
    returned_at: Mapped[int | None] = mapped_column(BigInteger)
    """When the result was returned (or the dossier rejected or withdrawn); NULL while processing."""
    channel: Mapped[str] = mapped_column(String(8))
    """online | counter | post"""
    online_level: Mapped[str] = mapped_column(String(12))
    """toan-trinh | mot-phan | none"""
    status: Mapped[str] = mapped_column(String(12))
    """processing | returned | rejected | withdrawn"""
    rating: Mapped[str | None] = mapped_column(String(32))
    """The citizen's rating as the one-stop system recorded it (a level id), if any."""
    complaints: Mapped[int | None] = mapped_column(Integer)
    """Complaints (PAKN) about its handling; NULL when the file carried neither ratings nor complaints."""
    import_id: Mapped[int] = mapped_column(Integer)
    """The import that last wrote this row (dossier_imports.id)."""


class DossierImport(Base):
    """One successful import: which file, when, and what it did."""

    __tablename__ = "dossier_imports"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    file: Mapped[str] = mapped_column(String(1024))
    imported_at: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(Integer)
    inserted: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    current_codes: Mapped[int] = mapped_column(Integer)
    legacy_codes: Mapped[int] = mapped_column(Integer)
    policy_version: Mapped[str] = mapped_column(String(32))
