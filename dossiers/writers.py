"""Where a checked import goes: one transaction per file, all or nothing, on SQLite or PostgreSQL.

Rows arrive as flat lists, ROW values per dossier in COLUMNS order, with times as canonical ISO 8601 text
(importer.canonical_time) that the database turns into epoch seconds itself (SQLite `unixepoch`,
PostgreSQL `timestamptz`). Nothing is visible to readers until `commit`; `rollback` leaves the store as it was.

SQLite: rows are staged in a temporary table from one writer thread, in multi-row statements; the sqlite3
module lets go of the GIL while a statement runs, so staging one batch overlaps checking the next one in the
importer's thread. At commit they go into `dossiers` in the table's own order, in one statement.
PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT into `dossiers`.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from sqlalchemy import Engine

COLUMNS = ("code", "code_format", "service_id", "agency_id", "received_at", "due_at", "returned_at", "channel",
           "online_level", "status", "rating", "complaints")
ROW = len(COLUMNS)
TIMES = frozenset({"received_at", "due_at", "returned_at"})
SQLITE_ROWS = 2500
"""Rows per multi-row INSERT on SQLite (12 values each: under SQLite's 32,766 parameters)."""
IN_FLIGHT = 2
"""Batches handed to the SQLite writer and not yet staged: bounds the memory an import holds."""
SORTER_THREADS = 2
"""Helper threads SQLite's sorter may use to sort the staged rows at commit."""
_UPDATE = ", ".join(f"{c} = excluded.{c}" for c in (*COLUMNS[1:], "import_id"))


class Writer(Protocol):
    def add(self, values: list[Any]) -> None: ...

    def commit(self, name: str, rows: int, current: int, legacy: int, version: str) -> tuple[int, int]: ...

    def rollback(self) -> None: ...


def writer_for(engine: Engine) -> Writer:
    return SqliteWriter(engine) if engine.dialect.name == "sqlite" else PostgresWriter(engine)


class SqliteWriter:
    """Stages rows from its own thread, which owns the connection and the transaction; stores them at commit.

    The table is kept in (service_id, agency_id, code) order (migration 0002), so the rows go in sorted that way:
    one pass, each page written once, instead of a million random B-tree inserts. A dossier already stored under
    another service or agency (a corrected export) is taken out first, so a code is never stored twice."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._raw: Any = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dossiers-writer")
        self._pending: deque[Future[None]] = deque()
        self._pending.append(self._thread.submit(self._begin))

    def _begin(self) -> None:
        self._raw = self._engine.raw_connection()
        self._cur = self._raw.cursor()
        self._cur.execute(f"PRAGMA threads = {SORTER_THREADS}")
        self._cur.execute("BEGIN IMMEDIATE")  # the write lock now: an import never fails half-way on it
        self._cur.execute("DROP TABLE IF EXISTS temp.dossier_staging")
        self._cur.execute(f"CREATE TEMP TABLE dossier_staging ({', '.join(COLUMNS)})")
        self._full = self._sql(SQLITE_ROWS)
        self._rest: list[Any] = []

    @staticmethod
    def _sql(n: int) -> str:
        group = "(" + ", ".join(["?"] * ROW) + ")"
        return f"INSERT INTO temp.dossier_staging VALUES {', '.join([group] * n)}"

    def _stage(self, values: list[Any], last: bool = False) -> None:
        """Full statements of SQLITE_ROWS rows (prepared once); what is left waits for the next batch."""
        rest = self._rest + values if self._rest else values
        step = SQLITE_ROWS * ROW
        end = len(rest) if last else len(rest) - len(rest) % step
        for i in range(0, end, step):
            part = rest[i:i + step]
            self._cur.execute(self._full if len(part) == step else self._sql(len(part) // ROW), part)
        self._rest = rest[end:]

    def add(self, values: list[Any]) -> None:
        if values:
            self._pending.append(self._thread.submit(self._stage, values))
        while len(self._pending) > IN_FLIGHT:
            self._pending.popleft().result()  # a failed statement raises here, in the importer's thread

    def _count(self) -> int:
        self._cur.execute("SELECT count(*) FROM dossiers")
        return self._one()

    def _one(self) -> int:
        row: Any = self._cur.fetchone()
        return int(row[0])

    def _commit(self, name: str, rows: int, current: int, legacy: int, version: str) -> tuple[int, int]:
        self._stage([], last=True)
        cur = self._cur
        before = self._count()
        if before:  # a dossier now filed under another service or agency: its old row goes (an update in all)
            cur.execute("DELETE FROM dossiers WHERE (service_id, agency_id, code) IN (SELECT d.service_id, "
                        "d.agency_id, d.code FROM temp.dossier_staging s JOIN dossiers d ON d.code = s.code "
                        "WHERE d.service_id <> s.service_id OR d.agency_id <> s.agency_id)")
        cur.execute("INSERT INTO dossier_imports (file, imported_at, rows, inserted, updated, current_codes, "
                    "legacy_codes, policy_version) VALUES (?, ?, ?, 0, 0, ?, ?, ?) RETURNING id",
                    (name[-1024:], int(time.time()), rows, current, legacy, version))
        import_id = self._one()
        values = ", ".join(f"unixepoch({c})" if c in TIMES else c for c in COLUMNS)
        cur.execute(f"INSERT INTO dossiers ({', '.join(COLUMNS)}, import_id) SELECT {values}, {import_id} "
                    f"FROM temp.dossier_staging WHERE true ORDER BY service_id, agency_id, code "
                    f"ON CONFLICT (service_id, agency_id, code) DO UPDATE SET {_UPDATE}")
        inserted = self._count() - before
        cur.execute("UPDATE dossier_imports SET inserted = ?, updated = ? WHERE id = ?",
                    (inserted, rows - inserted, import_id))
        cur.execute("DROP TABLE temp.dossier_staging")
        self._raw.commit()
        self._close()
        return import_id, inserted

    def commit(self, name: str, rows: int, current: int, legacy: int, version: str) -> tuple[int, int]:
        """Store the staged rows, log the import; (import id, dossiers inserted)."""
        try:
            while self._pending:
                self._pending.popleft().result()
            return self._thread.submit(self._commit, name, rows, current, legacy, version).result()
        finally:
            self._thread.shutdown()

    def _rollback(self) -> None:
        if self._raw is not None:
            self._raw.rollback()
            self._close()

    def rollback(self) -> None:
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        try:
            self._thread.submit(self._rollback).result()
        finally:
            self._thread.shutdown()

    def _close(self) -> None:
        self._cur.close()
        self._raw.close()
        self._raw = None


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

    def _count(self) -> int:
        self._cur.execute("SELECT count(*) FROM dossiers")
        return self._one()

    def _one(self) -> int:
        row: Any = self._cur.fetchone()
        return int(row[0])

    def commit(self, name: str, rows: int, current: int, legacy: int, version: str) -> tuple[int, int]:
        cur = self._cur
        before = self._count()
        cur.execute("INSERT INTO dossier_imports (file, imported_at, rows, inserted, updated, current_codes, "
                    "legacy_codes, policy_version) VALUES (%s, %s, %s, 0, 0, %s, %s, %s) RETURNING id",
                    (name[-1024:], int(time.time()), rows, current, legacy, version))
        import_id = self._one()
        values = ", ".join(f"extract(epoch FROM {c})::bigint" if c in TIMES else c for c in COLUMNS)
        cur.execute(f"INSERT INTO dossiers ({', '.join(COLUMNS)}, import_id) SELECT {values}, %s "
                    f"FROM dossier_staging ON CONFLICT (code) DO UPDATE SET {_UPDATE}", (import_id,))
        inserted = self._count() - before
        cur.execute("UPDATE dossier_imports SET inserted = %s, updated = %s WHERE id = %s",
                    (inserted, rows - inserted, import_id))
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
