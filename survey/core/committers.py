"""How one batch of ratings is committed durably, per database: the BatchWriter's two back ends.

SQLite: the whole batch runs on the event loop. The inserts are local memory work and the commit's
fsync on a local disk takes a fraction of a millisecond, less than a hop to a thread and back (two
wake-ups and a turn at Python's GIL, which on a busy machine takes milliseconds and costs more CPU than
the commit). Only waiting for the other server process's write lock runs in a thread. SQLite's own WAL
checkpoint (copying committed pages into the database file once the WAL passes 1,000 pages) runs in
the commit that crosses the mark, under the write lock: with no other commit in between it reaches the
end of the WAL, and the next commit starts the WAL over. (Tried and measured: a checkpoint in a thread
of its own racing the writers never caught up, and the WAL grew to 787 MB in a benchmark; one holding
the write lock from a thread also waits for its turns at the GIL while holding it, and the benchmark's
p99 rose to 300-660 ms.) The connection stays open, so its page cache stays warm between batches.

PostgreSQL: every statement waits on the network, and a slow or unreachable database must never stall
the event loop (and /healthz with it), so the committer talks to it with psycopg's asyncio connection.
The batch is one statement (survey/batch/postgresql.py) in autocommit mode: one round trip, one transaction,
committed durably before it returns. A connection that fails (its batch fails: 503, nothing of it stored) is
dropped and the next batch opens a new one; one idle for IDLE_CHECK seconds is checked first (a server restart
or an idle timeout would otherwise cost a batch its answer).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, Engine

from survey.batch import Outcome, stage_batch
from survey.batch.postgresql import PG_BATCH, postgresql_outcomes, postgresql_params
from survey.core.db import WriteLock
from survey.validation import NewRating

log = logging.getLogger("survey.writer")
IDLE_CHECK = 30.0
"""Seconds after which the PostgreSQL connection is checked before use."""
CONNECT_TIMEOUT = 10
"""Seconds to reach PostgreSQL: an unreachable server fails the batch, it does not hang it."""
APPLICATION_NAME = "dvcops-survey-writer"
"""How the writer's connection shows in pg_stat_activity (unless the database URL sets application_name)."""


class Committer(Protocol):
    async def commit(self, items: list[NewRating]) -> list[Outcome]: ...

    async def close(self) -> None: ...


def committer_for(engine: Engine) -> Committer:
    return SqliteCommitter(engine) if engine.dialect.name == "sqlite" else PostgresCommitter(engine)


class SqliteCommitter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = WriteLock(engine)
        self._waiter = ThreadPoolExecutor(1, thread_name_prefix="survey-write-lock")
        self._conn: Connection | None = None

    async def commit(self, items: list[NewRating]) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        if not self._lock.try_acquire():
            await loop.run_in_executor(self._waiter, self._lock.acquire)
        try:
            conn = self._connection()
            transaction = conn.begin()
            try:
                outcomes = stage_batch(conn, items)
                transaction.commit()
            except BaseException:
                transaction.rollback()
                raise
        except BaseException:
            self._drop_connection()  # the next batch starts from a fresh connection
            raise
        finally:
            self._lock.release()
        return outcomes

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
            # The batch's INSERT keeps a statement journal (the old content of each page it changes, to undo
            # the statement alone). Past 64 KiB, about 15 ratings, SQLite spills it to a temporary file that
            # it creates, writes and deletes in nearly every batch: 2.5 pwrite calls per rating instead of
            # 1.6, and three more system calls per batch, measured with strace. In memory it stays a few
            # hundred KiB. Only this connection: a report's large GROUP BY should still spill to disk.
            raw = self._conn.connection.dbapi_connection
            assert raw is not None
            raw.execute("PRAGMA temp_store=MEMORY")  # on the driver's connection: no transaction begun
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        self._waiter.shutdown(wait=True)
        self._drop_connection()
        self._lock.close()


class PostgresCommitter:
    def __init__(self, engine: Engine) -> None:
        url = engine.url  # the same server, database and options (e.g. ?options=-csearch_path=...) as the engine
        params: dict[str, str | int | None] = {
            "host": url.host, "port": url.port, "dbname": url.database, "user": url.username,
            "password": url.password, "connect_timeout": CONNECT_TIMEOUT, "application_name": APPLICATION_NAME,
            **{k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()}}
        self._conninfo = make_conninfo("", **{k: v for k, v in params.items() if v is not None})
        self._conn: psycopg.AsyncConnection | None = None
        self._used_at = 0.0

    async def commit(self, items: list[NewRating]) -> list[Outcome]:
        try:
            conn = await self._connection()
            cursor = conn.cursor()
            await cursor.execute(PG_BATCH, postgresql_params(items))
            rows = await cursor.fetchall()
        except BaseException:
            await self.close()
            raise
        finally:
            self._used_at = time.monotonic()
        return postgresql_outcomes(items, rows)

    async def _connection(self) -> psycopg.AsyncConnection:
        if self._conn is not None and time.monotonic() - self._used_at > IDLE_CHECK:
            try:
                await self._conn.execute("SELECT 1")
            except psycopg.Error:
                await self.close()
        if self._conn is None:
            self._conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()


def describe(exc: BaseException) -> str:
    """The error's type and the driver's first line; never SQLAlchemy's text, which quotes the parameters."""
    orig = exc if isinstance(exc, psycopg.Error) else getattr(exc, "orig", None)
    first = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
