"""After the backfill: changes made while every webhook is dropped arrive with the next
scheduled re-sync (updates through the incremental pages, deletions through the id
reconciliation); 429 and 5xx storms slow a sync down but never change its result."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from sqlalchemy import select, update
from woocommerce import API

from connector.db import get_engine
from connector.db.models import Order
from connector.db.operations import SyncRun, SyncState
from connector.db.types import utcnow
from connector.runtime.queue import make_worker
from platforms.shopify.client import ShopifyClient
from sync.engine import ENTITIES, run_step
from sync.jobs import schedule_syncs
from tests.rig import SHOP, Rig
from tests.sync.truth import crm_facts, shopify_truth, woo_truth

pytestmark = pytest.mark.slow


def until_done(rig: Rig, store_id: int, entity: str) -> list[str]:
    outcomes = []
    with rig.app.app_context():
        for _ in range(200):
            result = run_step(rig.app, store_id, entity, "test-owner")
            outcomes.append(result.outcome)
            if result.outcome not in ("retry", "paused"):
                break
    assert outcomes[-1] == "done", outcomes
    return outcomes


def control(rig: Rig, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(f"{rig.sandbox.url}/_sandbox/{path}", json=body, timeout=120)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def truth_of(rig: Rig, platform: str, api: Any, entity: str) -> dict[int, tuple[str, str]]:
    return shopify_truth(api, entity) if platform == "shopify" else woo_truth(api, entity)


def shop_backfilled_then_changed(rig: Rig, orders: int) -> int:
    """The shop backfilled, then `orders` orders updated with every webhook dropped; the
    number of bulk exports the shop had run before the changes."""
    for entity in ENTITIES:
        until_done(rig, rig.shop.id, entity)
    exports = len(rig.sandbox.world.shops[SHOP].bulk_ops)
    control(rig, "faults", {"webhook_drop": 1})
    body = {"platform": "shopify", "store": SHOP, "entity": "orders", "op": "update", "count": orders}
    control(rig, "mutate", body)
    return exports


def time_passes(rig: Rig, store_id: int) -> None:
    """The re-sync interval elapses (instead of waiting for it)."""
    with get_engine(rig.app).begin() as conn:
        conn.execute(
            update(SyncState)
            .where(SyncState.store_id == store_id)
            .values(last_synced_at=utcnow() - timedelta(days=1))
        )


@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_changes_with_every_webhook_dropped_arrive_with_the_next_scheduled_resync(
    rig: Rig, platform: str, shopify_api: ShopifyClient, woo_api: API
) -> None:
    store_id, name = (rig.shop.id, SHOP) if platform == "shopify" else (rig.site.id, "site-1")
    api = shopify_api if platform == "shopify" else woo_api
    for entity in ENTITIES:
        until_done(rig, store_id, entity)
    # given changes of every kind while no webhook gets through
    control(rig, "faults", {"webhook_drop": 1})
    changed: dict[str, list[int]] = {}
    for entity, op, count in [
        ("orders", "update", 6),
        ("orders", "delete", 4),
        ("orders", "create", 5),
        ("customers", "update", 3),
        ("customers", "delete", 2),
        ("products", "update", 2),
        ("products", "delete", 1),
    ]:
        body = {"platform": platform, "store": name, "entity": entity, "op": op, "count": count}
        changed[f"{entity} {op}"] = control(rig, "mutate", body)["ids"]
    assert crm_facts(rig.app, store_id, "orders") != truth_of(rig, platform, api, "orders")
    # when the schedule comes round and a worker runs what it enqueued
    time_passes(rig, store_id)
    with rig.app.app_context():
        assert schedule_syncs()["enqueued"] >= 3
        make_worker(rig.redis, ("sync",), simple=True).work(burst=True)
    # then the CRM store equals the platform again, deletions included
    for entity in ENTITIES:
        assert crm_facts(rig.app, store_id, entity) == truth_of(rig, platform, api, entity), entity
    with get_engine(rig.app).connect() as conn:
        gone = set(changed["orders delete"])
        deleted = conn.execute(
            select(Order.platform_id).where(Order.store_id == store_id, Order.deleted_at.is_not(None))
        ).scalars()
        assert gone <= set(deleted)
        kinds = {
            (r.entity, r.kind) for r in conn.execute(select(SyncRun).where(SyncRun.store_id == store_id))
        }
    assert {(e, "reconcile") for e in ENTITIES} <= kinds


def test_woocommerce_sync_under_429_and_5xx_storms_keeps_to_its_concurrency(rig: Rig, woo_api: API) -> None:
    control(rig, "faults", {"rate_429": 0.3, "rate_5xx": 0.15})
    outcomes = [o for entity in ENTITIES for o in until_done(rig, rig.site.id, entity)]
    stats = requests.get(f"{rig.sandbox.url}/_sandbox/stats", timeout=10).json()
    assert stats["injected"]["429"] > 10 and stats["injected"]["5xx"] > 5
    control(rig, "faults", {})
    for entity in ENTITIES:
        assert crm_facts(rig.app, rig.site.id, entity) == woo_truth(woo_api, entity), entity
    assert rig.sandbox.world.max_in_flight <= rig.app.extensions["crm.settings"].woo_concurrency
    assert "done" in outcomes


def test_shopify_sync_under_faults_never_overdraws_the_cost_bucket(
    rig: Rig, shopify_api: ShopifyClient
) -> None:
    exports = shop_backfilled_then_changed(rig, 200)
    control(rig, "faults", {"rate_429": 0.2, "rate_5xx": 0.1, "webhook_drop": 1})
    time_passes(rig, rig.shop.id)
    until_done(rig, rig.shop.id, "orders")
    stats = requests.get(f"{rig.sandbox.url}/_sandbox/stats", timeout=10).json()
    control(rig, "faults", {})
    assert stats["injected"]["429"] > 0
    assert stats["shops"][SHOP]["throttled"] == 0  # it waited for the bucket instead of overdrawing it
    assert len(rig.sandbox.world.shops[SHOP].bulk_ops) == exports + 1  # pages, then the id reconciliation
    assert crm_facts(rig.app, rig.shop.id, "orders") == shopify_truth(shopify_api, "orders")


def test_a_shopify_resync_with_many_changes_reads_them_by_bulk_export(
    rig: Rig, shopify_api: ShopifyClient
) -> None:
    exports = shop_backfilled_then_changed(rig, 400)
    time_passes(rig, rig.shop.id)
    until_done(rig, rig.shop.id, "orders")
    assert (
        len(rig.sandbox.world.shops[SHOP].bulk_ops) == exports + 2
    )  # the changes, then the id reconciliation
    assert crm_facts(rig.app, rig.shop.id, "orders") == shopify_truth(shopify_api, "orders")
