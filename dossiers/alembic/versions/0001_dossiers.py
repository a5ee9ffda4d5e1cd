"""The dossiers and the imports that wrote them.

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dossier_imports",
        sa.Column("id", ID, primary_key=True),
        sa.Column("file", sa.String(1024), nullable=False),
        sa.Column("imported_at", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("current_codes", sa.Integer(), nullable=False),
        sa.Column("legacy_codes", sa.Integer(), nullable=False),
        sa.Column("policy_version", sa.String(32), nullable=False),
    )
    op.create_table(
        "dossiers",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("code_format", sa.String(32), nullable=False),
        sa.Column("service_id", sa.String(63), nullable=False),
        sa.Column("agency_id", sa.String(63), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("returned_at", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("online_level", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("rating", sa.String(32), nullable=True),
        sa.Column("complaints", sa.Integer(), nullable=True),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("dossiers")
    op.drop_table("dossier_imports")
