"""Group commit: ratings that arrive while the database is busy are committed together.

A 2xx must mean the rating is durable, and a durable commit costs an fsync. One transaction per
request would cap throughput at the disk's fsync rate; instead, one writer task takes every rating
waiting in the queue, inserts them in one transaction and commits once, then answers each request.
Under load a batch holds tens of ratings for the price of one fsync; when idle, a rating is committed
alone at once.

With SQLite the inserts run on the event loop (local memory work, a few hundred microseconds); only what
waits — the commit's fsync, another process's write lock — runs in a thread. Each hop between threads
costs a wake-up and a turn at Python's GIL, which on a busy machine takes milliseconds, so a batch makes
at most two. With PostgreSQL every statement waits on the network, so the whole batch runs in the thread:
a slow or unreachable database must never stall the event loop (and /healthz with it).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from survey.core.db import WriteLock
from survey.crud import NewRating, Outcome, stage_batch, write_batch

log = logging.getLogger("survey.writer")


class WriterUnavailable(Exception):
    """The database did not accept the batch; the client gets 503 and may retry."""


class BatchWriter:
    def __init__(self, engine: Engine, max_batch: int = 256) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[NewRating, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="survey-writer")
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
        if self.engine.dialect.name != "sqlite":  # every statement waits on the network: all of it off the loop
            return await loop.run_in_executor(self._executor, write_batch, self.engine, items)
        lock = WriteLock(self.engine)
        if not lock.try_acquire():
            await loop.run_in_executor(self._executor, lock.acquire)
        try:
            with self.engine.connect() as conn:
                transaction = conn.begin()
                try:
                    outcomes = stage_batch(conn, items)
                    await loop.run_in_executor(self._executor, transaction.commit)
                except BaseException:
                    transaction.rollback()
                    raise
        finally:
            lock.release()
        return outcomes

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


def _describe(exc: Exception) -> str:
    """The error's type and the driver's first line; never SQLAlchemy's text, which quotes the parameters."""
    orig = getattr(exc, "orig", None)
    first = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
