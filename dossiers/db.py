"""Where the dossiers live: SQLite (WAL) in the state dir by default, PostgreSQL by URL, as the survey does
(settings DVCOPS_DOSSIERS_DATABASE_URL / DVCOPS_STATE; Alembic migrations with their own version table, so
the dossiers can share a PostgreSQL database with the survey).

    db = open_database(state=StateDir())      # or url="postgresql://..."
    ...
    db.close()
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from dossiers.errors import DossierError
from dvcops.state import StateDir

ENV_PREFIX = "DVCOPS_DOSSIERS_"
ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"
VERSION_TABLE = "dossiers_alembic_version"
HEAD = "0002"
"""The newest revision in alembic/versions (a test checks they agree): a store already there opens without
loading Alembic, a quarter of a second of every command."""
_MIGRATION_LOCK = 0x444F_5353  # "DOSS": PostgreSQL advisory lock held while migrating


class DossierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

    database_url: SecretStr | None = None
    """sqlite:///path or postgresql://user:password@host:port/db; default SQLite in the state dir."""
    state: Path | None = None

    def database(self) -> URL:
        if self.database_url is None:
            return make_url(f"sqlite:///{StateDir(self.state).path('dossiers', 'dossiers.sqlite3')}")
        raw = self.database_url.get_secret_value()
        try:
            url = make_url(raw.replace("postgres://", "postgresql://", 1) if raw.startswith("postgres://") else raw)
        except ArgumentError:
            url = None
        if url is not None and url.get_backend_name() == "postgresql":
            return url.set(drivername="postgresql+psycopg")
        if url is not None and url.get_backend_name() == "sqlite" and url.database:
            return url
        raise DossierError(f"{ENV_PREFIX}DATABASE_URL: not a database URL: expected sqlite:///path or "
                           "postgresql://user:password@host:port/database")


def load_settings(**overrides: Any) -> DossierSettings:
    try:
        return DossierSettings(**overrides)
    except ValidationError as exc:
        raise DossierError(*[f"{ENV_PREFIX}{str(e['loc'][0]).upper()}: {e['msg']}" for e in exc.errors()]) from None


def make_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


BUSY_TIMEOUT = "busy_timeout=30000"
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=FULL", BUSY_TIMEOUT, "cache_size=-65536")
"""Every SQLite connection's. WAL: the report reads while an import writes (the first import into an empty store
takes a rollback journal for its transaction: writers.store_ranges). FULL: an import that said "done" survives a
power cut."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """Two processes migrating one SQLite file take turns (PostgreSQL: an advisory lock instead)."""
    if engine.dialect.name != "sqlite":
        yield
        return
    with open(f"{engine.url.database}.migrate-lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _at_head(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar() == HEAD
    except DBAPIError:
        return False  # no version table yet, or the database is unreachable: migrate() says which


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent)."""
    if revision == "head" and _at_head(engine):
        return
    from alembic import command
    from alembic.config import Config

    try:
        with _file_lock(engine), engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            cfg = Config()
            cfg.set_main_option("script_location", str(ALEMBIC_DIR))
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else "unknown error"
        raise DossierError(f"dossiers database {engine.url.render_as_string(hide_password=True)}: "
                           f"cannot connect or migrate: {first}") from None


@dataclass
class DossierDatabase:
    engine: Engine

    @property
    def description(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> DossierDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_database(url: str | None = None, state: StateDir | Path | None = None, *,
                  migrated: bool = True) -> DossierDatabase:
    """The dossiers' database, migrated (unless not `migrated`: import_file migrates it while it checks the
    file): `url`, else DVCOPS_DOSSIERS_DATABASE_URL, else SQLite in the state dir."""
    overrides: dict[str, Any] = {}
    if url is not None:
        overrides["database_url"] = url
    if state is not None:
        overrides["state"] = state.root if isinstance(state, StateDir) else Path(state)
    engine = make_engine(load_settings(**overrides).database())
    if migrated:
        migrate(engine)
    return DossierDatabase(engine)
