"""JSON answers (orjson) and the running world's parts, for the sandbox's blueprints; it imports
no other sandbox module, so a simulator whose state the world holds (sandbox/salesforce/,
sandbox/zoho/) can answer without an import cycle through sandbox/world.py."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, current_app


def as_json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str)
    return Response(body, status, headers=headers, mimetype="application/json")


def world_part(name: str) -> Any:
    """An attribute of the world being served (`salesforce`, `zoho`), or None."""
    return getattr(current_app.extensions["sandbox"], name, None)
