"""The web role under granian (a WSGI server in Rust), started from our CLI so it shares the app.

The app is built once here and each forked worker serves it (as gunicorn's preload did): a
worker starts with a database pool of its own (the engine's fork hook, connector/db) and Redis
connections of its own (redis-py's pool checks its pid), and ends with this process (a death
signal). Why granian: bench/RESULTS.md, "The web role's server" (the receiver measured under
it and under gunicorn in the same run). SIGTERM and SIGINT stop it gracefully, SIGHUP respawns
the workers, a worker that dies is respawned.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import sys
from collections.abc import Callable
from typing import Any

from flask import Flask
from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server import Server

from connector.runtime.signals import death_signal_setter

THREADS = 16  # per worker, for the app's blocking work (16 served most: bench/RESULTS.md)
STOP_WAIT_S = 10  # a worker still answering this long after a stop is killed
# granian's own lines (listening, workers started or respawned) are handed to ours (_Handed)
LOGGING = {"loggers": {"_granian": {"level": "INFO", "propagate": False}}, "handlers": {}, "formatters": {}}


class _Handed(logging.Filter):
    """granian's log lines, handed to the connector's loggers (its format, its terminal) as
    `crm.granian`. Not its advice to run fewer than 16 threads on a machine of few cores: they
    are chosen (the receiver's group commit fills from the requests that wait together)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Python threads, which seems quite high" not in record.getMessage():
            record.name = "crm.granian"
            logging.getLogger("crm.granian").handle(record)
        return False  # never granian's own handler: a filter stays through its log set-up


def serve_forever(app: Flask, *, host: str, port: int, workers: int) -> None:
    server = Server(
        "connector:create_app",  # where workers are not forked from here, each builds its own app
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=THREADS,
        respawn_failed_workers=True,
        workers_kill_timeout=STOP_WAIT_S,
        log_level=LogLevels.info,
        log_dictconfig=LOGGING,
        websockets=False,
    )
    granian_log = logging.getLogger("_granian")
    if not any(isinstance(f, _Handed) for f in granian_log.filters):
        granian_log.addFilter(_Handed())
    if not _forking():
        server.serve()
        return
    ends_with_this_process = death_signal_setter(signal.SIGTERM)  # made here, called in each worker
    server.serve(target_loader=lambda _factory: _in_worker(app, ends_with_this_process))


def _forking() -> bool:
    """On Linux the workers are forked from this process (Python 3.14 would otherwise start
    them from a fork server), so they serve the app built here, as it is."""
    if not sys.platform.startswith("linux"):
        return False
    multiprocessing.set_start_method("fork", force=True)
    return True


def _in_worker(app: Flask, ends_with_this_process: Callable[[], None]) -> Any:
    """Run in each forked worker before it serves."""
    ends_with_this_process()
    return app
