"""A rating's answers in its own row, as JSON, instead of five rows of survey_answers.

Every rating was six rows and six index entries; the five answer rows were half of PostgreSQL's CPU per
stored rating, and on SQLite a third of the B-tree work of each group commit. Nothing reads one answer on
its own: the admin list and the CSV show a rating with its answers, and the statistics unnest them in SQL
(json_each / jsonb_array_elements). Each answer keeps what its row held: question, SIPAS factor, level, score
and the 766 verdict (as 1 or 0), so later edits to an instrument still never rewrite history.

Upgrading moves every stored answer into its rating's row in one UPDATE; downgrading moves them back.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ANSWERS = sa.JSON().with_variant(JSONB(), "postgresql")

GATHER = {  # sorted by question id, as the writer stores them
    "sqlite": """UPDATE survey_ratings SET answers = (
        SELECT json_group_array(json_array(question_id, factor, level, score, khong_hai_long)) FROM (
            SELECT * FROM survey_answers WHERE rating_id = survey_ratings.id ORDER BY question_id))""",
    "postgresql": """UPDATE survey_ratings SET answers = (
        SELECT jsonb_agg(jsonb_build_array(question_id, factor, level, score, khong_hai_long::int)
                         ORDER BY question_id)
        FROM survey_answers WHERE rating_id = survey_ratings.id)""",
}
SPREAD = {
    "sqlite": """INSERT INTO survey_answers (rating_id, question_id, factor, level, score, khong_hai_long)
        SELECT r.id, a.value ->> 0, a.value ->> 1, a.value ->> 2, a.value ->> 3, a.value ->> 4
        FROM survey_ratings r, json_each(r.answers) a""",
    "postgresql": """INSERT INTO survey_answers (rating_id, question_id, factor, level, score, khong_hai_long)
        SELECT r.id, a ->> 0, a ->> 1, a ->> 2, (a ->> 3)::float8, (a ->> 4)::int::boolean
        FROM survey_ratings r, jsonb_array_elements(r.answers) a""",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("survey_ratings", sa.Column("answers", ANSWERS, nullable=True))
    op.execute(GATHER[dialect])
    op.execute("UPDATE survey_ratings SET answers = '[]' WHERE answers IS NULL")  # so NOT NULL holds (the writer
    # never stored a rating without answers)
    with op.batch_alter_table("survey_ratings") as batch:  # SQLite: copies the table to add NOT NULL
        batch.alter_column("answers", existing_type=ANSWERS, nullable=False)
    op.drop_table("survey_answers")


def downgrade() -> None:
    op.create_table(  # as 0002 left it: no foreign key
        "survey_answers",
        sa.Column("rating_id", ID, primary_key=True),
        sa.Column("question_id", sa.String(63), primary_key=True),
        sa.Column("factor", sa.String(16), nullable=False),
        sa.Column("level", sa.String(63), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("khong_hai_long", sa.Boolean(), nullable=False),
    )
    op.execute(SPREAD[op.get_bind().dialect.name])
    with op.batch_alter_table("survey_ratings") as batch:
        batch.drop_column("answers")
