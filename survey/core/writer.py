"""Group commit: ratings that arrive while the database is busy are committed together.

A 2xx must mean the rating is durable, and a durable commit costs an fsync. One transaction per
request would cap throughput at the disk's fsync rate; instead, one writer task takes every rating
waiting in the queue, has them committed in one transaction (survey/core/committers.py, per database),
then answers each request. Under load a batch holds tens of ratings for the price of one fsync; when
idle, a rating is committed alone at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine

from survey.batch import Outcome
from survey.core.committers import committer_for, describe
from survey.validation import NewRating

log = logging.getLogger("survey.writer")


class WriterUnavailable(Exception):
    """The batch was not committed (nothing of it is stored); the client gets 503 and may retry."""


class BatchWriter:
    """Every rating submitted gets an answer: its outcome once its batch is committed, or WriterUnavailable
    if the batch failed, the writer stopped, or the writer task ended for any reason. A failed batch fails
    only its own ratings: the writer goes on with the next one (a new connection, see committers.py)."""

    def __init__(self, engine: Engine, max_batch: int = 256,
                 observe: Callable[[float, int], None] | None = None) -> None:
        """`observe(seconds, ratings)` is told of every committed batch (the /metrics histograms)."""
        self.max_batch = max_batch
        self._observe = observe
        self._committer = committer_for(engine)
        self._queue: asyncio.Queue[tuple[NewRating, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._busy = False

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="survey-writer")

    async def submit(self, item: NewRating) -> Outcome:
        """Queue one rating and wait until its batch is committed; WriterUnavailable if it was not."""
        if self._task is None or self._task.done():
            raise WriterUnavailable("the writer is not running")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def _run(self) -> None:
        try:
            while True:
                batch = [await self._queue.get()]
                while len(batch) < self.max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                await self._commit(batch)
        finally:  # stopped, or a bug: nobody may wait for a writer that is gone
            while not self._queue.empty():
                _fail([self._queue.get_nowait()], "the writer stopped")

    async def _commit(self, batch: list[tuple[NewRating, asyncio.Future[Outcome]]]) -> None:
        """Commit one batch and answer each of its ratings; whatever goes wrong fails this batch only."""
        self._busy = True
        start = time.perf_counter()
        try:
            outcomes = await self._committer.commit([item for item, _ in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"the committer answered {len(outcomes)} outcomes for {len(batch)} ratings")
        except Exception as exc:  # the database is down or refused the batch: nothing of it was committed
            log.error("survey: could not commit %d rating(s): %s", len(batch), describe(exc))
            _fail(batch, type(exc).__name__)
            return
        except BaseException:  # cancelled mid-commit (stop() timed out): its clients must not wait forever
            _fail(batch, "the writer stopped")
            raise
        finally:
            self._busy = False
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if not future.done():  # a client that went away has cancelled its future
                future.set_result(outcome)
        if self._observe is not None:
            try:
                self._observe(time.perf_counter() - start, len(batch))
            except Exception:  # the metrics must never cost the writer its life
                log.exception("survey: could not record a batch's metrics")

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
        await self._committer.close()


def _fail(batch: list[tuple[NewRating, asyncio.Future[Outcome]]], reason: str) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(WriterUnavailable(reason))
