"""Webhooks end to end against the sandbox, over real HTTP both ways: registration and
repair, 10,000 deliveries with duplicates and reordering, Redis stopping mid-stream."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from flask import Flask
from sqlalchemy import select

from connector.db import session
from connector.db.models import Customer, Order, Product, Store
from connector.db.operations import WebhookInbox
from connector.runtime.embedded_redis import EmbeddedRedis
from connector.runtime.queue import connect
from platforms.shopify.subscriptions import SUBSCRIPTIONS as SHOPIFY_TOPICS
from platforms.woocommerce.subscriptions import SUBSCRIPTIONS as WOO_TOPICS
from sandbox.generator import Sizes
from sandbox.world import World
from tests.rig import SHOP, Rig, build
from webhooks import subscriptions

pytestmark = pytest.mark.slow


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    yield from build(app_env, World(seed=11, sizes=Sizes(60, 150, 30)), redis_url)


def repair_both(rig: Rig) -> None:
    settings, vault = rig.app.extensions["crm.settings"], rig.app.extensions["crm.vault"]
    with rig.app.app_context(), session(rig.app) as s, s.begin():
        for store_id in (rig.shop.id, rig.site.id):
            store = s.get(Store, store_id)
            assert store is not None
            assert subscriptions.repair(settings, vault, store).ok


def test_registration_check_and_repair(rig: Rig) -> None:
    settings, vault = rig.app.extensions["crm.settings"], rig.app.extensions["crm.vault"]
    with rig.app.app_context(), session(rig.app) as s:
        shop, site = s.get(Store, rig.shop.id), s.get(Store, rig.site.id)
        assert shop is not None and site is not None
        assert set(subscriptions.check(settings, vault, shop).missing) == set(SHOPIFY_TOPICS)
        assert set(subscriptions.check(settings, vault, site).missing) == set(WOO_TOPICS)
    repair_both(rig)
    world = rig.sandbox.world
    world.shops[SHOP].subscriptions.pop(next(iter(world.shops[SHOP].subscriptions)))  # Shopify dropped one
    next(iter(world.woo["site-1"].webhooks.values())).status = "disabled"  # WooCommerce disabled one
    with rig.app.app_context(), session(rig.app) as s:
        shop, site = s.get(Store, rig.shop.id), s.get(Store, rig.site.id)
        assert shop is not None and site is not None
        assert len(subscriptions.check(settings, vault, shop).missing) == 1
        assert len(subscriptions.check(settings, vault, site).disabled) == 1
    repair_both(rig)
    assert len(world.woo["site-1"].webhooks) == len(WOO_TOPICS)


def crm_state(app: Flask, model: Any, store_id: int, columns: tuple[str, ...]) -> dict[int, Any]:
    with app.extensions["crm.engine"].connect() as conn:
        rows = conn.execute(select(model).where(model.store_id == store_id))
        return {
            r.platform_id: (None if r.deleted_at else tuple(getattr(r, c) for c in columns)) for r in rows
        }


def sandbox_state(world: World, platform: str, entity: str, ids: set[int], render: Any) -> dict[int, Any]:
    target = world.shops[SHOP] if platform == "shopify" else world.woo["site-1"]
    store = target.store
    out = {}
    for rec_id in ids:
        index = store.index_of(entity, rec_id)
        assert index is not None
        live = store.exists(entity, index) and index not in store.overlays[entity].trashed
        out[rec_id] = render(store.get(entity, index)) if live else None
    return out


def test_ten_thousand_deliveries_with_duplicates_and_reordering(rig: Rig) -> None:
    repair_both(rig)
    requests.post(
        f"{rig.sandbox.url}/_sandbox/faults",
        json={"webhook_duplicate": 0.3, "webhook_reorder": 0.3},
        timeout=5,
    )
    touched: dict[tuple[str, str], set[int]] = {}
    plan = [("create", 200), *[("update", 200)] * 6, ("delete", 40), ("update", 200)]
    for op, count in plan:  # each round touches every platform and entity
        for platform in ("shopify", "woocommerce"):
            for entity in ("customers", "orders", "products"):
                touched.setdefault((platform, entity), set()).update(rig.mutate(platform, entity, op, count))
    rig.settle()
    world = rig.sandbox.world
    assert world.dispatcher.sent >= 10_000, world.dispatcher.sent
    from decimal import Decimal

    checks = {
        ("shopify", "orders"): (
            Order,
            rig.shop.id,
            ("total_price", "financial_status"),
            lambda r: (
                Decimal(r.data["total"]).quantize(Decimal("0.0001")),
                {
                    "voided": "voided",
                    "partially_refunded": "partially_refunded",
                    "paid": "paid",
                    "pending": "pending",
                }[_financial(r.data)],
            ),
        ),
        ("shopify", "customers"): (
            Customer,
            rig.shop.id,
            ("email", "first_name"),
            lambda r: (r.data["email"], r.data["first_name"]),
        ),
        ("shopify", "products"): (Product, rig.shop.id, ("title",), lambda r: (r.data["title"],)),
        ("woocommerce", "customers"): (Customer, rig.site.id, ("email",), lambda r: (r.data["email"],)),
        ("woocommerce", "products"): (Product, rig.site.id, ("title",), lambda r: (r.data["title"],)),
        ("woocommerce", "orders"): (
            Order,
            rig.site.id,
            ("total_price",),
            lambda r: (Decimal(r.data["total"]).quantize(Decimal("0.0001")),),
        ),
    }
    for (platform, entity), (model, store_id, columns, render) in checks.items():
        ids = touched[(platform, entity)]
        want = sandbox_state(world, platform, entity, ids, render)
        have = crm_state(rig.app, model, store_id, columns)
        assert {i: have.get(i, "absent") for i in ids} == want, (platform, entity)


def _financial(o: dict[str, Any]) -> str:
    from sandbox.shopify.shapes import financial_status

    return financial_status(o)


def test_redis_stopping_mid_stream_loses_nothing_and_repeats_nothing(
    app_env: dict[str, str], tmp_path: Path, redis_conn: redis.Redis
) -> None:
    own = EmbeddedRedis(tmp_path / "own-redis").start()
    try:
        for rig in build(app_env, World(seed=12, sizes=Sizes(40, 80, 20)), own.url):
            repair_both(rig)
            first = rig.mutate("shopify", "customers", "update", 20)
            assert rig.sandbox.world.dispatcher.wait_idle(timeout=60)
            own.stop()  # Redis goes away mid-stream
            second = rig.mutate("shopify", "customers", "update", 20)
            assert rig.sandbox.world.dispatcher.wait_idle(timeout=60)
            own.start()
            time.sleep(0.2)
            rig.redis = connect(own.url)
            rig.settle()
            with rig.app.extensions["crm.engine"].connect() as conn:
                inbox = conn.execute(select(WebhookInbox.status, WebhookInbox.attempts)).all()
            assert inbox and all(status == "done" and attempts == 1 for status, attempts in inbox)
            have = crm_state(rig.app, Customer, rig.shop.id, ("email",))
            assert set(first) | set(second) <= set(have)
    finally:
        own.stop()


def test_connecting_from_the_command_line_can_register_webhooks(
    app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str
) -> None:
    from click.testing import CliRunner

    from connector.cli import cli

    for rig in build(app_env, World(seed=13, sizes=Sizes(10, 10, 5)), redis_url):
        site = rig.sandbox.world.manifest()["woocommerce"]["stores"][0]
        env = {**app_env, "REDIS_URL": redis_url, "APP_URL": rig.url}
        result = CliRunner(env=env).invoke(
            cli,
            [
                "stores",
                "add-woocommerce",
                "--url",
                site["url"],
                "--key",
                site["consumer_key"],
                "--secret",
                site["consumer_secret"],
                "--account",
                "test",
                "--webhooks",
            ],
        )
        assert result.exit_code == 0, result.output
        assert "(account 'test')" in result.output  # the rig made it; this command did not
        assert f"{len(WOO_TOPICS)} webhook subscriptions healthy; all needed are there" in (
            result.output
        )  # once, not "healthy, healthy" (issue 14, item 8)
        hooks = rig.sandbox.world.woo["site-1"].webhooks.values()
        assert {h.topic for h in hooks} == set(WOO_TOPICS)
        assert all(h.delivery_url.startswith(rig.url) for h in hooks)


def test_a_revoked_key_marks_the_store_for_reconnection_visibly(rig: Rig) -> None:
    from click.testing import CliRunner

    from connector.cli import cli

    requests.post(f"{rig.sandbox.url}/_sandbox/faults", json={"revoke": "site-1"}, timeout=5)
    env = {
        "DATABASE_URL": str(rig.app.extensions["crm.settings"].database_url),
        "REDIS_URL": rig.app.extensions["crm.redis_url"],
        "APP_URL": rig.url,
        "CONNECTOR_INSTANCE_PATH": str(rig.app.extensions["crm.settings"].instance_path),
        "SECRET_KEY": rig.app.config["SECRET_KEY"],
        "CONNECTOR_ENCRYPTION_KEY": ",".join(rig.app.extensions["crm.settings"].encryption_keys),
    }
    result = CliRunner(env=env).invoke(cli, ["webhooks", "check", str(rig.site.id)])
    assert result.exit_code != 0
    with session(rig.app) as s:
        store = s.get(Store, rig.site.id)
        assert store is not None and store.status == "needs_reauth"
        assert "credentials" in (store.status_reason or "")
