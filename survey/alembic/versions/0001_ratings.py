"""Ratings, their answers, and survey windows.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
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
        "survey_ratings",
        sa.Column("id", ID, primary_key=True),
        sa.Column("receipt_id", sa.String(24), nullable=False),
        sa.Column("dossier_hash", sa.String(64), nullable=False),
        sa.Column("service_id", sa.String(63), nullable=False),
        sa.Column("agency_id", sa.String(63), nullable=False),
        sa.Column("instrument", sa.String(63), nullable=False),
        sa.Column("level", sa.String(63), nullable=False),
        sa.Column("khong_hai_long", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rated_on", sa.Date(), nullable=False),
        sa.UniqueConstraint("dossier_hash", name="uq_survey_ratings_dossier_hash"),
    )
    op.create_index("ix_survey_ratings_rated_on", "survey_ratings", ["rated_on", "service_id"])
    op.create_index("ix_survey_ratings_service_level", "survey_ratings", ["service_id", "level"])
    op.create_table(
        "survey_answers",
        sa.Column("rating_id", ID, sa.ForeignKey("survey_ratings.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("question_id", sa.String(63), primary_key=True),
        sa.Column("factor", sa.String(16), nullable=False),
        sa.Column("level", sa.String(63), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("khong_hai_long", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "survey_windows",
        sa.Column("service_id", sa.String(63), primary_key=True),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("survey_windows")
    op.drop_table("survey_answers")
    op.drop_index("ix_survey_ratings_service_level", table_name="survey_ratings")
    op.drop_index("ix_survey_ratings_rated_on", table_name="survey_ratings")
    op.drop_table("survey_ratings")
