"""The database connection: one engine per app, created from settings and passed in.

SQLite runs in WAL mode with foreign keys on and a busy timeout, so the web, worker and
cron processes of the embedded default can share one file; PostgreSQL gets a checked
pool. A process forked from one holding an engine (an RQ work horse, a web worker)
starts with an empty pool of its own. Migrations are Alembic's, run by `db upgrade`.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from connector.config import Settings
from connector.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=dump_json)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            connect_args={"connect_timeout": 3},
            json_serializer=dump_json,
        )
    _fresh_pool_after_fork(engine)
    return engine


def _fresh_pool_after_fork(engine: Engine) -> None:
    """Every fork of this process (RQ's work horse, the web server's workers, anything else) drops
    the pool it inherited, without closing it: the parent's connections stay the parent's.
    SQLAlchemy's documented pattern (`dispose(close=False)` in the child), hooked on the
    fork itself so no forking path can miss it. A connection shared across a fork shares one
    server session: on PostgreSQL psycopg's prepared statements then collide
    (`prepared statement "_pg3_0" already exists`)."""
    ref = weakref.ref(engine)  # the hook must not keep a disposed engine alive

    def in_child() -> None:
        forked = ref()
        if forked is not None:
            forked.dispose(close=False)

    os.register_at_fork(after_in_child=in_child)


def dump_json(value: Any) -> str:
    """JSON columns (raw payloads) are written with orjson: several times faster than json."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")  # erased personal data does not linger in free pages
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def engine_for(settings: Settings) -> Engine:
    """The engine of the configured database (the embedded one's folder made first)."""
    if settings.embedded_database:
        settings.instance_path.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.database_url)


def init_app(app: Flask, settings: Settings) -> None:
    engine = engine_for(settings)
    app.extensions["crm.engine"] = engine
    app.extensions["crm.sessions"] = sessionmaker(engine, expire_on_commit=False)


def get_engine(app: Flask | None = None) -> Engine:
    engine: Engine = (app or current_app).extensions["crm.engine"]
    return engine


def session(app: Flask | None = None) -> Session:
    """A new ORM session for the current app; use it as a context manager."""
    maker: sessionmaker[Session] = (app or current_app).extensions["crm.sessions"]
    return maker()


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(_alembic_config(engine), revision)


def schema_revision(engine: Engine) -> tuple[str | None, str | None]:
    """(current revision in the database, newest revision shipped)."""
    head = ScriptDirectory.from_config(_alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head


def ensure_schema(engine: Engine, *, auto_upgrade: bool) -> None:
    """Upgrade the embedded database on start; refuse to run a server database that is behind."""
    current, head = schema_revision(engine)
    if current == head:
        return
    if auto_upgrade:
        upgrade(engine)
        return
    raise ConfigError(
        f"DATABASE_URL: schema is at {current or 'nothing'}, this release needs {head}; "
        "run `crm-connector db upgrade`"
    )


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
