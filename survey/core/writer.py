"""Group commit: ratings that arrive while the database is busy are committed together.

A 2xx must mean the rating is durable, and a durable commit costs an fsync. One transaction per
request would cap throughput at the disk's fsync rate; instead, one writer task takes every rating
waiting in the queue, inserts them in one transaction and commits once, then answers each request.
Under load a batch holds tens of ratings for the price of one fsync; when idle, a rating is committed
alone at once.

With SQLite the whole batch runs on the event loop: the inserts are local memory work and the commit's
fsync on a local disk takes a fraction of a millisecond, less than a hop to a thread and back (two
wake-ups and a turn at Python's GIL, which on a busy machine takes milliseconds and costs more CPU than
the commit). Only what can wait long runs in a thread: the other server process's write lock, and the
WAL checkpoint (copying committed pages into the database file), which the writer's own connection
leaves to a background thread every CHECKPOINT_EVERY ratings. The writer keeps one connection, so its
page cache stays warm between batches.

With PostgreSQL every statement waits on the network, so the batch runs in the thread: a slow or
unreachable database must never stall the event loop (and /healthz with it). It is one statement
(crud._stage_postgresql) on the writer's own connection in autocommit mode: one round trip, one
transaction, and the thread takes Python's GIL back once per batch rather than once per statement. A
connection that fails is dropped and the next batch opens a new one; one idle for IDLE_CHECK seconds is
checked first (a server restart or an idle timeout would otherwise cost a batch its answer).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection, Engine

from survey.core.db import WriteLock
from survey.crud import NewRating, Outcome, stage_batch

log = logging.getLogger("survey.writer")
CHECKPOINT_EVERY = 2000
"""Ratings committed between two WAL checkpoints (SQLite): the WAL stays near 30 MB (benchmark)."""
IDLE_CHECK = 30.0
"""Seconds after which the writer's PostgreSQL connection is checked before use."""


class WriterUnavailable(Exception):
    """The database did not accept the batch; the client gets 503 and may retry."""


class BatchWriter:
    def __init__(self, engine: Engine, max_batch: int = 256) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.sqlite = engine.dialect.name == "sqlite"
        self._queue: asyncio.Queue[tuple[NewRating, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="survey-writer")
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="survey-checkpoint")
        self._lock = WriteLock(engine)
        self._conn: Connection | None = None
        self._used_at = 0.0
        self._since_checkpoint = 0
        self._checkpointing = False
        self._task: asyncio.Task[None] | None = None
        self._busy = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="survey-writer")

    async def submit(self, item: NewRating) -> Outcome:
        """Queue one rating and wait until its batch is committed."""
        if self._task is None or self._task.done():
            raise WriterUnavailable("the writer is not running")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def _commit(self, items: list[NewRating]) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        if not self.sqlite:
            return await loop.run_in_executor(self._executor, self._write_postgresql, items)
        if not self._lock.try_acquire():
            await loop.run_in_executor(self._executor, self._lock.acquire)
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
        self._since_checkpoint += len(items)
        if self._since_checkpoint >= CHECKPOINT_EVERY and not self._checkpointing:
            self._since_checkpoint = 0
            self._checkpointing = True
            loop.run_in_executor(self._checkpointer, self._checkpoint)
        return outcomes

    def _write_postgresql(self, items: list[NewRating]) -> list[Outcome]:
        """In the writer thread: the batch as one autocommit statement, committed when it returns."""
        try:
            return stage_batch(self._connection(), items)
        except BaseException:
            self._drop_connection()
            raise
        finally:
            self._used_at = time.monotonic()

    def _connection(self) -> Connection:
        """The writer's own connection: SQLite without checkpoints on commit (see _checkpoint), PostgreSQL in
        autocommit mode and checked after IDLE_CHECK idle seconds."""
        if self._conn is not None and not self.sqlite and time.monotonic() - self._used_at > IDLE_CHECK:
            try:
                self._conn.exec_driver_sql("SELECT 1")
            except Exception:
                self._drop_connection()
        if self._conn is None:
            conn = self.engine.connect()
            if self.sqlite:
                conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
                conn.commit()
            else:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _checkpoint(self) -> None:
        """Copy committed WAL pages into the database file, in a thread, holding the write lock: with no commit
        in between, the checkpoint gets to the end of the WAL and the next commit starts it over (a checkpoint
        racing the writers never catches up, and the WAL grows without end). PASSIVE: it never waits for
        readers, so the writers wait at most for the copy."""
        lock = WriteLock(self.engine)
        try:
            lock.acquire()
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as exc:  # the next checkpoint retries; the WAL just grows meanwhile
            log.warning("survey: WAL checkpoint failed: %s", _describe(exc))
        finally:
            lock.close()
            self._checkpointing = False

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._busy = True
            try:
                outcomes = await self._commit([item for item, _ in batch])
            except Exception as exc:  # the database is down or refused: fail this batch, keep serving
                log.error("survey: could not commit %d rating(s): %s", len(batch), _describe(exc))
                for _, future in batch:
                    if not future.done():
                        future.set_exception(WriterUnavailable(type(exc).__name__))
                continue
            finally:
                self._busy = False
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():  # a client that went away has cancelled its future
                    future.set_result(outcome)

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop (on shutdown, after the server stopped accepting requests)."""
        if self._task is not None:
            deadline = asyncio.get_running_loop().time() + timeout
            while (self._busy or not self._queue.empty()) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)
        self._checkpointer.shutdown(wait=True)
        self._drop_connection()
        self._lock.close()


def _describe(exc: Exception) -> str:
    """The error's type and the driver's first line; never SQLAlchemy's text, which quotes the parameters."""
    orig = getattr(exc, "orig", None)
    first = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
