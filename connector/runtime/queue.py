"""Redis and the RQ queues: one connection per app, jobs as JSON, workers in app context.

Queues: `webhooks` (inbox processing), `sync` (backfill, re-sync, reconciliation) and
`notifications` (outbox sending). Jobs carry ids as JSON (RQ's JSONSerializer), never
pickled objects, so nothing that reaches Redis can execute code in a worker. A worker
stops on SIGINT, SIGTERM or SIGHUP and takes its work horse with it (`StoppingWorker`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import threading
from types import FrameType
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker, SimpleWorker, Worker

from connector.config import Settings
from connector.runtime import signals
from connector.runtime.embedded_redis import EmbeddedRedis

QUEUES = ("webhooks", "sync", "notifications")
HORSE_GRACE_S = 10.0  # a work horse asked to stop is killed if it has not after this


def init_app(app: Flask, settings: Settings) -> None:
    url = settings.redis_url
    if url is None:
        embedded = EmbeddedRedis(settings.instance_path).start()
        app.extensions["crm.embedded_redis"] = embedded
        url = embedded.url
    app.extensions["crm.redis_url"] = url
    app.extensions["crm.redis"] = connect(url)


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)


def shutdown(app: Flask) -> None:
    """Stop the embedded Redis if this app's process started it."""
    embedded: EmbeddedRedis | None = app.extensions.get("crm.embedded_redis")
    if embedded is not None:
        embedded.stop()


def get_redis(app: Flask | None = None) -> redis.Redis:
    conn: redis.Redis = (app or current_app).extensions["crm.redis"]
    return conn


def get_queue(name: str, connection: redis.Redis) -> Queue:
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=connection, serializer=JSONSerializer)


def enqueue(
    connection: redis.Redis, queue: str, func: str, *args: Any, job_id: str | None = None, **options: Any
) -> Job | None:
    """Enqueue `func` (a dotted path) with JSON arguments.

    With `job_id`, the job is unique: while one with that id exists, nothing new is
    enqueued and None is returned (a store never runs two syncs of one entity at once).
    """
    q = get_queue(queue, connection)
    try:
        return q.enqueue(func, args=args, job_id=job_id, unique=job_id is not None, **options)
    except DuplicateJobError:
        return None


def tune_gc_for_batches() -> None:
    """Workers hold hundreds of parsed payloads at once; the default collector thresholds
    make Python re-scan them constantly (measured: half of JSON decoding time)."""
    gc.set_threshold(100_000, 50, 100)


class _StopsOnSignals(BaseWorker):
    """RQ's worker, stopped the way our processes stop; SIGHUP counts as SIGTERM. The first
    signal stops dequeuing and sends SIGTERM to the work horse, whose job unwinds (a sync
    step rolls back its chunk and gives its lease back); a horse still there after
    HORSE_GRACE_S is killed. A second signal kills it at once (RQ's cold shutdown)."""

    stop_signalled = False  # a signal, not Redis or an empty queue, ended the work loop
    drained = False  # the queues were found empty (how a burst ends)

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        signal.signal(signal.SIGHUP, self.request_stop)

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_signalled = True
        signal.signal(signal.SIGHUP, self.request_force_stop)
        horse = self.horse_pid
        if horse:
            with contextlib.suppress(ProcessLookupError):
                os.kill(horse, signal.SIGTERM)
            later = threading.Timer(HORSE_GRACE_S, self._kill_horse_if_still, args=(horse,))
            later.daemon = True
            later.start()
        super().request_stop(signum, frame)

    def _kill_horse_if_still(self, horse: int) -> None:
        if self.horse_pid == horse:
            self.kill_horse()

    def setup_work_horse_signals(self) -> None:
        super().setup_work_horse_signals()  # Ctrl-C is the worker's to act on, not the horse's
        signal.signal(signal.SIGTERM, signals.raise_stopped)  # the worker's stop unwinds the job
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        found = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
        self.drained = found is None
        return found


class StoppingWorker(_StopsOnSignals, Worker):
    """Each job in a forked work horse (the Procfile's worker)."""


class StoppingSimpleWorker(_StopsOnSignals, SimpleWorker):
    """Jobs in this process (tests, debugging): a first signal lets the job finish."""


def make_worker(
    connection: redis.Redis, queues: tuple[str, ...] = QUEUES, *, simple: bool = False
) -> StoppingWorker | StoppingSimpleWorker:
    """A worker on the given queues; `simple` runs jobs in-process (no fork), for tests and debugging."""
    cls = StoppingSimpleWorker if simple else StoppingWorker
    return cls([get_queue(q, connection) for q in queues], connection=connection, serializer=JSONSerializer)
