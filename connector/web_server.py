"""The web role under gunicorn, started from our CLI so it shares the app factory.

The app is built once in the master (preload); each forked worker drops the database
connections inherited from it, so no socket is shared across processes.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from connector.db import get_engine


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
    def post_fork(_server: Any, _worker: Any) -> None:
        get_engine(app).dispose(close=False)

    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "preload_app": True,
        "post_fork": post_fork,
        "accesslog": None,
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
    }
    _Gunicorn(app, options).run()
