"""Migrations: upgrade from empty builds exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from connector.db import ensure_schema, make_engine, schema_revision, upgrade
from connector.db.models import Base
from connector.errors import ConfigError


def test_upgrade_from_empty_creates_every_table(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert schema_revision(engine)[0] is None
    upgrade(engine)
    current, head = schema_revision(engine)
    assert current == head is not None
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


def test_migrations_match_the_models(engine: Engine) -> None:
    # on whichever database this run uses (SQLite, or PostgreSQL in CI's second run)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_a_server_database_behind_the_code_is_refused_with_the_fix(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with pytest.raises(ConfigError, match="run `crm-connector db upgrade`"):
        ensure_schema(engine, auto_upgrade=False)
    ensure_schema(engine, auto_upgrade=True)
    assert schema_revision(engine)[0] == schema_revision(engine)[1]
