"""Health: `GET /healthz` says whether the database and Redis answer (503 if either does not)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from redis import RedisError
from sqlalchemy.exc import SQLAlchemyError

from connector.db import get_engine, ping
from connector.runtime.queue import get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    checks = {"database": _database(), "redis": _redis()}
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", checks=checks), 200 if healthy else 503


def _database() -> str:
    try:
        ping(get_engine())
    except SQLAlchemyError as exc:
        return f"down: {type(getattr(exc, 'orig', None) or exc).__name__}"
    return "ok"


def _redis() -> str:
    try:
        get_redis().ping()
    except (RedisError, OSError) as exc:
        return f"down: {type(exc).__name__}"
    return "ok"
