"""Adobe Commerce webhooks end to end, over real HTTP both ways: the sandbox's Magento store,
connected and backfilled, its public key set by `stores set-magento-webhook-key` and its hooks
subscribed to the URL that command prints; saves in the store are signed and delivered, and
the CRM holds what the store holds without a re-sync. A save whose hook is not called (a
missed delivery) is healed by the scheduled re-sync, which stays the source of truth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from click.testing import CliRunner

from connector.db.operations import WebhookInbox
from sandbox.generator import Sizes
from sandbox.world import World
from tests.rig import Rig, build
from tests.sync.test_magento_sync import assert_equal, backfill, connected, truth
from tests.sync.test_resync import control, time_passes, until_done
from tests.sync.truth import crm_facts
from tests.webhooks.conftest import count

pytestmark = pytest.mark.slow

STORE = "magento-1"
HOOKS = {
    "customers": "observer.customer_save_after_data_object",
    "orders": "observer.sales_order_save_after",
    "products": "observer.catalog_product_save_after",
}


@pytest.fixture
def mag(
    app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str, tmp_path: Path
) -> Iterator[tuple[Rig, int, dict[str, Any]]]:
    """The rig's Magento store connected, backfilled, its key set and its hooks subscribed."""
    world = World(seed=43, sizes=Sizes(customers=40, orders=120, products=16), magento_stores=1)
    for rig in build(app_env, world, redis_url):
        store_id = connected(rig)
        entry = rig.sandbox.world.manifest()["magento"]["stores"][0]
        backfill(rig, store_id)
        (tmp_path / "key.pem").write_text(entry["webhook_public_key"])
        from connector.cli import cli

        args = ["stores", "set-magento-webhook-key", str(store_id), "--key-file", str(tmp_path / "key.pem")]
        result = CliRunner(env=rig.env).invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        url = result.output.split("the URL ")[1].split()[0]
        for entity, method in HOOKS.items():
            subscribe(entry, method, url, f"crm_{entity}")
        yield rig, store_id, entry


def subscribe(entry: dict[str, Any], method: str, url: str, name: str) -> None:
    """The merchant's hook (after the save, not required), as Adobe Commerce's REST takes it."""
    hook = {
        "webhook_method": method,
        "webhook_type": "after",
        "batch_name": "crm",
        "hook_name": name,
        "url": url,
    }
    answer = requests.post(
        f"{entry['url']}/rest/V1/webhooks/subscribe",
        json={"webhook": hook | {"required": False, "timeout": 5000}},
        headers={"Authorization": f"Bearer {entry['access_token']}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def mutate(rig: Rig, entity: str, op: str, n: int) -> list[int]:
    body = {"platform": "magento", "store": STORE, "entity": entity, "op": op, "count": n}
    ids: list[int] = control(rig, "mutate", body)["ids"]
    return ids


def test_saves_in_the_store_reach_the_crm_through_signed_deliveries(
    mag: tuple[Rig, int, dict[str, Any]],
) -> None:
    rig, store_id, entry = mag
    # given saves of every kind the hooks are on
    sent = rig.sandbox.world.dispatcher.sent
    changed = {
        "customers": mutate(rig, "customers", "update", 4) + mutate(rig, "customers", "create", 2),
        "orders": mutate(rig, "orders", "update", 5) + mutate(rig, "orders", "create", 3),
        "products": mutate(rig, "products", "update", 2),
    }
    for entity, ids in changed.items():
        stale = crm_facts(rig.app, store_id, entity)
        assert any(stale.get(i) != truth(entry, entity)[i] for i in ids), entity
    # when the store delivers (signed) and a worker drains the inbox, with no re-sync
    rig.settle()
    # then every record is in the CRM as the store has it (ids, updated times, totals, lines
    # counted once); an order's new shipments and credit memos are not in its body: they
    # come with the re-sync, and those already held are kept
    for entity in changed:
        assert crm_facts(rig.app, store_id, entity) == truth(entry, entity), entity
    deliveries = rig.sandbox.world.dispatcher.sent - sent  # a parent product's save: its children's too
    assert count(rig.app, WebhookInbox) == deliveries >= sum(map(len, changed.values()))
    time_passes(rig, store_id)
    with rig.app.app_context():
        for entity in HOOKS:
            until_done(rig, store_id, entity)
    assert_equal(rig, store_id, entry)


def test_a_missed_delivery_is_healed_by_the_scheduled_resync(mag: tuple[Rig, int, dict[str, Any]]) -> None:
    rig, store_id, entry = mag
    # given a save whose delivery is lost (the hook's call fails; Commerce only logs it)
    control(rig, "faults", {"webhook_drop": 1.0})
    missed = mutate(rig, "orders", "update", 3) + mutate(rig, "customers", "update", 2)
    rig.settle()
    control(rig, "faults", {})
    assert crm_facts(rig.app, store_id, "orders") != truth(entry, "orders")
    assert count(rig.app, WebhookInbox) == 0 and missed
    # when the re-sync interval comes round
    time_passes(rig, store_id)
    with rig.app.app_context():
        for entity in ("customers", "orders", "products"):
            until_done(rig, store_id, entity)
    # then the CRM equals the store again
    assert_equal(rig, store_id, entry)


def test_a_delivery_outside_the_store_views_synced_is_removed_by_the_resync(
    app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    world = World(seed=44, sizes=Sizes(customers=40, orders=120, products=16), magento_stores=1)
    for rig in build(app_env, world, redis_url):
        # given a store synced for its EU view only, its hooks on every order save
        store_id = connected(rig, "--store-view", "eu_en")
        entry = rig.sandbox.world.manifest()["magento"]["stores"][0]
        backfill(rig, store_id)
        (tmp_path / "key.pem").write_text(entry["webhook_public_key"])
        from connector.cli import cli

        args = ["stores", "set-magento-webhook-key", str(store_id), "--key-file", str(tmp_path / "key.pem")]
        result = CliRunner(env=rig.env).invoke(cli, args, catch_exceptions=False)
        url = result.output.split("the URL ")[1].split()[0]
        subscribe(entry, HOOKS["orders"], url, "crm_orders")
        eu = {
            i for i, (_v, _k) in truth(entry, "orders").items() if i in crm_facts(rig.app, store_id, "orders")
        }
        # when orders of both views are saved and delivered
        mutate(rig, "orders", "update", 30)
        rig.settle()
        held = set(crm_facts(rig.app, store_id, "orders"))
        assert held - eu  # another view's orders came in with their deliveries
        # then the re-sync's deletion check takes them out again: the EU view's orders only
        time_passes(rig, store_id)
        with rig.app.app_context():
            until_done(rig, store_id, "orders")
        assert set(crm_facts(rig.app, store_id, "orders")) == eu
