"""JSON responses for every sandbox endpoint, encoded once and fast (orjson)."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response


def as_json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str)
    return Response(body, status, headers=headers, mimetype="application/json")
