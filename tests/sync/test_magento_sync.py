"""A Magento 2 store in the sandbox, connected with `stores add-magento` into the same merchant
account as the shop and the site: its backfill equals the store record for record (ids,
updated times, totals, line items counted once, shipments, refunds); a scheduled re-sync
after changes converges, deletions included; a person on two platforms is one contact."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import redis
import requests
from click.testing import CliRunner
from sqlalchemy import func, select

from connector.db import get_engine, session
from connector.db.models import (
    Contact,
    Customer,
    Fulfillment,
    Order,
    OrderLineItem,
    Product,
    ProductVariant,
    Refund,
    Store,
)
from connector.db.operations import SyncRun
from connector.runtime.queue import make_worker
from sandbox.generator import Sizes
from sandbox.world import World
from sync.engine import ENTITIES, run_step
from sync.jobs import request_sync, schedule_syncs
from tests.rig import Rig, build
from tests.sync.test_resync import control, time_passes, until_done
from tests.sync.truth import checksum, crm_facts, stamp

pytestmark = pytest.mark.slow

SIZES = Sizes(customers=60, orders=250, products=20)
STORE = "magento-1"


@pytest.fixture
def mag(
    app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str
) -> Iterator[tuple[Rig, int, dict[str, Any]]]:
    """The rig with its Magento store connected by the command a merchant runs."""
    for rig in build(app_env, World(seed=41, sizes=SIZES, magento_stores=1), redis_url):
        yield rig, connected(rig), rig.sandbox.world.manifest()["magento"]["stores"][0]


def connected(rig: Rig, *extra: str) -> int:
    """The rig's Magento store added by `stores add-magento` to the shop and site's account."""
    from connector.cli import cli

    entry = rig.sandbox.world.manifest()["magento"]["stores"][0]
    args = [
        "stores",
        "add-magento",
        "--url",
        entry["url"],
        "--token",
        entry["access_token"],
        "--account",
        "test",
        *extra,
    ]
    added = CliRunner(env=rig.env).invoke(cli, args, catch_exceptions=False)
    assert added.exit_code == 0, added.output
    with session(rig.app) as s:
        store = s.scalars(select(Store).where(Store.platform == "magento")).one()
        assert store.account_id == rig.site.account_id  # the same merchant as the shop and the site
        return store.id


def everything(entry: dict[str, Any], path: str) -> list[dict[str, Any]]:
    """A list as a plain client reads it: pages of 40 until `total_count` is reached."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        answer = requests.get(
            f"{entry['url']}/rest/V1/{path}",
            params={"searchCriteria[pageSize]": "40", "searchCriteria[currentPage]": str(page)},
            headers={"Authorization": f"Bearer {entry['access_token']}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        if page * 40 >= body["total_count"]:
            return items
        page += 1


def truth(entry: dict[str, Any], entity: str) -> dict[int, tuple[str, str]]:
    if entity == "customers":
        return {
            c["id"]: (stamp(c["updated_at"]), c["email"].lower())
            for c in everything(entry, "customers/search")
        }
    if entity == "orders":
        return {
            o["entity_id"]: (stamp(o["updated_at"]), f"{Decimal(str(o['grand_total'])):.2f}/{len(lines(o))}")
            for o in everything(entry, "orders")
        }
    return {
        p["id"]: (stamp(p["updated_at"]), f"{p['name']}/{0 if p['type_id'] == 'configurable' else 1}")
        for p in everything(entry, "products")
    }


def lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in order["items"] if not i.get("parent_item_id")]


def held(rig: Rig, store_id: int, model: Any, column: Any) -> list[Any]:
    """`column` over the children of the store's live orders."""
    live = select(Order.platform_id).where(Order.store_id == store_id, Order.deleted_at.is_(None))
    with get_engine(rig.app).connect() as conn:
        return list(
            conn.execute(
                select(column).where(
                    model.store_id == store_id, model.deleted_at.is_(None), model.order_platform_id.in_(live)
                )
            ).scalars()
        )


def assert_equal(rig: Rig, store_id: int, entry: dict[str, Any]) -> None:
    for entity in ENTITIES:
        expected, got = truth(entry, entity), crm_facts(rig.app, store_id, entity)
        assert len(expected) > 0
        assert got == expected, entity
        assert checksum(got) == checksum(expected)
    orders = everything(entry, "orders")
    units = sum(int(i["qty_ordered"]) for o in orders for i in lines(o))
    assert held(rig, store_id, OrderLineItem, func.sum(OrderLineItem.quantity)) == [units]  # counted once
    refunded = sum(Decimal(str(m["grand_total"])) for m in everything(entry, "creditmemos"))
    assert [Decimal(held(rig, store_id, Refund, func.coalesce(func.sum(Refund.amount), 0))[0])] == [refunded]
    shipments = everything(entry, "shipments")
    assert held(rig, store_id, Fulfillment, func.count()) == [len(shipments)]
    tracked = sorted(t["track_number"] for s in shipments for t in s["tracks"][:1])
    assert sorted(n for n in held(rig, store_id, Fulfillment, Fulfillment.tracking_number) if n) == tracked


def assert_products_and_consent_equal(rig: Rig, store_id: int, entry: dict[str, Any]) -> None:
    """Each product's type, status, visibility and stock (MSI source items), and each
    customer's newsletter consent, as the store has them."""
    stock: dict[str, int] = {}
    for s in everything(entry, "inventory/source-items"):
        stock[s["sku"]] = stock.get(s["sku"], 0) + int(s["quantity"])
    products = everything(entry, "products")

    def units(p: dict[str, Any]) -> int | None:
        """MSI's quantity across sources, else the stock item's; a configurable has no variant."""
        if p["type_id"] == "configurable":
            return None
        return stock[p["sku"]] if p["sku"] in stock else int(p["extension_attributes"]["stock_item"]["qty"])

    expected = {
        p["id"]: (p["type_id"], {1: "active", 2: "draft"}[p["status"]], p["visibility"], units(p))
        for p in products
    }
    visibility = {"not_visible": 1, "catalog": 2, "search": 3, "catalog_search": 4}
    with get_engine(rig.app).connect() as conn:
        variants = dict(
            conn.execute(
                select(ProductVariant.product_platform_id, ProductVariant.inventory_quantity).where(
                    ProductVariant.store_id == store_id, ProductVariant.deleted_at.is_(None)
                )
            ).all()
        )
        rows = conn.execute(
            select(Product.platform_id, Product.product_type, Product.status, Product.collections).where(
                Product.store_id == store_id, Product.deleted_at.is_(None)
            )
        ).all()
        consent = dict(
            conn.execute(
                select(Customer.platform_id, Customer.email_consent).where(
                    Customer.store_id == store_id, Customer.deleted_at.is_(None)
                )
            ).all()
        )
    got = {r[0]: (r[1], r[2], visibility[r[3]["visibility"]], variants.get(r[0])) for r in rows}
    assert got == expected
    subscribed = {
        c["id"]: "subscribed" if c["extension_attributes"]["is_subscribed"] else "not_subscribed"
        for c in everything(entry, "customers/search")
    }
    assert consent == subscribed and "subscribed" in consent.values()


def backfill(rig: Rig, store_id: int) -> None:
    with rig.app.app_context():
        for entity in ENTITIES:
            result = run_step(rig.app, store_id, entity, "test-owner")
            assert result.outcome == "done", result


def test_a_magento_backfill_equals_the_store_record_for_record(mag: tuple[Rig, int, dict[str, Any]]) -> None:
    rig, store_id, entry = mag
    # given a connected store; when it is backfilled
    backfill(rig, store_id)
    # then every entity, line item, shipment and refund equals the store's
    assert_equal(rig, store_id, entry)
    assert_products_and_consent_equal(rig, store_id, entry)
    # each order's channel, from its fields, in the one taxonomy
    expected = {
        o["entity_id"]: "api_other"
        if o.get("ext_order_id")
        else "online_store"
        if o.get("remote_ip")
        else "draft_manual"
        for o in everything(entry, "orders")
    }
    with get_engine(rig.app).connect() as conn:
        channels = dict(
            conn.execute(select(Order.platform_id, Order.channel).where(Order.store_id == store_id)).all()
        )
    assert channels == expected and len(set(channels.values())) == 3
    # each order's processed time is its first invoice's (none while it has none)
    paid = {i["order_id"]: stamp(i["created_at"]) for i in everything(entry, "invoices")}
    with get_engine(rig.app).connect() as conn:
        processed = dict(
            conn.execute(
                select(Order.platform_id, Order.processed_at).where(Order.store_id == store_id)
            ).all()
        )
    assert {o: stamp(t) for o, t in processed.items() if t is not None} == paid
    assert len(paid) < len(processed)  # some orders are unpaid
    with session(rig.app) as s:  # and records carry their store view and website
        raw = s.scalars(select(Customer.raw).where(Customer.store_id == store_id)).first()
        assert raw is not None and raw["_store_view"]["website_code"]


def test_a_store_synced_for_one_store_view_holds_that_views_records_only(
    app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str
) -> None:
    for rig in build(app_env, World(seed=41, sizes=SIZES, magento_stores=1), redis_url):
        entry = rig.sandbox.world.manifest()["magento"]["stores"][0]
        # given a store connected for its EU store view only (the install has two)
        store_id = connected(rig, "--store-view", "eu_en")
        orders, customers = everything(entry, "orders"), everything(entry, "customers/search")
        assert {o["store_id"] for o in orders} == {1, 2} and {c["website_id"] for c in customers} == {1, 2}
        # when it is backfilled, some of the EU orders deleted, and reconciled
        backfill(rig, store_id)
        gone = [o["entity_id"] for o in orders if o["store_id"] == 2][:2]
        held = rig.sandbox.world.magento[STORE].store
        for order_id in gone:
            index = held.index_of("orders", order_id)
            assert index is not None
            held.delete("orders", index, held.next_time("orders", index))
        time_passes(rig, store_id)
        with rig.app.app_context():
            for entity in ENTITIES:
                until_done(rig, store_id, entity)
        # then it holds the EU view's orders and the EU website's customers, every one, no other
        eu_orders = {o["entity_id"] for o in everything(entry, "orders") if o["store_id"] == 2}
        eu_customers = {c["id"] for c in customers if c["website_id"] == 2}
        assert set(crm_facts(rig.app, store_id, "orders")) == eu_orders and not eu_orders & set(gone)
        assert set(crm_facts(rig.app, store_id, "customers")) == eu_customers
        assert crm_facts(rig.app, store_id, "products") == truth(entry, "products")  # the catalog is shared


def test_a_magento_resync_after_changes_converges_deletions_included(
    mag: tuple[Rig, int, dict[str, Any]],
) -> None:
    rig, store_id, entry = mag
    backfill(rig, store_id)
    # given changes of every kind (Magento tells no one: no webhooks)
    for entity, op, count in [
        ("orders", "update", 6),
        ("orders", "delete", 3),
        ("orders", "create", 5),
        ("customers", "update", 4),
        ("customers", "delete", 2),
        ("products", "update", 2),
        ("products", "delete", 1),
    ]:
        control(
            rig, "mutate", {"platform": "magento", "store": STORE, "entity": entity, "op": op, "count": count}
        )
    assert crm_facts(rig.app, store_id, "orders") != truth(entry, "orders")
    # when the schedule comes round and a worker runs what it enqueued
    time_passes(rig, store_id)
    with rig.app.app_context():
        assert schedule_syncs()["enqueued"] >= 3
        make_worker(rig.redis, ("sync",), simple=True).work(burst=True)
    # then the CRM store equals the store again
    assert_equal(rig, store_id, entry)
    assert_products_and_consent_equal(rig, store_id, entry)


def test_a_person_buying_on_two_platforms_of_one_account_is_one_contact(
    mag: tuple[Rig, int, dict[str, Any]],
) -> None:
    rig, store_id, _entry = mag
    backfill(rig, store_id)
    backfill(rig, rig.site.id)
    with get_engine(rig.app).connect() as conn:
        shared = (
            conn.execute(
                select(Customer.contact_id)
                .where(Customer.store_id.in_([store_id, rig.site.id]), Customer.deleted_at.is_(None))
                .group_by(Customer.contact_id)
                .having(func.count(func.distinct(Customer.store_id)) == 2)
            )
            .scalars()
            .all()
        )
        assert len(shared) > 0  # the sandbox's Magento people overlap the site's
        emails = conn.execute(
            select(func.count(func.distinct(Customer.email_normalized))).where(
                Customer.contact_id.in_(shared)
            )
        ).scalar()
        assert emails == len(shared)  # one contact per person, matched by e-mail
        contacts = conn.execute(
            select(func.count()).select_from(Contact).where(Contact.id.in_(shared))
        ).scalar()
        assert contacts == len(shared)


def test_a_magento_backfill_under_429_and_5xx_storms_still_equals_the_store(
    mag: tuple[Rig, int, dict[str, Any]],
) -> None:
    rig, store_id, entry = mag
    # given a store answering 429 (with Retry-After) and 503 to a share of requests
    control(rig, "faults", {"rate_429": 0.25, "rate_5xx": 0.1})
    for entity in ENTITIES:
        until_done(rig, store_id, entity)
    stats = requests.get(f"{rig.sandbox.url}/_sandbox/stats", timeout=10).json()
    control(rig, "faults", {})
    # then the storms were real, and slowed the backfill down without changing its result
    assert stats["injected"]["429"] > 0 and stats["injected"]["5xx"] > 0
    assert_equal(rig, store_id, entry)


def open_steps(rig: Rig, store_id: int) -> set[int]:
    """The store's sync steps begun and not ended (a killed one never ends)."""
    with get_engine(rig.app).connect() as conn:
        return set(
            conn.execute(
                select(SyncRun.id).where(SyncRun.store_id == store_id, SyncRun.ended_at.is_(None))
            ).scalars()
        )


@pytest.fixture
def mag_killable(
    app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str
) -> Iterator[tuple[Rig, int, dict[str, Any]]]:
    """A bigger Magento store, with steps short and leases quick, for workers to die under."""
    env = {**app_env, "CONNECTOR_SYNC_STEP_SECONDS": "1", "CONNECTOR_SYNC_LEASE_SECONDS": "5"}
    # each answer slowed a little: the backfill outlasts five kills by its wall time, not its size
    world = World(seed=43, sizes=Sizes(customers=300, orders=2000, products=40), magento_stores=1)
    world.faults.latency_ms = 100
    for rig in build(env, world, redis_url):
        yield rig, connected(rig), world.manifest()["magento"]["stores"][0]


def test_a_magento_backfill_by_workers_killed_five_times_equals_the_store(
    mag_killable: tuple[Rig, int, dict[str, Any]],
) -> None:
    from tests.sync.test_workers import KILLS, all_done, kill, start_worker

    rig, store_id, entry = mag_killable
    with rig.app.app_context():
        for entity in ENTITIES:
            assert request_sync(rig.app, store_id, entity)
    chooser, kills, dead, revived = random.Random(19), 0, set[int](), time.monotonic()
    workers = [start_worker(rig), start_worker(rig)]
    deadline = time.monotonic() + 600
    try:
        while kills < KILLS and not all_done(rig, [store_id]):  # given workers killed mid-step
            assert time.monotonic() < deadline, "no step started after a kill"
            if not open_steps(rig, store_id) - dead:
                time.sleep(0.02)
                if time.monotonic() - revived > 2:  # cron's revival, every 30 s in production
                    with rig.app.app_context():
                        schedule_syncs()
                    revived = time.monotonic()
                continue
            time.sleep(chooser.uniform(0.0, 0.1))
            for w in workers:
                kill(w)
            kills += bool(open_steps(rig, store_id) - dead)  # a kill counts once it cut a step short
            dead = open_steps(rig, store_id)
            workers = [start_worker(rig), start_worker(rig)]
            with rig.app.app_context():
                schedule_syncs()  # cron's revival: runs whose job died are asked for again
        while not all_done(rig, [store_id]) and time.monotonic() < deadline:
            time.sleep(1)
            with rig.app.app_context():
                schedule_syncs()
    finally:
        for w in workers:
            kill(w)
    # then, restarted, they finished with the CRM store equal to the Magento store
    assert kills == KILLS and all_done(rig, [store_id])
    assert_equal(rig, store_id, entry)
    assert len(open_steps(rig, store_id)) >= KILLS, "the kills missed the steps"  # each cut a step short
