"""Queues and scheduled work: JSON jobs, unique ids, a real worker in app context, cron slots."""

from __future__ import annotations

import json
import zlib
from datetime import timedelta

import redis
from flask import Flask
from rq.job import Job
from sqlalchemy import insert, select

from connector.db.operations import WebhookInbox
from connector.db.types import utcnow
from connector.runtime.queue import enqueue, get_queue, make_worker
from sync.cron import make_scheduler, schedule
from tests.builders import make_store


def test_jobs_are_stored_as_json_never_pickle(app: Flask, redis_conn: redis.Redis) -> None:
    job = enqueue(redis_conn, "sync", "sync.housekeeping.prune_inbox")
    assert job is not None
    stored = redis_conn.hget(f"rq:job:{job.id}", "data")
    assert isinstance(stored, bytes)
    assert json.loads(zlib.decompress(stored))[0] == "sync.housekeeping.prune_inbox"  # rq zlib-compresses


def test_a_unique_job_id_is_enqueued_once(app: Flask, redis_conn: redis.Redis) -> None:
    first = enqueue(redis_conn, "sync", "sync.housekeeping.prune_inbox", job_id="sync-store-1-orders")
    second = enqueue(redis_conn, "sync", "sync.housekeeping.prune_inbox", job_id="sync-store-1-orders")
    assert first is not None and second is None
    assert get_queue("sync", redis_conn).count == 1


def test_a_worker_runs_housekeeping_and_prunes_only_old_processed_deliveries(
    app: Flask, redis_conn: redis.Redis
) -> None:
    # given three deliveries: old and done, old but still pending, recent and done
    engine = app.extensions["crm.engine"]
    old, recent = utcnow() - timedelta(days=30), utcnow() - timedelta(hours=1)
    with engine.begin() as conn:
        store_id = make_store(conn)
        for key, status, at in (("a", "done", old), ("b", "pending", old), ("c", "done", recent)):
            conn.execute(
                insert(WebhookInbox).values(
                    store_id=store_id,
                    platform="shopify",
                    topic="orders/create",
                    dedup_key=key,
                    body=b"{}",
                    status=status,
                    received_at=at,
                    processed_at=at if status == "done" else None,
                )
            )
    # when a real worker processes the job
    job = enqueue(redis_conn, "sync", "sync.housekeeping.prune_inbox")
    assert job is not None
    make_worker(redis_conn, ("sync",), simple=True).work(burst=True)
    # then
    assert (
        Job.fetch(
            job.id, connection=redis_conn, serializer=get_queue("sync", redis_conn).serializer
        ).return_value()
        == 1
    )
    with engine.connect() as conn:
        assert sorted(conn.execute(select(WebhookInbox.dedup_key)).scalars()) == ["b", "c"]


def test_cron_enqueues_each_slot_once_even_with_two_schedulers(app: Flask, redis_conn: redis.Redis) -> None:
    first, second = make_scheduler(redis_conn), make_scheduler(redis_conn)
    entries = schedule()
    assert len(first.enqueue_jobs()) == len(entries)
    assert len(second.enqueue_jobs()) == len(entries)  # due for it too, but each slot's job id exists
    queued = sum(get_queue(q, redis_conn).count for q in {e.queue for e in entries})
    assert queued == len(entries)
    assert first.enqueue_jobs() == []  # not due again until the interval passes
