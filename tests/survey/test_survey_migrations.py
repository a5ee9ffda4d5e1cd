"""Alembic migrations build exactly the tables the models describe, and can be undone, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, select, text
from sqlalchemy.engine import make_url

from survey import stats
from survey.core.db import VERSION_TABLE, downgrade, make_engine, migrate
from survey.models import Base, Rating

TABLES = {"survey_ratings", "survey_windows", VERSION_TABLE}


def test_migrations_match_the_models_and_downgrade_cleanly(db_url: str) -> None:
    engine = make_engine(make_url(db_url))
    migrate(engine)
    migrate(engine)  # idempotent: a second server starting finds the schema at head
    assert TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": VERSION_TABLE})
        diff = compare_metadata(context, Base.metadata)
        assert diff == []
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == "0003"
    downgrade(engine, "base")
    assert not ({"survey_ratings", "survey_answers", "survey_windows"} & set(inspect(engine).get_table_names()))
    migrate(engine)
    assert TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


OLD_ANSWERS = [("tiep-can", "tiep-can", "rat-hai-long", 100.0, False),
               ("thu-tuc", "thu-tuc", "hai-long", 50.0, False),
               ("cong-chuc", "cong-chuc", "hai-long", 50.0, False),
               ("ket-qua", "ket-qua", "rat-hai-long", 100.0, False),
               ("phan-anh", "phan-anh", "khong-hai-long", 0.0, True)]


def _store_the_old_way(conn: Connection, rating_id: int) -> None:
    """A rating as revisions 0001 and 0002 stored it: its row, then one survey_answers row per answer."""
    conn.execute(text("INSERT INTO survey_ratings (id, receipt_id, dossier_hash, service_id, agency_id, instrument, "
                      "level, khong_hai_long, score, channel, comment, rated_on) VALUES (:id, :receipt, :hash, "
                      "'dang-ky-kinh-doanh', 'so-khdt', '3-muc', 'khong-hai-long', :true, 60.0, 'api', NULL, "
                      "'2026-11-22')"),
                 {"id": rating_id, "receipt": f"R{rating_id}", "hash": f"{rating_id:064x}", "true": True})
    conn.execute(text("INSERT INTO survey_answers (rating_id, question_id, factor, level, score, khong_hai_long) "
                      "VALUES (:id, :q, :f, :lv, :s, :k)"),
                 [{"id": rating_id, "q": q, "f": f, "lv": lv, "s": sc, "k": k} for q, f, lv, sc, k in OLD_ANSWERS])


def _old_answers(conn: Connection) -> list[tuple[object, ...]]:
    return [(q, f, lv, float(sc), bool(k)) for q, f, lv, sc, k in conn.execute(text(
        "SELECT question_id, factor, level, score, khong_hai_long FROM survey_answers ORDER BY question_id"))]


def test_0002_drops_the_answers_foreign_key_and_keeps_the_rows(db_url: str) -> None:
    engine = make_engine(make_url(db_url))
    migrate(engine, "0001")
    assert inspect(engine).get_foreign_keys("survey_answers")
    with engine.begin() as conn:
        _store_the_old_way(conn, 1)
    migrate(engine, "0002")
    assert inspect(engine).get_foreign_keys("survey_answers") == []
    with engine.connect() as conn:
        assert _old_answers(conn) == sorted(OLD_ANSWERS)
    downgrade(engine, "0001")  # and back: the key returns
    assert inspect(engine).get_foreign_keys("survey_answers")
    engine.dispose()


def test_0003_moves_the_answers_into_their_rating_row_and_back(db_url: str) -> None:
    engine = make_engine(make_url(db_url))
    migrate(engine, "0002")
    with engine.begin() as conn:
        _store_the_old_way(conn, 1)
        _store_the_old_way(conn, 2)
    migrate(engine)
    assert "survey_answers" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        stored = conn.execute(select(Rating.id, Rating.answers).order_by(Rating.id)).all()
    expected = sorted([q, f, lv, sc, int(k)] for q, f, lv, sc, k in OLD_ANSWERS)
    assert [(rid, sorted(answers)) for rid, answers in stored] == [(1, expected), (2, expected)]
    by_factor = stats.satisfaction(engine).factors  # the statistics read the moved answers
    assert by_factor["phan-anh"].khong_hai_long == 2 and by_factor["phan-anh"].levels["khong-hai-long"] == 2
    assert by_factor["tiep-can"].answers == 2 and by_factor["tiep-can"].mean_score == 100.0
    downgrade(engine, "0002")
    with engine.connect() as conn:
        assert _old_answers(conn) == sorted(OLD_ANSWERS * 2)
        assert "answers" not in {c["name"] for c in inspect(conn).get_columns("survey_ratings")}
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_full_sync(tmp_path) -> None:
    engine = make_engine(make_url(f"sqlite:///{tmp_path / 'r.sqlite3'}"))
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL: a commit is on disk
    engine.dispose()
