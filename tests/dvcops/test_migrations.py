"""dvcops.migrations: a versioned SQLite file migrates forward in one transaction, never backward."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dvcops.errors import DvcopsError
from dvcops.migrations import Migration, Schema, migrate, statements


class StoreError(DvcopsError):
    pass


V1 = Migration("tables", "CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL);\n"
                         "CREATE INDEX note_text ON note (text);")


def _split_words(conn: sqlite3.Connection) -> None:
    for rid, text in conn.execute("SELECT id, text FROM note").fetchall():
        conn.execute("UPDATE note SET words = ? WHERE id = ?", (len(text.split()), rid))


V2 = Migration("word count", "ALTER TABLE note ADD COLUMN words INTEGER;", apply=_split_words)
V3 = Migration("author, with a trigger", """
ALTER TABLE note ADD COLUMN author TEXT NOT NULL DEFAULT 'ẩn danh';
CREATE TRIGGER note_words AFTER INSERT ON note BEGIN
    UPDATE note SET words = length(new.text) - length(replace(new.text, ' ', '')) + 1 WHERE id = new.id;
END;
""")
SCHEMA = Schema("notes store", (V1, V2, V3))


def _v1_file(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, Schema("notes store", (V1,)), path, StoreError)
    conn.executemany("INSERT INTO note (text) VALUES (?)", [("một hai ba",), ("bốn",)])
    conn.close()


def test_new_file_gets_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    conn = sqlite3.connect(path)
    assert migrate(conn, SCHEMA, path, StoreError) == 0
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    conn.execute("INSERT INTO note (text) VALUES ('a b c d')")
    assert conn.execute("SELECT words, author FROM note").fetchone() == (4, "ẩn danh")
    assert migrate(conn, SCHEMA, path, StoreError) == 3  # already current: nothing to do


def test_older_file_is_migrated_with_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    _v1_file(path)
    conn = sqlite3.connect(path)
    assert migrate(conn, SCHEMA, path, StoreError) == 1
    assert conn.execute("SELECT text, words, author FROM note ORDER BY id").fetchall() == [
        ("một hai ba", 3, "ẩn danh"), ("bốn", 1, "ẩn danh")]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    _v1_file(path)
    broken = Schema("notes store", (V1, V2, Migration("bad", "ALTER TABLE nowhere ADD COLUMN x;")))
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.OperationalError, match="nowhere"):
        migrate(conn, broken, path, StoreError)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert [r[1] for r in conn.execute("PRAGMA table_info(note)")] == ["id", "text"]  # V2 rolled back too


def test_unversioned_files_say_their_version(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript("CREATE TABLE note (id INTEGER PRIMARY KEY, text TEXT NOT NULL); "
                       "INSERT INTO note (text) VALUES ('x y');")
    schema = Schema("notes store", (V1, V2, V3), unversioned=lambda c: 1)
    assert migrate(conn, schema, path, StoreError) == 1
    assert conn.execute("SELECT words FROM note").fetchone() == (2,)


def test_newer_or_foreign_files_are_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    _v1_file(path)
    sqlite3.connect(path, isolation_level=None).execute("PRAGMA user_version = 7")
    before = path.read_bytes()
    with pytest.raises(StoreError) as exc:
        migrate(sqlite3.connect(path), SCHEMA, path, StoreError)
    assert exc.value.lines == [f"{path}: notes store schema version 7 is newer than this dvcops knows (3): it was "
                               "written by a newer release; upgrade dvcops, or point DVCOPS_STATE at another state "
                               "directory"]
    assert path.read_bytes() == before
    text = tmp_path / "notes.txt"
    text.write_text("not a database, just text that is long enough to fill a header " * 4)
    with pytest.raises(StoreError, match=r"notes.txt: not a notes store file \(file is not a database\)"):
        migrate(sqlite3.connect(text), SCHEMA, text, StoreError)


def test_statements_split_at_complete_statements() -> None:
    assert statements(V3.sql) == [V3.sql.strip().split(";\n", 1)[0] + ";", V3.sql.strip().split(";\n", 1)[1]]
    with pytest.raises(ValueError, match="incomplete"):
        statements("CREATE TABLE x (a")
