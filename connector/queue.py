"""Redis and the RQ queues: one connection per app, jobs as JSON, workers in app context.

Queues: `webhooks` (inbox processing), `sync` (backfill, re-sync, reconciliation) and
`notifications` (outbox sending). Jobs carry ids as JSON (RQ's JSONSerializer), never
pickled objects, so nothing that reaches Redis can execute code in a worker.
"""

from __future__ import annotations

import gc
from typing import Any

import redis
from flask import Flask, current_app
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.worker import BaseWorker, SimpleWorker, Worker

from connector.config import Settings
from connector.embedded_redis import EmbeddedRedis

QUEUES = ("webhooks", "sync", "notifications")


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


def make_worker(
    connection: redis.Redis, queues: tuple[str, ...] = QUEUES, *, simple: bool = False
) -> BaseWorker:
    """A worker on the given queues; `simple` runs jobs in-process (no fork), for tests and debugging."""
    cls: type[BaseWorker] = SimpleWorker if simple else Worker
    return cls([get_queue(q, connection) for q in queues], connection=connection, serializer=JSONSerializer)
