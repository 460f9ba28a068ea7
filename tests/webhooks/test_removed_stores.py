"""A removed store leaves nothing that a later store can inherit: its id is never given
again, and its deliveries, jobs and cached secret outside the database go with it."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from connector import create_app
from connector.accounts.stores import account_named, connect_store, remove_store, webhook_secret
from connector.db import session
from connector.db.models import Customer, Store
from connector.db.operations import WebhookInbox
from tests.builders import fixture
from tests.webhooks.conftest import Platforms, Stores, count, post_woo, work
from webhooks.inbox import SPOOL_KEY
from webhooks.process import process_inbox, sweep

DOWN = "postgresql://postgres@127.0.0.1:1/test"  # a database nobody answers at


def _remove(app: Flask, store_id: int) -> None:
    from connector.runtime.queue import get_redis

    with session(app) as s, s.begin():
        removed = remove_store(s, s.get_one(Store, store_id))
    removed.forget(get_redis(app))


def _add_site(app: Flask, domain: str, account: str = "other") -> Stores:
    vault = app.extensions["crm.vault"]
    with session(app) as s, s.begin():
        site = connect_store(
            s,
            vault,
            account=account_named(s, account),
            platform="woocommerce",
            domain=domain,
            credentials={"consumer_key": "ck2", "consumer_secret": "cs2"},
        )
        return Stores(0, site.id, site.store_key, webhook_secret(vault, site))


def _emails_of(app: Flask, store_id: int) -> set[Any]:
    with app.extensions["crm.engine"].connect() as conn:
        return set(conn.execute(select(Customer.email).where(Customer.store_id == store_id)).scalars())


def test_a_store_added_after_the_newest_was_removed_gets_a_new_id(hook_app: Flask, stores: Stores) -> None:
    # given the newest store (the WooCommerce site) is removed
    _remove(hook_app, stores.woo_id)
    # when another store is connected
    later = _add_site(hook_app, "https://later.example")
    # then it has an id never given before, on SQLite as on PostgreSQL
    assert later.woo_id > stores.woo_id


def test_deliveries_spooled_for_a_removed_store_never_reach_the_next_one(
    hook_app: Flask, stores: Stores, hook_env: dict[str, str], redis_conn: redis.Redis
) -> None:
    # given store A's delivery was spooled while the database was down (A's secret cached in Redis)
    first = fixture("woocommerce/rest-customer.json")
    assert post_woo(hook_app, stores, "customer.created", first).status_code == 200
    work(hook_app, redis_conn)
    broken = create_app({**hook_env, "DATABASE_URL": DOWN})
    spooled = {**first, "id": 4242, "email": "spooled-for-a@example.com"}
    with broken.app_context():
        assert post_woo(broken, stores, "customer.created", spooled).status_code == 200
    assert redis_conn.llen(SPOOL_KEY) == 1
    # when A is removed before the spool is drained, and store B (another merchant) is connected
    _remove(hook_app, stores.woo_id)
    b = _add_site(hook_app, "https://b.example")
    # then the sweeper drops A's delivery, and B holds nothing of A's
    assert sweep()["spooled_moved"] == 0
    work(hook_app, redis_conn)
    assert redis_conn.llen(SPOOL_KEY) == 0
    assert _emails_of(hook_app, b.woo_id) == set()
    assert count(hook_app, WebhookInbox) == 0


def test_a_removed_stores_address_is_refused_even_while_the_database_is_down(
    hook_app: Flask, stores: Stores, hook_env: dict[str, str], redis_conn: redis.Redis
) -> None:
    # given A's secret was cached in Redis by a delivery, then A was removed and B connected
    first = fixture("woocommerce/rest-customer.json")
    assert post_woo(hook_app, stores, "customer.created", first).status_code == 200
    _remove(hook_app, stores.woo_id)
    b = _add_site(hook_app, "https://b.example")
    # when a delivery signed with A's secret comes to A's address while the database is down
    broken = create_app({**hook_env, "DATABASE_URL": DOWN})
    with broken.app_context():
        answer = post_woo(broken, stores, "customer.created", {**first, "email": "late@example.com"})
    # then it is not accepted (A's cached secret went with A), and nothing reaches B
    assert answer.status_code == 503
    assert redis_conn.llen(SPOOL_KEY) == 0
    sweep()
    work(hook_app, redis_conn)
    assert _emails_of(hook_app, b.woo_id) == set()


def test_a_removed_stores_queued_jobs_are_withdrawn_and_a_stale_one_does_nothing(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    from rq.job import Job

    # given a delivery for A waits in the inbox and A's inbox job is queued
    assert (
        post_woo(hook_app, stores, "customer.created", fixture("woocommerce/rest-customer.json")).status_code
        == 200
    )
    assert Job.exists(f"inbox-{stores.woo_id}", connection=redis_conn)
    # and a sync step of A's is queued, and one of the other store's
    from sync.jobs import request_sync

    sync_job = request_sync(hook_app, stores.woo_id, "customers")
    other_job = request_sync(hook_app, stores.shopify_id, "customers")
    assert sync_job and other_job and Job.exists(sync_job, connection=redis_conn)
    # when A is removed
    _remove(hook_app, stores.woo_id)
    # then its queued jobs are gone (the other store's stays), and a stale one that still ran
    # finds no store, does nothing, says so
    assert not Job.exists(f"inbox-{stores.woo_id}", connection=redis_conn)
    assert not Job.exists(sync_job, connection=redis_conn) and Job.exists(other_job, connection=redis_conn)
    with caplog.at_level(logging.INFO):
        assert process_inbox(stores.woo_id) == {}
    assert any(r.getMessage() == "inbox job for a store that is gone; nothing done" for r in caplog.records)


def test_a_delivery_spooled_for_a_store_removed_while_redis_was_down_is_dropped_by_the_sweeper(
    hook_app: Flask,
    stores: Stores,
    hook_env: dict[str, str],
    redis_conn: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from connector.runtime.queue import connect

    # given A's delivery was spooled, then A was removed while Redis could not be reached
    first = fixture("woocommerce/rest-customer.json")
    assert post_woo(hook_app, stores, "customer.created", first).status_code == 200
    work(hook_app, redis_conn)
    broken = create_app({**hook_env, "DATABASE_URL": DOWN})
    with broken.app_context():
        assert post_woo(broken, stores, "customer.created", {**first, "id": 4242}).status_code == 200
    with session(hook_app) as s, s.begin():
        removed = remove_store(s, s.get_one(Store, stores.woo_id))
    with caplog.at_level(logging.WARNING):
        removed.forget(connect("redis://127.0.0.1:1/0"))  # nobody answers there
    assert any(r.getMessage() == "removed store not forgotten in redis: unreachable" for r in caplog.records)
    b = _add_site(hook_app, "https://b.example")
    # when the sweeper drains the spool
    with caplog.at_level(logging.WARNING):
        assert sweep()["spooled_moved"] == 0
    # then A's delivery is dropped and said so, and the spool is not stuck behind it
    assert any(r.getMessage() == "spooled delivery dropped: its store was removed" for r in caplog.records)
    assert redis_conn.llen(SPOOL_KEY) == 0
    work(hook_app, redis_conn)
    assert _emails_of(hook_app, b.woo_id) == set() and count(hook_app, WebhookInbox) == 0


def test_a_sync_job_for_a_removed_store_does_nothing_and_says_so(
    hook_app: Flask, stores: Stores, caplog: pytest.LogCaptureFixture
) -> None:
    from sync.engine import run_step

    # given A is removed after a sync step was asked for
    _remove(hook_app, stores.woo_id)
    # when the stale step runs
    with caplog.at_level(logging.INFO):
        result = run_step(hook_app, stores.woo_id, "customers", "stale-owner")
    # then it touches nothing and the log says why
    assert (result.outcome, result.error) == ("skipped", "the store was removed")
    assert any(r.getMessage() == "sync job for a store that is gone; nothing done" for r in caplog.records)
    with hook_app.extensions["crm.engine"].connect() as conn:
        from connector.db.operations import SyncRun, SyncState

        assert (
            conn.execute(select(SyncState)).first() is None and conn.execute(select(SyncRun)).first() is None
        )


def test_a_shop_removed_moments_ago_is_not_found_in_the_receivers_memory_as_the_next_store(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    from tests.webhooks.conftest import post_shopify

    vault = hook_app.extensions["crm.vault"]

    def add_shop(domain: str, account: str) -> int:
        with session(hook_app) as s, s.begin():
            shop = connect_store(
                s,
                vault,
                account=account_named(s, account),
                platform="shopify",
                domain=domain,
                credentials={"access_token": "shpat_y"},
            )
            return shop.id

    # given shop C (the newest store) had a delivery, so the receiver remembers its id
    c = add_shop("c.myshopify.com", "merchant-c")
    payload = fixture("shopify/webhook-customers-create.json")
    assert post_shopify(hook_app, "customers/create", payload, shop="c.myshopify.com").status_code == 200
    work(hook_app, redis_conn)
    # when C is removed and another merchant's shop D is connected at once
    _remove(hook_app, c)
    d = add_shop("d.myshopify.com", "merchant-d")
    # then a delivery still signed for C is not taken as D's
    later = {**payload, "id": 99, "email": "for-c@example.com"}
    assert post_shopify(hook_app, "customers/create", later, shop="c.myshopify.com").status_code == 404
    work(hook_app, redis_conn)
    assert d != c and _emails_of(hook_app, d) == set()


def test_a_shop_erased_by_housekeeping_has_its_queued_sync_withdrawn(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, platforms: Platforms
) -> None:
    from rq.job import Job

    from sync.housekeeping import erase_uninstalled_shops
    from sync.jobs import request_sync
    from tests.webhooks.test_uninstalled import uninstall

    # given a sync step of the shop is queued, and the shop was uninstalled past the retention
    job_id = request_sync(hook_app, stores.shopify_id, "customers")
    assert job_id and Job.exists(job_id, connection=redis_conn)
    uninstall(hook_app, redis_conn, 8, stores.shopify_id, platforms)
    # when housekeeping erases it
    assert erase_uninstalled_shops() == 1
    # then the queued step went with it
    assert not Job.exists(job_id, connection=redis_conn)
