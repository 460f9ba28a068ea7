"""What every sandbox endpoint shares: the world it serves and JSON responses (orjson)."""

from __future__ import annotations

from flask import current_app

from sandbox.answers import as_json
from sandbox.world import World

__all__ = ["as_json", "current_world"]


def current_world() -> World:
    world: World = current_app.extensions["sandbox"]
    return world
