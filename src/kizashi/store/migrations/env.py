"""Alembic environment: migrations run on the engine the application opened."""

from __future__ import annotations

from alembic import context

from kizashi.store.schema import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    context.run_migrations()
