"""How imports are stored: every accepted ISO 8601 form becomes the same epoch second on both databases, a
dossier re-filed under another service stays one dossier, and a store of the first schema is migrated."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from dossiers.db import make_engine, migrate, open_database
from tests.conftest import run_dvcops

HEAD = "dossier_code,service_id,received_at,due_at,returned_at,channel,online_level,status\n"
TIMES = [  # (as written in an export, the instant it is)
    ("2025-06-03T08:00:00+07:00", datetime(2025, 6, 3, 1, 0, tzinfo=UTC)),
    ("2025-06-03 08:00:00+07:00", datetime(2025, 6, 3, 1, 0, tzinfo=UTC)),
    ("2025-06-03T01:00:00Z", datetime(2025, 6, 3, 1, 0, tzinfo=UTC)),
    ("2025-06-03T08:00:00.750+07:00", datetime(2025, 6, 3, 1, 0, tzinfo=UTC)),  # fractions dropped
    ("2025-06-02T20:30:00-04:30", datetime(2025, 6, 3, 1, 0, tzinfo=UTC)),
    ("2025-06-03T08:00+07:00", datetime(2025, 6, 3, 1, 0, tzinfo=UTC)),
    ("20250603T080000+0700", datetime(2025, 6, 3, 1, 0, tzinfo=UTC)),
]


def _epoch(t: datetime) -> int:
    return int((t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1))


def _import(db_url: str, tmp_path: Path, catalog_path: Path, body: str, name: str = "e.csv") -> dict:
    f = tmp_path / name
    f.write_text(HEAD + body, encoding="utf-8")
    res = run_dvcops("dossiers", "import", str(f), "--catalog", str(catalog_path), "--db", db_url, "--json",
                     state=tmp_path)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _rows(db_url: str, sql: str) -> list[tuple]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_every_accepted_time_form_is_stored_as_the_same_second(db_url: str, catalog_path: Path,
                                                               tmp_path: Path) -> None:
    body = "".join(f"T{i:02d},dkkd,{written},2025-06-04T08:00:00+07:00,{written},online,toan-trinh,returned\n"
                   for i, (written, _) in enumerate(TIMES))
    _import(db_url, tmp_path, catalog_path, body)
    got = dict(_rows(db_url, "SELECT code, received_at FROM dossiers"))
    assert got == {f"T{i:02d}": _epoch(t) for i, (_, t) in enumerate(TIMES)}
    assert set(_rows(db_url, "SELECT returned_at, due_at FROM dossiers")) == {
        (_epoch(TIMES[0][1]), _epoch(datetime(2025, 6, 4, 1, 0, tzinfo=UTC)))}


def test_a_dossier_filed_again_under_another_service_stays_one_dossier(db_url: str, catalog_path: Path,
                                                                        tmp_path: Path) -> None:
    row = "H56.001.01-250603-DV0001,{service},2025-06-03T08:00:00+07:00,2025-06-04T08:00:00+07:00,,online,{lv}," \
          "processing\nH56.001.01-250603-DV0002,dkkd,2025-06-03T08:00:00+07:00,2025-06-04T08:00:00+07:00,,post," \
          "none,processing\n"
    first = _import(db_url, tmp_path, catalog_path, row.format(service="dkkd", lv="toan-trinh"))
    assert (first["inserted"], first["updated"]) == (2, 0)
    again = _import(db_url, tmp_path, catalog_path, row.format(service="xay-dung", lv="mot-phan"), "again.csv")
    assert (again["inserted"], again["updated"]) == (0, 2)
    assert sorted(_rows(db_url, "SELECT code, service_id, agency_id, online_level FROM dossiers")) == [
        ("H56.001.01-250603-DV0001", "xay-dung", "so-xd", "mot-phan"),
        ("H56.001.01-250603-DV0002", "dkkd", "so-khdt", "none")]


def test_an_absent_value_is_stored_as_null_whichever_check_took_the_row(db_url: str, catalog_path: Path,
                                                                         tmp_path: Path) -> None:
    """An open dossier's returned_at, an empty rating, and the feedback of a file without its columns are NULL on
    both databases, whether the row came in a whole batch (P), row by row (R: times in two shapes) or through the
    full explanation (E: a time in the basic ISO form)."""
    def rows(prefix: str, feedback: str) -> str:
        row = "{code},dkkd,{received},2025-06-20T08:00:00+07:00,{returned},online,toan-trinh,{status}" + feedback
        return "".join(f"{row}\n".format(code=prefix + code, received=received, returned=returned,
                                         status="returned" if returned else "processing")
                       for code, received, returned in (
                           ("P1", "2025-06-03T08:00:00+07:00", ""),
                           ("P2", "2025-06-03T08:00:00+07:00", "2025-06-05T08:00:00+07:00")))

    odd = "R1,dkkd,2025-06-03 08:00:00+07:00,2025-06-20T08:00:00+07:00,,online,toan-trinh,processing\n" \
          "E1,dkkd,20250603T080000+0700,2025-06-20T08:00:00+07:00,,online,toan-trinh,processing\n"
    files = {"plain.csv": HEAD + rows("", ""), "odd.csv": HEAD + odd,
             "feedback.csv": HEAD.rstrip() + ",rating,complaints\n" + rows("F", ",,0")
             + odd.replace("\n", ",,0\n").replace("R1", "FR1").replace("E1", "FE1")}
    for name, body in files.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
        res = run_dvcops("dossiers", "import", str(tmp_path / name), "--catalog", str(catalog_path), "--db", db_url,
                         state=tmp_path)
        assert res.returncode == 0, res.stderr
    got = {code: rest for code, *rest in _rows(db_url, "SELECT code, returned_at, rating, complaints FROM dossiers")}
    returned = _epoch(datetime(2025, 6, 5, 1, 0, tzinfo=UTC))
    assert got == {"P1": [None, None, None], "P2": [returned, None, None], "R1": [None, None, None],
                   "E1": [None, None, None], "FP1": [None, None, 0], "FP2": [returned, None, 0],
                   "FR1": [None, None, 0], "FE1": [None, None, 0]}


def test_a_store_of_the_first_schema_is_migrated_with_its_dossiers(catalog_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    engine = make_engine(create_engine(f"sqlite:///{path}").url)
    migrate(engine, "0001")  # the schema as released first: keyed by code
    engine.dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO dossiers VALUES ('OLD-1', 'legacy', 'dkkd', 'so-khdt', 1748912400, 1748998800, "
                     "NULL, 'online', 'toan-trinh', 'processing', NULL, NULL, 1)")
    url = f"sqlite:///{path}"
    with open_database(url=url):
        pass
    with sqlite3.connect(path) as conn:
        ddl = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'dossiers'").fetchone()[0]
        assert "PRIMARY KEY (service_id, agency_id, code)" in ddl and "WITHOUT ROWID" in ddl
        assert conn.execute("SELECT code, received_at FROM dossiers").fetchall() == [("OLD-1", 1748912400)]
    res = run_dvcops("dossiers", "stats", "--catalog", str(catalog_path), "--period", "2025-06", "--db", url,
                     "--json", state=tmp_path)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["province"]["counts"]["received"] == 1


def test_head_names_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from dossiers.db import ALEMBIC_DIR, HEAD

    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == HEAD
