"""Group commit: deliveries stored together are each stored once, answered for themselves,
and counted once; a group that fails as a whole is recorded one by one."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import redis
from flask import Flask
from sqlalchemy import select

from connector.db.operations import WebhookInbox
from tests.builders import fixture
from tests.webhooks.conftest import Stores, count, post_shopify
from webhooks import grouped, inbox
from webhooks.inbox import WEBHOOK_COUNTERS


def _delivery(store_id: int, key: str) -> inbox.Delivery:
    body = json.dumps({**fixture("shopify/webhook-orders-create.json"), "id": 7}).encode()
    return inbox.Delivery(store_id, "shopify", "orders/create", key, {}, body, None)


def test_a_group_stores_each_key_once_and_counts_only_the_new(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    engine = hook_app.extensions["crm.engine"]
    inbox.record(engine, redis_conn, _delivery(stores.shopify_id, "a"), spool_as=None)
    keys = ["a", "b", "b", "c"]  # a: stored before; the second b repeats the first
    deliveries = [_delivery(stores.shopify_id, k) for k in keys]
    recorded = inbox.record_many(engine, redis_conn, deliveries, ["shopify:accepted"] * 4)
    assert [r.new for r in recorded] == [False, True, False, True]
    assert [r.counted for r in recorded] == [False, True, False, True]
    with engine.connect() as conn:
        stored = conn.execute(select(WebhookInbox.dedup_key).order_by(WebhookInbox.id)).scalars().all()
    assert stored == ["a", "b", "c"]
    assert redis_conn.hget(WEBHOOK_COUNTERS, "shopify:accepted") == b"2"


def test_a_group_with_a_removed_stores_delivery_answers_each_alone(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    engine = hook_app.extensions["crm.engine"]
    good = grouped._Slot(_delivery(stores.shopify_id, "kept"), None, None)
    gone = grouped._Slot(_delivery(10**9, "orphan"), None, None)  # no such store: the insert is refused
    grouped._store(engine, redis_conn, [good, gone])
    assert good.outcome().new
    assert isinstance(gone.error, inbox.StoreGone)
    assert count(hook_app, WebhookInbox) == 1


def test_concurrent_deliveries_are_each_acknowledged_once_stored(hook_app: Flask, stores: Stores) -> None:
    payload = fixture("shopify/webhook-orders-create.json")

    def post(i: int) -> tuple[int, str]:
        with hook_app.app_context():
            answer = post_shopify(hook_app, "orders/create", payload, webhook_id=f"id-{i % 40}")
        return answer.status_code, answer.get_json()["message"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(120)))  # each of 40 ids sent three times, at once
    assert {status for status, _ in answers} == {200}
    assert sum(message == "accepted" for _, message in answers) == 40
    assert count(hook_app, WebhookInbox) == 40
