"""A store's inbox job is never left for dead: one whose retries ran out, one whose worker
was killed while running it, or before its work horse started it, and one stopped or
canceled is replaced by the next delivery or the sweeper, and counted on /metrics; while
one truly waits, a burst of deliveries still makes exactly one. Real Redis, real RQ."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
import requests
import responses
from flask import Flask
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import select, update

from connector.db.operations import WebhookInbox
from connector.db.types import utcnow
from connector.runtime.queue import get_queue, make_worker
from connector.runtime.waiting import TAKEN_GRACE_S
from tests.builders import fixture
from tests.test_metrics import scrape
from tests.webhooks.conftest import Stores, post_shopify, work
from webhooks import inbox
from webhooks.process import sweep


@pytest.fixture
def shop_online() -> Iterator[list[bool]]:
    """The shop's GraphQL endpoint at the network edge: unreachable while the flag is False;
    reachable, it says the deleted customer is gone (the deletion is confirmed)."""
    online = [True]

    def graphql(request: Any) -> tuple[int, dict[str, str], str]:
        if not online[0]:
            raise requests.ConnectionError("connection refused")
        return 200, {}, json.dumps({"data": {"node": None}})

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, re.compile(r"https://[^/]+/admin/api/[^/]+/graphql\.json"), graphql)
        yield online


def an_order(app: Flask, n: int) -> int:
    payload: dict[str, Any] = fixture("shopify/webhook-orders-create.json")
    payload.update(id=5_000_000 + n, customer=None)
    payload.pop("admin_graphql_api_id", None)
    return post_shopify(app, "orders/create", payload, webhook_id=f"order-{n}").status_code


def statuses(app: Flask) -> list[str]:
    with app.extensions["crm.engine"].connect() as conn:
        return list(conn.execute(select(WebhookInbox.status).order_by(WebhookInbox.id)).scalars())


def inbox_job(conn: redis.Redis, store_id: int) -> Job | None:
    key = f"inbox-{store_id}"
    return Job.fetch(key, connection=conn, serializer=JSONSerializer) if Job.exists(key, conn) else None


def retries_fall_due(conn: redis.Redis) -> None:
    """What RQ's scheduler does when a retry's time comes, done now."""
    queue, registry = get_queue("webhooks", conn), ScheduledJobRegistry("webhooks", connection=conn)
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=conn, serializer=JSONSerializer)
        registry.remove(job)
        queue.enqueue_job(job)


def take(conn: redis.Redis) -> Job:
    """A worker takes the next webhooks job off its queue, as RQ's workers do."""
    taken = Queue.dequeue_any([get_queue("webhooks", conn)], None, connection=conn, serializer=JSONSerializer)
    assert taken is not None
    return taken[0]


def replaced(app: Flask, store_id: int, status: str) -> float:
    name = ("crm_webhook_inbox_jobs_replaced_total", (("status", status), ("store_id", str(store_id))))
    return scrape(app).get(name, 0)


def test_a_store_whose_inbox_job_ran_out_of_retries_is_processed_again(
    hook_app: Flask, redis_conn: redis.Redis, stores: Stores, shop_online: list[bool]
) -> None:
    # given a customer deletion that waits for the shop's word while the shop is unreachable,
    # and the store's inbox job failing every one of its retries
    shop_online[0] = False
    deletion = fixture("shopify/webhook-customers-delete.json")
    assert post_shopify(hook_app, "customers/delete", deletion).status_code == 200
    for _ in range(1 + len(inbox.RETRY.intervals)):
        work(hook_app, redis_conn)
        retries_fall_due(redis_conn)
    failed = inbox_job(redis_conn, stores.shopify_id)
    assert failed is not None and failed.get_status() == JobStatus.FAILED  # RQ keeps it a year
    assert statuses(hook_app) == ["pending"]
    oldest = ("crm_webhook_pending_oldest_seconds", (("store_id", str(stores.shopify_id)),))
    assert oldest in scrape(hook_app)  # the store's stalled inbox shows on /metrics
    # when the shop is back and a new delivery arrives
    shop_online[0] = True
    assert an_order(hook_app, 1) == 200
    # then a fresh job is queued in the failed one's place, counted, and drains everything
    assert get_queue("webhooks", redis_conn).count == 1
    assert replaced(hook_app, stores.shopify_id, "failed") == 1
    work(hook_app, redis_conn)
    assert statuses(hook_app) == ["done", "done"]
    assert inbox_job(redis_conn, stores.shopify_id) is None
    assert oldest not in scrape(hook_app)


def test_the_sweeper_replaces_a_failed_inbox_job_when_no_delivery_comes(
    hook_app: Flask, redis_conn: redis.Redis, stores: Stores, shop_online: list[bool]
) -> None:
    # given a deletion pending behind an inbox job that failed all its retries
    shop_online[0] = False
    assert (
        post_shopify(
            hook_app, "customers/delete", fixture("shopify/webhook-customers-delete.json")
        ).status_code
        == 200
    )
    for _ in range(1 + len(inbox.RETRY.intervals)):
        work(hook_app, redis_conn)
        retries_fall_due(redis_conn)
    assert get_queue("webhooks", redis_conn).count == 0
    # when the shop is back and the sweeper runs once the delivery is old enough
    shop_online[0] = True
    with hook_app.extensions["crm.engine"].begin() as conn:
        conn.execute(update(WebhookInbox).values(received_at=utcnow() - timedelta(minutes=1)))
    sweep()
    # then the store is enqueued again and its delivery applied
    assert get_queue("webhooks", redis_conn).count == 1
    work(hook_app, redis_conn)
    assert statuses(hook_app) == ["done"]


def test_an_inbox_job_whose_worker_was_killed_while_running_it_is_replaced(
    hook_app: Flask, redis_conn: redis.Redis, stores: Stores
) -> None:
    # given a delivery, and its job taken and started by a worker (its horse marked it
    # started) that is then killed: RQ calls it "started" until its maintenance
    assert an_order(hook_app, 1) == 200
    job = take(redis_conn)
    worker = make_worker(redis_conn, ("webhooks",))
    worker.prepare_execution(job)
    worker.prepare_job_execution(job, remove_from_intermediate_queue=True)
    assert job.get_status() == JobStatus.STARTED
    # when deliveries arrive while its heartbeat is live: nothing more is enqueued
    assert an_order(hook_app, 2) == 200
    assert get_queue("webhooks", redis_conn).count == 0
    # when the sweeper looks after its heartbeat lapsed (an hour on)
    inbox.request_processing(redis_conn, stores.shopify_id, now=time.time() + 3600)
    # then a fresh job is queued, counted as replacing an orphan, and drains the inbox
    assert get_queue("webhooks", redis_conn).count == 1
    assert replaced(hook_app, stores.shopify_id, "orphaned") == 1
    work(hook_app, redis_conn)
    assert statuses(hook_app) == ["done", "done"]


def test_an_inbox_job_taken_by_a_worker_killed_before_its_horse_started_is_replaced(
    hook_app: Flask, redis_conn: redis.Redis, stores: Stores
) -> None:
    # given a delivery whose job a worker took off the queue and was killed before it
    # registered the job's execution (RQ still says "queued", and will for ten minutes)
    assert an_order(hook_app, 1) == 200
    job = take(redis_conn)
    assert job.get_status() == JobStatus.QUEUED
    # when more deliveries come at once: the job may be a moment from starting, so nothing
    assert an_order(hook_app, 2) == 200
    assert get_queue("webhooks", redis_conn).count == 0
    # when it is still in that state past the grace
    inbox.request_processing(redis_conn, stores.shopify_id, now=time.time() + TAKEN_GRACE_S + 1)
    # then it is replaced, and a worker drains the inbox
    assert get_queue("webhooks", redis_conn).count == 1
    assert replaced(hook_app, stores.shopify_id, "orphaned") == 1
    work(hook_app, redis_conn)
    assert statuses(hook_app) == ["done", "done"]


def test_a_canceled_inbox_job_is_replaced(hook_app: Flask, redis_conn: redis.Redis, stores: Stores) -> None:
    # given a delivery whose job an operator canceled (RQ keeps canceled jobs' keys)
    assert an_order(hook_app, 1) == 200
    job = inbox_job(redis_conn, stores.shopify_id)
    assert job is not None
    job.cancel()
    assert get_queue("webhooks", redis_conn).count == 0
    # when the next delivery arrives
    assert an_order(hook_app, 2) == 200
    # then it is replaced and both deliveries are applied
    assert replaced(hook_app, stores.shopify_id, "canceled") == 1
    work(hook_app, redis_conn)
    assert statuses(hook_app) == ["done", "done"]


def test_a_burst_of_deliveries_makes_one_waiting_job(
    hook_app: Flask, redis_conn: redis.Redis, stores: Stores
) -> None:
    # given a store's job waiting on its queue
    assert an_order(hook_app, 0) == 200
    # when a burst of deliveries arrives, and the sweeper runs in between
    for n in range(1, 40):
        assert an_order(hook_app, n) == 200
        if n % 10 == 0:
            inbox.request_processing(redis_conn, stores.shopify_id)
    # then one job waits, nothing was counted as replaced, and it drains all forty
    assert get_queue("webhooks", redis_conn).count == 1
    assert replaced(hook_app, stores.shopify_id, "failed") == 0
    work(hook_app, redis_conn)
    assert statuses(hook_app) == ["done"] * 40
