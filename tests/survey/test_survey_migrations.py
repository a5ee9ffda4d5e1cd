"""Alembic migrations build exactly the tables the models describe, and can be undone, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from dvcops.catalog import Catalog
from survey import crud
from survey.core.db import VERSION_TABLE, downgrade, make_engine, migrate
from survey.models import Answer, Base, Rating
from tests.survey.helpers import new_rating

TABLES = {"survey_ratings", "survey_answers", "survey_windows", VERSION_TABLE}


def test_migrations_match_the_models_and_downgrade_cleanly(db_url: str) -> None:
    engine = make_engine(make_url(db_url))
    migrate(engine)
    migrate(engine)  # idempotent: a second server starting finds the schema at head
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE})
        diff = compare_metadata(context, Base.metadata)
        assert diff == []
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == "0002"
    downgrade(engine, "base")
    assert not ({"survey_ratings", "survey_answers", "survey_windows"} & set(inspect(engine).get_table_names()))
    migrate(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_0002_drops_the_answers_foreign_key_and_keeps_the_rows(db_url: str, catalog: Catalog) -> None:
    engine = make_engine(make_url(db_url))
    migrate(engine, "0001")
    assert inspect(engine).get_foreign_keys("survey_answers")
    crud.write_batch(engine, [new_rating(catalog, "KEPT-1")])
    migrate(engine)
    assert inspect(engine).get_foreign_keys("survey_answers") == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Answer)).scalar_one() == 5
        assert conn.execute(select(func.count()).select_from(Rating)).scalar_one() == 1
    downgrade(engine, "0001")  # and back: the key returns
    assert inspect(engine).get_foreign_keys("survey_answers")
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path) -> None:
    engine = make_engine(make_url(f"sqlite:///{tmp_path / 'r.sqlite3'}"))
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL: a commit is on disk
    engine.dispose()
