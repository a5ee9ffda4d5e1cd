"""Alembic environment: runs on the connection survey.core.db.migrate() hands over (no alembic.ini,
no logging setup, so migrating never reconfigures the server's logs)."""

from __future__ import annotations

from alembic import context

from survey.core.db import VERSION_TABLE
from survey.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through survey.core.db.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
