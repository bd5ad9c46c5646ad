"""Alembic environment: runs migrations on the owner connection the caller passes."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from frontdesk.models import metadata

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `frontdesk db upgrade`, which passes a connection")
run_migrations(connection)
