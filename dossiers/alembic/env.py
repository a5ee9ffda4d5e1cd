"""Alembic environment: runs on the connection dossiers.db.migrate() hands over (no alembic.ini, no logging
setup, so migrating never reconfigures the caller's logs)."""

from __future__ import annotations

from alembic import context

from dossiers.db import VERSION_TABLE
from dossiers.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through dossiers.db.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
