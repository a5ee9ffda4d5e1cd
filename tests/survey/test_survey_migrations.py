"""Alembic migrations build exactly the tables the models describe, and can be undone, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from survey.core.db import VERSION_TABLE, downgrade, make_engine, migrate
from survey.models import Base

TABLES = {"survey_ratings", "survey_answers", "survey_windows", VERSION_TABLE}


def test_migrations_match_the_models_and_downgrade_cleanly(db_url: str) -> None:
    engine = make_engine(create_engine(db_url).url)
    migrate(engine)
    migrate(engine)  # idempotent: a second server starting finds the schema at head
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE})
        diff = compare_metadata(context, Base.metadata)
        assert diff == []
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == "0001"
    downgrade(engine, "base")
    assert not ({"survey_ratings", "survey_answers", "survey_windows"} & set(inspect(engine).get_table_names()))
    migrate(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path) -> None:
    engine = make_engine(create_engine(f"sqlite:///{tmp_path / 'r.sqlite3'}").url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL: a commit is on disk
    engine.dispose()
