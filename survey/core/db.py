"""Database engines and migrations: SQLite (WAL) in the state dir by default, PostgreSQL by URL.

A 2xx means the rating is committed durably, so SQLite runs with synchronous=FULL (in WAL mode,
NORMAL may lose the last commits on power loss) and PostgreSQL with its defaults (fsync on).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from survey.errors import SurveyError

ALEMBIC_DIR = Path(__file__).resolve().parents[1] / "alembic"
VERSION_TABLE = "survey_alembic_version"
"""Alembic's bookkeeping table, prefixed so the survey can share a PostgreSQL database with other parts."""
_MIGRATION_LOCK = 0x5355_5256  # "SURV": PostgreSQL advisory lock held while migrating


def make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=8, max_overflow=8)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8,
                         connect_args={"connect_timeout": 10})  # an unreachable server fails, it does not hang


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000",
                   "cache_size=-16384"):  # 16 MiB of pages: the indexes' hot pages stay in memory
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


class WriteLock:
    """Serialises SQLite writers across server processes with a lock on a file next to the database.

    SQLite lets one process write at a time and makes the others poll with sleeps of up to 100 ms, which
    with several workers shows as stalls of a second at p99; a waiting flock wakes the moment the holder is
    done, and the kernel drops it if the holder dies. The file stays open between batches (one open per
    writer, not per commit). PostgreSQL needs nothing of the kind (no-op)."""

    def __init__(self, engine: Engine) -> None:
        self.path = f"{engine.url.database}.write-lock" if engine.dialect.name == "sqlite" else None
        self._file: IO[str] | None = None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it, without waiting."""
        return self._take(fcntl.LOCK_EX | fcntl.LOCK_NB)

    def acquire(self) -> None:
        """Take the lock, waiting for the other writer if need be (call it off the event loop)."""
        self._take(fcntl.LOCK_EX)

    def _take(self, how: int) -> bool:
        if self.path is None:
            return True
        if self._file is None:
            self._file = open(self.path, "a")  # noqa: SIM115 - kept open until close()
        try:
            fcntl.flock(self._file, how)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # also drops the lock if still held
            self._file = None


@contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    lock = WriteLock(engine)
    lock.acquire()
    try:
        yield
    finally:
        lock.close()


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.set_main_option("version_table", VERSION_TABLE)
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent; concurrent servers take turns)."""
    try:
        with write_lock(engine), engine.begin() as conn:  # two servers starting on one SQLite file take turns
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        raise SurveyError(f"survey database {engine.url.render_as_string(hide_password=True)}: "
                          f"cannot connect or migrate: {_first_line(exc.orig)}") from None


def downgrade(engine: Engine, revision: str = "base") -> None:
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _first_line(exc: BaseException | None) -> str:
    return str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else "unknown error"
