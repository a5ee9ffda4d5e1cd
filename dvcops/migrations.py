"""Versioned SQLite files: the schema version in `PRAGMA user_version` and an ordered list of migrations.

Every part's SQLite store opens its file through `migrate` (the survey, on SQLite or PostgreSQL, uses
alembic instead). Migration N brings a file from version N-1 to N; migration 1 creates the first
release's tables, so a new file and an old one take the same path. Opening an older file applies
the missing migrations in one transaction (all or nothing); a file written by a newer release is
refused with one line, before anything in it is touched.

A released migration is never edited: a change to a table is a new migration at the end.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dvcops.errors import DvcopsError


@dataclass(frozen=True)
class Migration:
    """One step: `sql` (statements separated by `;`), then `apply` for what SQL alone cannot do."""

    why: str
    sql: str = ""
    apply: Callable[[sqlite3.Connection], None] | None = None


@dataclass(frozen=True)
class Schema:
    """A store's migrations, oldest first: the file's version is how many of them it has had."""

    name: str
    """What the file holds, for messages: 'probe history', 'drills store'."""
    migrations: tuple[Migration, ...]
    unversioned: Callable[[sqlite3.Connection], int] = lambda conn: 0
    """The version of a file written before dvcops kept user_version (0 for a new, empty file)."""

    @property
    def version(self) -> int:
        return len(self.migrations)


def statements(sql: str) -> list[str]:
    """Split a script into complete statements (sqlite3.complete_statement knows about triggers and quotes)."""
    out: list[str] = []
    current = ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip().strip(";").strip():
                out.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {current.strip()[:60]!r}")
    return out


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, schema: Schema, path: Path | str, error: type[DvcopsError]) -> int:
    """Bring the file behind `conn` to `schema.version`; return the version it had (0: a new file).

    Call it first after connecting, before any PRAGMA that writes (journal_mode): a file that is not
    SQLite, or was written by a newer release, is refused (`error`, one line) and left as it was.
    """
    try:
        found = user_version(conn)
    except sqlite3.DatabaseError as exc:
        raise error(f"{path}: not a {schema.name} file ({exc})") from None
    if found == schema.version:
        return found
    _refuse_newer(found, schema, path, error)
    conn.execute("BEGIN IMMEDIATE")  # one migrator at a time; the others wait (connect timeout), then see it done
    try:
        found = user_version(conn)
        _refuse_newer(found, schema, path, error)
        start = found or schema.unversioned(conn)
        for migration in schema.migrations[start:]:
            for statement in statements(migration.sql):
                conn.execute(statement)
            if migration.apply is not None:
                migration.apply(conn)
        conn.execute(f"PRAGMA user_version = {schema.version:d}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return start


def _refuse_newer(found: int, schema: Schema, path: Path | str, error: type[DvcopsError]) -> None:
    if found > schema.version:
        raise error(f"{path}: {schema.name} schema version {found} is newer than this dvcops knows "
                    f"({schema.version}): it was written by a newer release; upgrade dvcops, or point "
                    "DVCOPS_STATE at another state directory")
