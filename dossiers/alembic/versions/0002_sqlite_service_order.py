"""SQLite: dossiers kept in service order, keyed by (service_id, agency_id, code).

SQLite has no hash aggregation: the indicators, which count per service, sorted every dossier of the period
on each query (2 s for a province's million dossiers a year). Stored in service order, the same query reads
the table once, in order. A dossier code is still one row: an import replaces a dossier filed under another
service (writers.SqliteWriter) instead of a unique index, whose random-order upkeep cost an import of a million
rows more time than all its checks. PostgreSQL keeps the code as its key (hash aggregation makes the order
irrelevant there): this revision changes nothing on it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = ("code, code_format, service_id, agency_id, received_at, due_at, returned_at, channel, online_level, "
           "status, rating, complaints, import_id")


def _rebuild(key: str) -> None:
    op.execute(f"""CREATE TABLE dossiers_new (
        code VARCHAR(64) NOT NULL, code_format VARCHAR(32) NOT NULL, service_id VARCHAR(63) NOT NULL,
        agency_id VARCHAR(63) NOT NULL, received_at BIGINT NOT NULL, due_at BIGINT NOT NULL, returned_at BIGINT,
        channel VARCHAR(8) NOT NULL, online_level VARCHAR(12) NOT NULL, status VARCHAR(12) NOT NULL,
        rating VARCHAR(32), complaints INTEGER, import_id INTEGER NOT NULL,
        PRIMARY KEY ({key})) WITHOUT ROWID""")
    op.execute(f"INSERT INTO dossiers_new ({COLUMNS}) SELECT {COLUMNS} FROM dossiers ORDER BY {key}")
    op.execute("DROP TABLE dossiers")
    op.execute("ALTER TABLE dossiers_new RENAME TO dossiers")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("service_id, agency_id, code")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("code")
