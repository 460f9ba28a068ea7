"""Alembic environment: migrates the engine handed in by connector.db (no URL of its own).

On SQLite a migration may rebuild a table that others reference (batch mode: copy, drop,
rename); with foreign keys on, dropping it would cascade into every referencing table. So
foreign keys are off for the run (a pragma that only takes effect outside a transaction),
checked with `foreign_key_check` before the run commits, and on again afterwards.
"""

from alembic import context
from sqlalchemy import text

from connector.db import operations, people  # noqa: F401  (their tables on Base.metadata)
from connector.db.models import Base

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:  # pysqlite opens no transaction for a pragma: it takes effect; commit ends autobegin
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            context.run_migrations()
            broken = connection.execute(text("PRAGMA foreign_key_check")).all() if sqlite else []
            if broken:
                raise RuntimeError(f"the migration would leave rows without their parent: {broken[:5]}")
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
