"""Alembic environment: migrates the engine handed in by connector.db (no URL of its own)."""

from alembic import context

from connector.db import operations, people  # noqa: F401  (their tables on Base.metadata)
from connector.db.models import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
