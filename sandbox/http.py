"""What every sandbox endpoint shares: the world it serves and JSON responses (orjson)."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, current_app

from sandbox.world import World


def current_world() -> World:
    world: World = current_app.extensions["sandbox"]
    return world


def as_json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str)
    return Response(body, status, headers=headers, mimetype="application/json")
