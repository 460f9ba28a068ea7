"""An uninstalled shop's data does not outlive its uninstall: Shopify's `shop/redact` erases
it (48 hours after), and if that delivery never comes, housekeeping erases it after
CONNECTOR_UNINSTALLED_RETENTION_DAYS, with a receipt; a shop installed again is kept."""

from __future__ import annotations

from datetime import timedelta

import redis
from flask import Flask
from sqlalchemy import select, update

from connector.db import get_engine
from connector.db.models import Customer, Store
from connector.db.operations import PrivacyRequest
from connector.db.types import utcnow
from sync.housekeeping import erase_uninstalled_shops
from tests.builders import fixture
from tests.webhooks.conftest import Platforms, Stores, count, one, post_shopify, work


def uninstall(app: Flask, conn: redis.Redis, days_ago: float, store_id: int, platforms: Platforms) -> None:
    """app/uninstalled arrives, and the shop no longer accepts the app's token."""
    platforms.shopify_token_valid = False
    post_shopify(app, "app/uninstalled", fixture("shopify/webhook-app-uninstalled.json"))
    work(app, conn)
    with get_engine(app).begin() as db:
        since = utcnow() - timedelta(days=days_ago)
        db.execute(update(Store).where(Store.id == store_id).values(uninstalled_at=since))


def test_a_shop_uninstalled_past_the_retention_is_erased_with_a_receipt(
    hook_app: Flask, redis_conn: redis.Redis, stores: Stores, platforms: Platforms
) -> None:
    # given a shop with a customer, uninstalled eight days ago, whose shop/redact never came
    post_shopify(hook_app, "customers/create", fixture("shopify/webhook-customers-create.json"))
    work(hook_app, redis_conn)
    assert count(hook_app, Customer) == 1
    uninstall(hook_app, redis_conn, 8, stores.shopify_id, platforms)
    # when housekeeping runs
    with hook_app.app_context():
        assert erase_uninstalled_shops() == 1
    # then the shop and its records are gone, the WooCommerce site is untouched, and a receipt says so
    assert one(hook_app, select(Store.id).where(Store.id == stores.shopify_id)) is None
    assert one(hook_app, select(Store.id).where(Store.id == stores.woo_id)) is not None
    assert count(hook_app, Customer) == 0
    assert one(hook_app, select(PrivacyRequest.kind)).kind == "shop_redact"
    assert count(hook_app, PrivacyRequest) == 1


def test_a_recent_uninstall_or_a_reinstall_keeps_the_data(
    hook_app: Flask, redis_conn: redis.Redis, stores: Stores, platforms: Platforms
) -> None:
    post_shopify(hook_app, "customers/create", fixture("shopify/webhook-customers-create.json"))
    work(hook_app, redis_conn)
    uninstall(hook_app, redis_conn, 2, stores.shopify_id, platforms)  # shop/redact may still come
    with hook_app.app_context():
        assert erase_uninstalled_shops() == 0
    with get_engine(hook_app).begin() as db:  # installed again, after the retention had passed
        db.execute(
            update(Store)
            .where(Store.id == stores.shopify_id)
            .values(status="active", uninstalled_at=utcnow() - timedelta(days=30))
        )
    with hook_app.app_context():
        assert erase_uninstalled_shops() == 0
    assert count(hook_app, Customer) == 1
    assert count(hook_app, PrivacyRequest) == 0
