"""Where a checked import goes: one transaction per file, all or nothing, on SQLite or PostgreSQL.

Rows arrive as flat lists, ROW values per dossier in COLUMNS order, with times as canonical ISO 8601 text
(checks.canonical_time) that the database turns into epoch seconds itself (SQLite `unixepoch`,
PostgreSQL `timestamptz`), and EMPTY for an absent value, stored as NULL. Nothing is visible to readers until
the import commits.

SQLite: each part of the file, checked in a process of its own, is staged in a scratch file (PartStore). The
services are then cut into as many ranges as there are parts; one process sorts the first range from every
staging straight into `dossiers` inside the import's transaction (`store_ranges`), while the others each sort
a later range into a scratch file (`sort_range`), appended in turn: no merge anywhere. The first import into an
empty store writes its rows once, under a rollback journal, instead of to the WAL and again at the checkpoint.
PostgreSQL: COPY into a temporary table, then one INSERT ... ON CONFLICT into `dossiers`.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine

from dossiers.columns import CANONICAL
from dossiers.db import BUSY_TIMEOUT, SQLITE_PRAGMAS

COLUMNS = ("code", "code_format", "service_id", "agency_id", "received_at", "due_at", "returned_at", "channel",
           "online_level", "status", "rating", "complaints")
ROW = len(COLUMNS)
TIMES = frozenset({"received_at", "due_at", "returned_at"})
KEY = "service_id, agency_id, code"
"""The order of SQLite's `dossiers` (migration 0002)."""
PART_COLUMNS = ("code TEXT NOT NULL, code_format TEXT NOT NULL, service_id TEXT NOT NULL, agency_id TEXT NOT NULL, "
                "received_at INTEGER NOT NULL, due_at INTEGER NOT NULL, returned_at INTEGER, channel TEXT NOT NULL, "
                "online_level TEXT NOT NULL, status TEXT NOT NULL, rating TEXT, complaints INTEGER")
SQLITE_ROWS = 2500
"""Rows per multi-row INSERT on SQLite (12 values each: under SQLite's 32,766 parameters)."""
EMPTY = ""
"""An absent value (returned_at of an open dossier, no rating, no feedback at all), stored as NULL: the sqlite3
module binds None through an adapter lookup, a sixth of the time it takes to stage a part."""
MAY_BE_EMPTY = ("returned_at", "rating", "complaints")
"""The columns that may be EMPTY."""
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


class PartStore:
    """One part's checked rows, staged in a scratch SQLite file of its own as they come, in multi-row statements
    (parallel.py checks the parts in parallel). Nothing here needs to survive a crash: no journal, no sync."""

    def __init__(self, path: Path) -> None:
        self._db = _open_scratch(path)
        self._db.execute("BEGIN")
        self._db.execute(f"CREATE TABLE staging ({', '.join(COLUMNS)})")
        self._full = self._sql(SQLITE_ROWS)
        self._rest: list[Any] = []

    @staticmethod
    def _sql(n: int) -> str:
        group = "(" + ", ".join(["?"] * ROW) + ")"
        return f"INSERT INTO staging VALUES {', '.join([group] * n)}"

    def add(self, values: list[Any], last: bool = False) -> None:
        """Full statements of SQLITE_ROWS rows (prepared once); what is left waits for the next batch."""
        rest = self._rest + values if self._rest else values
        step = SQLITE_ROWS * ROW
        end = len(rest) if last else len(rest) - len(rest) % step
        for i in range(0, end, step):
            part = rest[i:i + step]
            self._db.execute(self._full if len(part) == step else self._sql(len(part) // ROW), part)
        self._rest = rest[end:]

    def staged(self) -> None:
        """Every row written and committed: the other parts' processes may read them now."""
        self.add([], last=True)
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


Range = tuple[str | None, str | None]
"""Services from the first (included) to the second (excluded) in the table's order; None: no bound."""


def _open_scratch(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-65536"):
        db.execute(f"PRAGMA {pragma}")
    return db


def _attach(db: sqlite3.Connection, files: list[Path], prefix: str) -> None:
    for k, f in enumerate(files):
        db.execute(f"ATTACH DATABASE ? AS {prefix}{k}", (str(f),))


def _text(column: str) -> str:
    """SQL for an enumerated column's text from its number (columns.CANONICAL)."""
    whens = " ".join(f"WHEN {i} THEN '{value}'" for i, value in enumerate(CANONICAL[column]))
    return f"CASE {column} {whens} END"


_TEXTS = {column: _text(column) for column in CANONICAL}
STORED = ", ".join(f"unixepoch({c})" if c in TIMES else f"NULLIF({c}, '')" if c in MAY_BE_EMPTY else _TEXTS.get(c, c)
                   for c in COLUMNS)
"""COLUMNS of a staged row as stored: times (canonical ISO 8601 text) in epoch seconds (`unixepoch('')` is NULL),
EMPTY as NULL, enumerated columns as their text."""


def _staged(stagings: list[Path]) -> str:
    """Every part's staged rows, the stagings attached as s0, s1, ..."""
    return " UNION ALL ".join(f"SELECT * FROM s{k}.staging" for k in range(len(stagings)))


def _staged_rows(stagings: list[Path], services: Range) -> tuple[str, list[str]]:
    """The FROM and WHERE clauses of the staged rows of every part with a service in `services`, and their
    parameters."""
    lo, hi = services
    where = " AND ".join(cond for cond, bound in (("service_id >= ?", lo), ("service_id < ?", hi)) if bound is not None)
    return f"FROM ({_staged(stagings)}) WHERE {where or 'true'}", [bound for bound in services if bound is not None]


def sort_range(out: Path, stagings: list[Path], services: Range) -> None:
    """The rows of every part with a service in `services`, sorted into table `part` of the scratch file `out`:
    run beside `store_ranges`, which appends it to the database."""
    db = _open_scratch(out)
    try:
        _attach(db, stagings, "s")
        rows, params = _staged_rows(stagings, services)
        db.execute("BEGIN")
        db.execute(f"CREATE TABLE part ({PART_COLUMNS}, PRIMARY KEY ({KEY})) WITHOUT ROWID")
        db.execute(f"INSERT INTO part SELECT {STORED} {rows} ORDER BY {KEY}", params)
        db.execute("COMMIT")
    finally:
        db.close()


def store_ranges(path: str, stagings: list[Path], services: Range, later: list[Path],
                 go_on: Callable[[str], bool], name: str, rows: int, current: int, legacy: int,
                 version: str) -> tuple[int, int] | None:
    """The import's one transaction on the database: the rows of the first range of services, sorted from every
    part's staging straight into `dossiers` (the table's order: appends, not a merge), then each later range as
    another process sorted it (`sort_range`, files `later`), in turn, once `go_on("append")` says they are ready,
    then the commit once `go_on("commit")` says so (False: roll back, None returned). Logs the import; (import id,
    dossiers inserted). Dossiers already stored under another service or agency are taken out first
    (`_take_out_moved`)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in SQLITE_PRAGMAS:
            db.execute(f"PRAGMA {pragma}")
        _attach(db, stagings, "s")  # ATTACH cannot run inside a transaction: the later files too, still empty
        _attach(db, later, "p")
        journal = _rollback_journal_if_empty(db)
        cur = db.cursor()
        # Deferred, then a write to the database first: BEGIN IMMEDIATE would also lock the attached scratch
        # files that the other processes are writing.
        cur.execute("BEGIN")
        try:
            import_id = _log_import(cur, "?", name, rows, current, legacy, version)
            before = _count(cur)
            if before:
                _take_out_moved(cur, stagings)
            into = f"INSERT INTO dossiers ({', '.join(COLUMNS)}, import_id)"
            upsert = f"ON CONFLICT ({KEY}) DO UPDATE SET {_UPDATE}"
            staged, params = _staged_rows(stagings, services)
            cur.execute(f"{into} SELECT {STORED}, {import_id} {staged} ORDER BY {KEY} {upsert}", params)
            if not go_on("append"):
                cur.execute("ROLLBACK")
                return None
            for k in range(len(later)):
                cur.execute(f"SELECT count(*) FROM p{k}.sqlite_schema")  # its table, made since the ATTACH
                cur.execute(f"{into} SELECT *, {import_id} FROM p{k}.part WHERE true ORDER BY {KEY} {upsert}")
            inserted = _count(cur) - before if before else rows  # an empty table gains every row (no count scan)
            _record_counts(cur, "?", import_id, rows, inserted)
            if not go_on("commit"):
                cur.execute("ROLLBACK")
                return None
            cur.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            if journal:
                _back_to_wal(db)
        return import_id, inserted
    finally:
        db.close()


def _take_out_moved(cur: sqlite3.Cursor, stagings: list[Path]) -> None:
    """Take out the dossiers stored under another service or agency than the file now gives them (a corrected
    export), so that a code is never stored twice. The table has no index on the code alone: the staged codes are
    sorted into a keyed table and the store is read once against it (half the time of a join on the code)."""
    cur.execute("CREATE TEMP TABLE staged_codes (code TEXT PRIMARY KEY, service_id TEXT NOT NULL, "
                "agency_id TEXT NOT NULL) WITHOUT ROWID")
    cur.execute(f"INSERT INTO staged_codes SELECT code, service_id, agency_id FROM ({_staged(stagings)}) ORDER BY code")
    cur.execute("DELETE FROM dossiers WHERE EXISTS (SELECT 1 FROM staged_codes s WHERE s.code = dossiers.code "
                "AND (s.service_id <> dossiers.service_id OR s.agency_id <> dossiers.agency_id))")
    cur.execute("DROP TABLE staged_codes")


def _rollback_journal_if_empty(db: sqlite3.Connection) -> bool:
    """The first import into an empty store: a rollback journal instead of the WAL for its transaction, so the rows
    are written to the file once instead of to the WAL and then again at the checkpoint. SQLite changes the mode only
    while no other connection is open; if one is, the import stays in WAL. Whether it changed."""
    if db.execute("SELECT EXISTS (SELECT 1 FROM dossiers)").fetchone()[0]:
        return False
    db.execute("PRAGMA busy_timeout=0")  # a connection open elsewhere: no waiting, just WAL
    try:
        return bool(db.execute("PRAGMA main.journal_mode=DELETE").fetchone()[0] == "delete")
    except sqlite3.OperationalError:
        return False
    finally:
        db.execute(f"PRAGMA {BUSY_TIMEOUT}")


def _back_to_wal(db: sqlite3.Connection) -> None:
    """WAL again, unless a reader came meanwhile (then the next connection's SQLITE_PRAGMAS set it)."""
    db.execute("PRAGMA busy_timeout=0")
    with contextlib.suppress(sqlite3.OperationalError):
        db.execute("PRAGMA main.journal_mode=WAL")


_PG_STORED = {"received_at": "extract(epoch FROM received_at)::bigint", "due_at": "extract(epoch FROM due_at)::bigint",
              "returned_at": "extract(epoch FROM NULLIF(returned_at, '')::timestamptz)::bigint",
              "rating": "NULLIF(rating, '')", "complaints": "NULLIF(complaints, '')::integer", **_TEXTS}
"""The staged columns that PostgreSQL stores otherwise than as they are (see STORED)."""


class PostgresWriter:
    """COPY into a temporary table (dropped at commit), then one upsert into `dossiers`."""

    def __init__(self, engine: Engine) -> None:
        self._raw = engine.raw_connection()
        self._cur = self._raw.cursor()
        self._open = True
        self._cur.execute("CREATE TEMP TABLE dossier_staging (code varchar(64), code_format varchar(32), "
                          "service_id varchar(63), agency_id varchar(63), received_at timestamptz, "
                          "due_at timestamptz, returned_at text, channel smallint, online_level smallint, "
                          "status smallint, rating varchar(32), complaints text) ON COMMIT DROP")

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
        values = ", ".join(_PG_STORED.get(c, c) for c in COLUMNS)
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
