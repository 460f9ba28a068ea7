"""The web role under gunicorn, started from our CLI so it shares the app factory.

The app is built once in the master (preload); each forked worker starts with a database
pool of its own (the engine's fork hook, connector/db.py) and Redis connections of its own
(redis-py's pool checks its pid), so no socket is shared across processes.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def serve_forever(app: Flask, *, host: str, port: int, workers: int) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "preload_app": True,
        "accesslog": None,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
    }
    _Gunicorn(app, options).run()
