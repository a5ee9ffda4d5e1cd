"""Where a checked import goes: one transaction per file, all or nothing, on SQLite or PostgreSQL.

Rows arrive as flat lists, ROW values per dossier in COLUMNS order, with times as canonical ISO 8601 text
(importer.canonical_time) that the database turns into epoch seconds itself (SQLite `unixepoch`,
PostgreSQL `timestamptz`). Nothing is visible to readers until `commit`; `rollback` leaves the store as it was.

SQLite: a writer process stages the rows in a temporary table, in multi-row statements, while the importer
checks the next ones; at commit they go into `dossiers` in the table's own order, in one statement.
PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT into `dossiers`.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from multiprocessing.connection import Connection
from typing import Any, Protocol

from sqlalchemy import Engine

from dossiers.db import SQLITE_PRAGMAS
from dossiers.errors import DossierError

COLUMNS = ("code", "code_format", "service_id", "agency_id", "received_at", "due_at", "returned_at", "channel",
           "online_level", "status", "rating", "complaints")
ROW = len(COLUMNS)
TIMES = frozenset({"received_at", "due_at", "returned_at"})
SQLITE_ROWS = 2500
"""Rows per multi-row INSERT on SQLite (12 values each: under SQLite's 32,766 parameters)."""
_UPDATE = ", ".join(f"{c} = excluded.{c}" for c in (*COLUMNS[1:], "import_id"))


def _log_import(cur: Any, p: str, name: str, rows: int, current: int, legacy: int, version: str) -> int:
    """The import's line in dossier_imports, its counts of inserted and updated still 0; its id. `p` is the
    driver's placeholder (sqlite3 `?`, psycopg `%s`)."""
    cur.execute(f"INSERT INTO dossier_imports (file, imported_at, rows, inserted, updated, current_codes, "
                f"legacy_codes, policy_version) VALUES ({p}, {p}, {p}, 0, 0, {p}, {p}, {p}) RETURNING id",
                (name[-1024:], int(time.time()), rows, current, legacy, version))
    return int(cur.fetchone()[0])


def _record_counts(cur: Any, p: str, import_id: int, rows: int, inserted: int) -> None:
    cur.execute(f"UPDATE dossier_imports SET inserted = {p}, updated = {p} WHERE id = {p}",
                (inserted, rows - inserted, import_id))


def _count(cur: Any) -> int:
    cur.execute("SELECT count(*) FROM dossiers")
    return int(cur.fetchone()[0])


class Writer(Protocol):
    def add(self, values: list[Any]) -> None: ...

    def commit(self, name: str, rows: int, current: int, legacy: int, version: str) -> tuple[int, int]: ...

    def rollback(self) -> None: ...


def writer_for(engine: Engine) -> Writer:
    return SqliteWriter(engine) if engine.dialect.name == "sqlite" else PostgresWriter(engine)


class SqliteWriter:
    """Hands the rows to a writer process, which owns the connection and the transaction (_SqliteImport).

    A process, not a thread: binding a million rows' values holds the GIL, so a thread would take turns with the
    checks instead of running beside them. The process is forked before the first row, with no database
    connection open in this one (none crosses the fork), and ends with the import."""

    def __init__(self, engine: Engine) -> None:
        path = engine.url.database
        engine.dispose()  # no open connection may cross the fork
        context = multiprocessing.get_context("fork")
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs, path), name="dossiers-writer", daemon=True)
        self._process.start()
        theirs.close()
        self._path = path
        self._done = False

    def add(self, values: list[Any]) -> None:
        if values:
            self._pipe.send(("rows", values))

    def commit(self, name: str, rows: int, current: int, legacy: int, version: str) -> tuple[int, int]:
        """Store the staged rows, log the import; (import id, dossiers inserted)."""
        result = self._finish(("commit", name, rows, current, legacy, version))
        assert result is not None
        return result

    def rollback(self) -> None:
        if not self._done:
            self._finish(("rollback",))

    def _finish(self, message: tuple[Any, ...]) -> tuple[int, int] | None:
        self._done = True
        try:
            self._pipe.send(message)
            outcome, value = self._pipe.recv()
        except (EOFError, OSError):
            outcome, value = "error", f"the writer process ended (exit code {self._process.exitcode})"
        finally:
            self._process.join(timeout=60)
            self._pipe.close()
        if outcome == "error":
            raise DossierError(f"dossiers database {self._path}: {value}; nothing from this file was stored")
        return value  # type: ignore[no-any-return]


def _serve(pipe: Connection, path: str) -> None:
    """The writer process: stage every batch, then commit or roll back as the importer says. An error stops the
    staging but not the reading, so the importer is never blocked on a full pipe; it hears of it at the end."""
    failure: str | None = None
    store: _SqliteImport | None = None
    try:
        store = _SqliteImport(path)
    except sqlite3.Error as exc:
        failure = str(exc)
    while True:
        try:
            message = pipe.recv()
        except EOFError:  # the importer is gone: nothing is stored
            if store is not None:
                store.rollback()
            return
        try:
            if message[0] == "rows":
                if failure is None and store is not None:
                    store.stage(message[1])
                continue
            if failure is None and store is not None and message[0] == "commit":
                pipe.send(("ok", store.commit(*message[1:])))
            else:
                if store is not None:
                    store.rollback()
                pipe.send(("error", failure) if failure else ("ok", None))
            return
        except sqlite3.Error as exc:
            failure = str(exc)
            if store is not None:
                store.rollback()
                store = None


class _SqliteImport:
    """One import's transaction on SQLite: rows staged in a temporary table, then stored in the table's order.

    The table is kept in (service_id, agency_id, code) order (migration 0002), so the rows go in sorted that way:
    one pass, each page written once, instead of a million random B-tree inserts. A dossier already stored under
    another service or agency (a corrected export) is taken out first, so a code is never stored twice."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        for pragma in SQLITE_PRAGMAS:
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("BEGIN IMMEDIATE")  # the write lock now: an import never fails half-way on it
        self._db.execute("DROP TABLE IF EXISTS temp.dossier_staging")
        self._db.execute(f"CREATE TEMP TABLE dossier_staging ({', '.join(COLUMNS)})")
        self._full = self._sql(SQLITE_ROWS)
        self._rest: list[Any] = []

    @staticmethod
    def _sql(n: int) -> str:
        group = "(" + ", ".join(["?"] * ROW) + ")"
        return f"INSERT INTO temp.dossier_staging VALUES {', '.join([group] * n)}"

    def stage(self, values: list[Any], last: bool = False) -> None:
        """Full statements of SQLITE_ROWS rows (prepared once); what is left waits for the next batch."""
        rest = self._rest + values if self._rest else values
        step = SQLITE_ROWS * ROW
        end = len(rest) if last else len(rest) - len(rest) % step
        for i in range(0, end, step):
            part = rest[i:i + step]
            self._db.execute(self._full if len(part) == step else self._sql(len(part) // ROW), part)
        self._rest = rest[end:]

    def commit(self, name: str, rows: int, current: int, legacy: int, version: str) -> tuple[int, int]:
        self.stage([], last=True)
        cur = self._db.cursor()
        before = _count(cur)
        if before:  # a dossier now filed under another service or agency: its old row goes (an update in all)
            cur.execute("DELETE FROM dossiers WHERE (service_id, agency_id, code) IN (SELECT d.service_id, "
                        "d.agency_id, d.code FROM temp.dossier_staging s JOIN dossiers d ON d.code = s.code "
                        "WHERE d.service_id <> s.service_id OR d.agency_id <> s.agency_id)")
        import_id = _log_import(cur, "?", name, rows, current, legacy, version)
        values = ", ".join(f"unixepoch({c})" if c in TIMES else c for c in COLUMNS)
        cur.execute(f"INSERT INTO dossiers ({', '.join(COLUMNS)}, import_id) SELECT {values}, {import_id} "
                    f"FROM temp.dossier_staging WHERE true ORDER BY service_id, agency_id, code "
                    f"ON CONFLICT (service_id, agency_id, code) DO UPDATE SET {_UPDATE}")
        inserted = _count(cur) - before
        _record_counts(cur, "?", import_id, rows, inserted)
        cur.execute("DROP TABLE temp.dossier_staging")
        cur.execute("COMMIT")
        self._db.close()
        return import_id, inserted

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
        self._db.close()


class PostgresWriter:
    """COPY into a temporary table (dropped at commit), then one upsert into `dossiers`."""

    def __init__(self, engine: Engine) -> None:
        self._raw = engine.raw_connection()
        self._cur = self._raw.cursor()
        self._open = True
        self._cur.execute("CREATE TEMP TABLE dossier_staging (code varchar(64), code_format varchar(32), "
                          "service_id varchar(63), agency_id varchar(63), received_at timestamptz, "
                          "due_at timestamptz, returned_at timestamptz, channel varchar(8), online_level varchar(12), "
                          "status varchar(12), rating varchar(32), complaints integer) ON COMMIT DROP")

    def add(self, values: list[Any]) -> None:
        if not values:
            return
        with self._cur.copy(f"COPY dossier_staging ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for i in range(0, len(values), ROW):
                copy.write_row(values[i:i + ROW])

    def commit(self, name: str, rows: int, current: int, legacy: int, version: str) -> tuple[int, int]:
        cur = self._cur
        before = _count(cur)
        import_id = _log_import(cur, "%s", name, rows, current, legacy, version)
        values = ", ".join(f"extract(epoch FROM {c})::bigint" if c in TIMES else c for c in COLUMNS)
        cur.execute(f"INSERT INTO dossiers ({', '.join(COLUMNS)}, import_id) SELECT {values}, %s "
                    f"FROM dossier_staging ON CONFLICT (code) DO UPDATE SET {_UPDATE}", (import_id,))
        inserted = _count(cur) - before
        _record_counts(cur, "%s", import_id, rows, inserted)
        self._raw.commit()
        self._close()
        return import_id, inserted

    def rollback(self) -> None:
        if self._open:
            self._raw.rollback()
            self._close()

    def _close(self) -> None:
        self._open = False
        self._cur.close()
        self._raw.close()
