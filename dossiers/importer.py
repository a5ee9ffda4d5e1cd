"""`import_file`: check a whole export, then store it all or nothing.

Every row is checked against the rules of checks.py, and every problem is reported at once, in line order; if
there is any, nothing from the file is stored. Stored rows update the dossiers already there: importing the same
export twice changes nothing but the import log.

SQLite: in parts, checked in parallel (parallel.py). PostgreSQL: one pass, the good rows copied into the
transaction while the next ones are checked.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from dossiers.checks import Checker, check_rows, raise_problems
from dossiers.codes import LEGACY, Classifier
from dossiers.db import DossierDatabase, migrate
from dossiers.parallel import import_in_parts
from dossiers.policy import PolicyVersion, policy_for
from dossiers.reader import Export
from dossiers.writers import PostgresWriter
from dvcops.catalog import Catalog


@dataclass
class ImportResult:
    file: str
    rows: int
    inserted: int
    updated: int
    formats: dict[str, int]
    """Rows per code format id ('legacy': codes in no format of the policy in force)."""
    policy_version: str
    seconds: float
    import_id: int = 0

    @property
    def legacy(self) -> int:
        return self.formats.get(LEGACY, 0)


def import_file(db: DossierDatabase | Engine, catalog: Catalog, path: Path, *, on: date | None = None,
                policy: PolicyVersion | None = None, parts: int | None = None) -> ImportResult:
    """Check and store one export; DossierError with every problem (and nothing stored) if any row is bad.

    Codes are classified with the policy version in force `on` (default: today). On SQLite the file is cut
    into `parts` (default: one per CPU, at most parallel.MAX_PARTS) checked in parallel. The database is migrated if it
    is not yet (open_database(migrated=False)): on SQLite while the parts are checked."""
    start = time.perf_counter()
    engine = db.engine if isinstance(db, DossierDatabase) else db
    policy = policy or policy_for(on or datetime.now(ZoneInfo(catalog.province.timezone)).date())
    export = Export(Path(path))
    if engine.dialect.name == "sqlite":
        rows, formats, (import_id, inserted) = import_in_parts(engine, catalog, export, policy, parts)
    else:
        rows, formats, (import_id, inserted) = _import_postgres(engine, catalog, export, policy)
    return ImportResult(file=export.name, rows=rows, inserted=inserted, updated=rows - inserted,
                        formats=dict(sorted(formats.items())), policy_version=policy.version,
                        seconds=time.perf_counter() - start, import_id=import_id)


def _import_postgres(engine: Engine, catalog: Catalog, export: Export,
                     policy: PolicyVersion) -> tuple[int, Counter[str], tuple[int, int]]:
    migrate(engine)
    problems: list[str] = []
    check = Checker(export.name, catalog, Classifier(policy), problems)
    writer = PostgresWriter(engine)
    collecting = gc.isenabled()
    gc.disable()
    try:
        rows = check_rows(export, check, writer)
        raise_problems(export.name, problems, rows)
        formats = check.formats
        return rows, formats, writer.commit(export.name, rows, rows - formats[LEGACY], formats[LEGACY],
                                            policy.version)
    except BaseException:
        writer.rollback()
        raise
    finally:
        export.close()
        if collecting:
            gc.enable()
