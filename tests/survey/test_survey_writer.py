"""The group-commit writer on SQLite: two writers (as two server processes would) share one database file,
every rating is committed once, and the WAL stays bounded under continuous writes (it is checkpointed)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from survey.core.db import make_engine, migrate
from survey.core.security import dossier_hash, new_receipt_id
from survey.core.writer import BatchWriter
from survey.crud import NewRating
from survey.instruments import load_instruments
from survey.models import Rating

ANSWERS = "[" + ",".join(a.stored for (_, level), a in load_instruments().get("3-muc").answer_rows.items()
                         if level == "hai-long") + "]"


def item(n: int) -> NewRating:
    return NewRating(new_receipt_id(), dossier_hash(b"k" * 32, f"W-{n}"), "dang-ky-kinh-doanh", "so-khdt", "3-muc",
                     "hai-long", False, 50.0, "api", "Cán bộ tận tình", date(2026, 11, 22), ANSWERS)


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
