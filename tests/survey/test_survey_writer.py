"""The group-commit writer. On SQLite: two writers (as two server processes would) share one database file,
every rating is committed once, and the WAL stays bounded under continuous writes (it is checkpointed).
On both databases: a batch the database refuses fails its own ratings (503, nothing of it stored) and the
writer goes on with the next; no rating ever waits for a writer that stopped."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from survey.core.committers import APPLICATION_NAME
from survey.core.db import WriteLock, make_engine, migrate
from survey.core.security import dossier_hash, new_receipt_id
from survey.core.writer import BatchWriter, WriterUnavailable
from survey.instruments import load_instruments
from survey.models import Rating
from survey.validation import NewRating
from tests.pg import PostgresServer
from tests.survey.helpers import LiveServer, make_settings, rating

ANSWERS = "[" + ",".join(a.stored for (_, level), a in load_instruments().get("3-muc").answer_rows.items()
                         if level == "hai-long") + "]"


POISON = "HỎNG"
"""A comment the test's trigger makes SQLite refuse (RAISE(FAIL) keeps the rows the INSERT already wrote: only
the writer's rollback keeps them out)."""
REFUSE_POISON = f"""CREATE TRIGGER refuse_poison BEFORE INSERT ON survey_ratings WHEN NEW.comment = '{POISON}'
BEGIN SELECT RAISE(FAIL, 'refused by the test'); END"""


def item(n: int, comment: str = "Cán bộ tận tình") -> NewRating:
    return NewRating(new_receipt_id(), dossier_hash(b"k" * 32, f"W-{n}"), "dang-ky-kinh-doanh", "so-khdt", "3-muc",
                     "hai-long", False, 50.0, "api", comment, date(2026, 11, 22), ANSWERS)


def stored(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(Rating.receipt_id)).scalars())


def test_two_writers_commit_everything_once_and_the_wal_stays_bounded(tmp_path: Path) -> None:
    database = tmp_path / "ratings.sqlite3"
    engines = [make_engine(make_url(f"sqlite:///{database}")) for _ in range(2)]
    migrate(engines[0])
    total = 4000
    wal_sizes: list[int] = []

    async def run() -> list[str]:
        writers = [BatchWriter(engine) for engine in engines]
        for w in writers:
            w.start()
        numbers = iter(range(total))

        async def client(w: BatchWriter) -> list[str]:
            out = []
            for n in numbers:
                out.append((await w.submit(item(n))).status)
                if n % 500 == 0 and Path(f"{database}-wal").exists():
                    wal_sizes.append(Path(f"{database}-wal").stat().st_size)
            return out

        results = await asyncio.gather(*(client(writers[c % 2]) for c in range(40)))
        for w in writers:
            await w.stop()
        return [status for r in results for status in r]

    statuses = asyncio.run(run())
    assert statuses.count("created") == total
    with engines[0].connect() as conn:
        assert conn.execute(select(func.count()).select_from(Rating)).scalar_one() == total
    for engine in engines:
        engine.dispose()
    # checkpointed under the write lock, the WAL is reused from its start (~4 MB: 1,000 pages); a checkpoint
    # racing the writers never catches up, and the WAL passes 20 MB by the end
    assert wal_sizes and max(wal_sizes) < 12 * 2**20, wal_sizes



def test_a_batch_the_database_refuses_fails_alone_and_nothing_of_it_is_stored(tmp_path: Path) -> None:
    database = tmp_path / "ratings.sqlite3"
    engine = make_engine(make_url(f"sqlite:///{database}"))
    migrate(engine)
    with sqlite3.connect(database) as db:
        db.execute(REFUSE_POISON)
    batch = [item(n, POISON if n == 5 else "Tốt") for n in range(10)]  # the 6th row fails, mid-INSERT
    later = [item(n) for n in range(10, 13)]

    async def run() -> tuple[list[Any], list[Any]]:
        writer = BatchWriter(engine)
        writer.start()
        # submitted together, they are all queued before the writer wakes: one batch
        first = await asyncio.wait_for(asyncio.gather(*map(writer.submit, batch), return_exceptions=True), 10)
        then = await asyncio.wait_for(asyncio.gather(*map(writer.submit, later), return_exceptions=True), 10)
        await writer.stop()
        return first, then

    try:
        first, then = asyncio.run(run())
        assert all(isinstance(r, WriterUnavailable) for r in first), first
        assert [getattr(r, "status", r) for r in then] == ["created"] * 3
        assert stored(engine) == {i.receipt_id for i in later}  # none of the refused batch, not even its first 5
    finally:
        engine.dispose()


def test_a_rating_never_waits_for_a_writer_that_stopped(tmp_path: Path) -> None:
    """stop() gives up on a batch stuck behind another process's write lock: its rating fails, it does not hang."""
    engine = make_engine(make_url(f"sqlite:///{tmp_path / 'ratings.sqlite3'}"))
    migrate(engine)
    other_process = WriteLock(engine)
    other_process.acquire()

    async def run() -> BaseException | None:
        writer = BatchWriter(engine)
        writer.start()
        waiting = asyncio.ensure_future(writer.submit(item(1)))
        await asyncio.sleep(0.2)  # the writer took the batch and waits for the lock
        threading.Timer(1.0, other_process.close).start()  # the lock's holder goes away after stop() gave up
        await writer.stop(timeout=0.1)
        try:
            await asyncio.wait_for(waiting, 10)
        except WriterUnavailable as exc:
            return exc
        return None

    try:
        assert isinstance(asyncio.run(run()), WriterUnavailable)
        assert stored(engine) == set()
    finally:
        other_process.close()
        engine.dispose()


async def _post_all(url: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """Post the ratings at once; a rating left waiting would be a ReadTimeout here, not a slow answer."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        return list(await asyncio.gather(*(client.post("/api/v1/ratings", json=b) for b in bodies)))


def _check_failed_answers(live: LiveServer, bodies: list[dict[str, Any]], answers: list[httpx.Response],
                          must_fail: list[int], before: set[str]) -> None:
    """Each rating got 201 or a 503 with a JSON error; the 503 ones were not stored (retried, they get 201, not
    409); what got 201 is stored."""
    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {201, 503} and all(statuses[i] == 503 for i in must_fail), statuses
    for a in answers:
        if a.status_code == 503:
            assert a.headers["retry-after"] == "5"
            assert a.json() == {"detail": "the rating was not stored: the ratings database is unavailable; "
                                          "retry later"}
    with live.client() as client:
        retried = [client.post("/api/v1/ratings", json=b) for b, a in zip(bodies, answers, strict=True)
                   if a.status_code == 503 and b.get("comment") != POISON]
    assert [r.status_code for r in retried] == [201] * len(retried)
    receipts = {a.json()["receipt_id"] for a in [*answers, *retried] if a.status_code == 201}
    assert stored(live.app.state.survey.engine) == before | receipts


def _bodies(n: int, poison_at: int | None = None) -> list[dict[str, Any]]:
    return [rating(f"WF-{uuid.uuid4().hex[:12]}", comment=POISON if i == poison_at else "Tốt") for i in range(n)]


def test_over_http_a_refused_batch_is_503_and_the_next_ratings_are_201(tmp_path: Path, catalog_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ratings.sqlite3'}"
    with LiveServer(make_settings(catalog_path, tmp_path / "state", url)) as live, live.client() as client:
        before = {client.post("/api/v1/ratings", json=rating("WF-WARM-UP")).json()["receipt_id"]}
        with sqlite3.connect(tmp_path / "ratings.sqlite3") as db:
            db.execute(REFUSE_POISON)
        bodies = _bodies(40, poison_at=7)
        answers = asyncio.run(_post_all(live.url, bodies))
        _check_failed_answers(live, bodies, answers, must_fail=[7], before=before)
        assert client.post("/api/v1/ratings", json=rating(f"WF-{uuid.uuid4().hex[:12]}")).status_code == 201


def test_over_http_a_killed_postgresql_connection_fails_one_batch(pg: PostgresServer, tmp_path: Path,
                                                                   catalog_path: Path) -> None:
    url = pg.create_schema("postgres", "writer_killed")
    with LiveServer(make_settings(catalog_path, tmp_path / "state", url)) as live, live.client() as client:
        before = {client.post("/api/v1/ratings", json=rating("WF-WARM-UP")).json()["receipt_id"]}  # connects
        with psycopg.connect(pg.dsn("postgres"), autocommit=True) as admin:
            killed = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                                   (APPLICATION_NAME,)).fetchall()
        assert killed == [(True,)]
        bodies = _bodies(40)
        answers = asyncio.run(_post_all(live.url, bodies))
        _check_failed_answers(live, bodies, answers, must_fail=[], before=before)
        assert 503 in {a.status_code for a in answers}  # the batch sent on the dead connection
        assert client.post("/api/v1/ratings", json=rating(f"WF-{uuid.uuid4().hex[:12]}")).status_code == 201
