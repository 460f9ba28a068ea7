"""What the sandbox's HubSpot routes share: the portal of the running world, and errors in
HubSpot's JSON shape (`status`, `message`, `category`, `correlationId`)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from flask import Response, current_app

from sandbox.hubspot.portal import Portal


def portal() -> Portal:
    """The running world's HubSpot (read from the app, so this package never imports the world)."""
    found: Portal = current_app.extensions["sandbox"].hubspot
    return found


def as_json(value: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(value, default=str), status, mimetype="application/json")


def error(status: int, message: str, category: str, **extra: Any) -> Response:
    body = {
        "status": "error",
        "message": message,
        "category": category,
        "correlationId": str(uuid.uuid4()),
        **extra,
    }
    return as_json(body, status)
