"""A process forked from one holding the database engine and the Redis client (RQ's work
horse, the web server's workers) talks to both on connections of its own, never the parent's."""

from __future__ import annotations

import os

import pytest
import redis
from flask import Flask
from sqlalchemy import text

from connector.db import get_engine
from connector.runtime.queue import get_redis

QUERIES = 20  # more than psycopg runs a statement before it prepares it on the server (5)


def forked(work: object) -> int:
    """Run `work` in a forked child, as RQ forks its work horse; the child's exit status."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if work() else 3  # type: ignore[operator]
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_forked_children_use_database_connections_of_their_own(app: Flask) -> None:
    # given a parent whose pool holds a connection it used
    engine = get_engine(app)
    with engine.connect() as conn:
        backend = conn.execute(text("SELECT 1")).scalar()
        parent_pool = id(engine.pool)

    def child_work() -> bool:
        fresh = id(engine.pool) != parent_pool  # the inherited pool was dropped at the fork
        with engine.connect() as conn:
            for _ in range(QUERIES):
                conn.execute(text("SELECT :n"), {"n": 1}).scalar_one()
        return fresh

    # when two children run in turn, each many times over the same statement
    codes = [forked(child_work), forked(child_work)]
    # then each had a pool of its own and every statement ran (on PostgreSQL a shared
    # session fails the second child: prepared statement "_pg3_0" already exists)
    assert codes == [0, 0]
    # and the parent's connection is still good
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == backend
        assert id(engine.pool) == parent_pool


@pytest.mark.parametrize("uses", [1, 5])
def test_forked_children_use_redis_connections_of_their_own(app: Flask, uses: int) -> None:
    conn: redis.Redis = get_redis(app)
    conn.set("fork-probe", "parent")
    parent_pid = conn.connection_pool.pid

    def child_work() -> bool:
        for n in range(uses):
            conn.set(f"fork-child-{os.getpid()}-{n}", "child")
        return bool(conn.connection_pool.pid == os.getpid() != parent_pid)

    assert [forked(child_work), forked(child_work)] == [0, 0]
    assert conn.get("fork-probe") == b"parent"
