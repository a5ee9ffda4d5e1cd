"""Everything a running survey needs, resolved once at startup: settings, catalogue, instruments,
database engine, HMAC key, the province's time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from dvcops.catalog import Catalog, Service, load_catalog
from survey.core.config import ENV_PREFIX, SurveySettings
from survey.core.db import make_engine, migrate
from survey.errors import SurveyError
from survey.instruments import Instruments, load_instruments


@dataclass
class SurveyContext:
    settings: SurveySettings
    catalog: Catalog
    instruments: Instruments
    engine: Engine
    key: bytes

    @classmethod
    def open(cls, settings: SurveySettings, catalog: Catalog | None = None, run_migrations: bool = True
             ) -> SurveyContext:
        """Load the catalogue and instruments, resolve the key, connect and migrate; SurveyError on bad input."""
        if catalog is None:
            if settings.catalog is None:
                raise SurveyError(f"no catalogue: pass --catalog FILE or set {ENV_PREFIX}CATALOG")
            catalog = load_catalog(settings.catalog)
        instruments = load_instruments(settings.instruments)
        key = settings.key()
        engine = make_engine(settings.database())
        if run_migrations:
            migrate(engine)
        return cls(settings, catalog, instruments, engine, key)

    def __post_init__(self) -> None:
        self.services: dict[str, Service] = {s.id: s for s in self.catalog.services}
        """The catalogue's services by id (looked up for every rating)."""
        self.tz = ZoneInfo(self.catalog.province.timezone)

    def today(self) -> date:
        """Today in the province: the date a rating is filed under."""
        return datetime.now(self.tz).date()

    def close(self) -> None:
        self.engine.dispose()
