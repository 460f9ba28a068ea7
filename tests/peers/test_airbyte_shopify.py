"""airbyte-source-shopify 4.3.0 (PyPI, unmodified) against the sandbox's Shopify: per stream it
reads exactly the records the sandbox holds, and after `POST /_sandbox/mutate` an incremental
run reads exactly the changes (deletions too, which it learns from `events.json`).

It hard-codes `https://<shop>.myshopify.com` (port 443), so the sandbox runs with `--tls` and
its CONNECT proxy (HTTPS_PROXY), the peer trusting the sandbox's CA; its code is untouched.
Streams: those of its defaults whose records the sandbox's entities hold: over REST customers,
orders with their refunds and fulfillments, abandoned checkouts, the shop; by bulk export
customer addresses, transactions, products and the orders' customer journeys.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import generator
from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.shopify import events, payments, shapes
from sandbox.shopify import graphql as gql
from sandbox.state import Record, SandboxStore
from sandbox.world import World
from tests.peers import airbyte

pytestmark = pytest.mark.slow
PACKAGE, VERSION = "airbyte-source-shopify", "4.3.0"
STREAMS = [
    "customers",
    "orders",
    "order_refunds",
    "fulfillments",
    "abandoned_checkouts",
    "shop",
    "customer_address",
    "transactions",
    "products",
    "customer_journey_summary",
]
SIZES = Sizes(customers=150, orders=260, products=30)


@pytest.fixture(scope="module")
def peer() -> Path:
    return airbyte.installed_or_skip(PACKAGE, VERSION, "source-shopify", python=((3, 10), (3, 14)))


@pytest.fixture
def shop() -> Iterator[SandboxServer]:
    world = World(seed=11, sizes=SIZES, shop_domains=["peer-shop"])
    server = SandboxServer(world, tls=True, proxy=True).start()
    yield server
    server.stop()


def live(store: SandboxStore, entity: str) -> list[Record]:
    view = store.view(entity, "id")
    return store.records(entity, view.keys(0, len(view)))


def expected(server: SandboxServer) -> dict[str, list[Any]]:
    """The sandbox's own records per stream, read from the store (not over HTTP)."""
    shop = server.world.shops["peer-shop.myshopify.com"]
    store = shop.store
    orders = live(store, "orders")
    return {
        "customers": [r.id for r in live(store, "customers")],
        "orders": [r.id for r in orders],
        "order_refunds": [
            shapes.child_id(store, "refund", o.index, 0, 1) for o in orders if o.data["refunded"]
        ],
        "fulfillments": [
            shapes.child_id(store, "fulfillment", o.index, f["index"], 4)
            for o in orders
            for f in o.data["fulfillments"]
        ],
        "abandoned_checkouts": [c["id"] for c in checkouts(store)],
        # one address per customer, by bulk export
        "customer_address": [
            shapes.child_id(store, "address", c.index, per=1) for c in live(store, "customers")
        ],
        "shop": [events.shop_id(shop)],
        "products": [r.id for r in live(store, "products")],
        "customer_journey_summary": [r.id for r in orders],  # one per order, keyed order_id
        "transactions": [
            int(t["id"].rsplit("/", 1)[-1]) for o in orders for t in payments.transactions(shop, o, gql.BUILD)
        ],
    }


def checkouts(store: SandboxStore) -> list[dict[str, Any]]:
    """Every abandoned checkout (open or recovered): id and updated_at."""
    return [
        {
            "id": shapes.child_id(store, "checkout", i, per=1),
            "updated_at": generator.checkout(store.dataset, i)["updated_at"],
        }
        for i in range(generator.checkout_count(store.dataset))
    ]


def test_airbyte_reads_exactly_the_shop_then_exactly_the_changes(
    peer: Path, shop: SandboxServer, tmp_path: Path
) -> None:
    # given the shop at https://peer-shop.myshopify.com behind the sandbox's proxy, and the peer
    # configured from before its first record
    world = shop.world
    manifest = world.manifest()
    entry = manifest["shopify"]["shops"][0]
    config = {
        "shop": "peer-shop",
        "credentials": {"auth_method": "api_password", "api_password": entry["access_token"]},
        "start_date": "2020-01-01",
        "bulk_window_in_days": 3650,  # one bulk export per stream, not one per 30 days since 2020
    }
    ca = manifest["tls"]["ca_file"]
    env = {"HTTPS_PROXY": manifest["proxy"], "https_proxy": manifest["proxy"], "REQUESTS_CA_BUNDLE": ca}
    airbyte.trust(peer, manifest["tls"]["ca_pem"])
    assert '"SUCCEEDED"' in airbyte.run(peer, tmp_path, "check", env, config=config).logs[-1]
    spec = airbyte.run(peer, tmp_path, "spec", env)
    assert any('"connectionSpecification"' in line for line in spec.logs)
    chosen = airbyte.catalog(airbyte.run(peer, tmp_path, "discover", env, config=config), STREAMS)

    # when it reads everything
    first = airbyte.run(peer, tmp_path, "read", env, config=config, catalog=chosen)

    # then each stream holds exactly the sandbox's records, each once
    want = expected(shop)
    for stream in STREAMS:
        assert sorted(ids(first, stream)) == sorted(want[stream]), stream
    assert first.records["shop"][0]["myshopify_domain"] == "peer-shop.myshopify.com"

    # when customers, orders and products change, some are created, one order is deleted, and it
    # reads again
    changed: dict[str, set[int]] = {"orders": set(), "customers": set(), "products": set()}
    deleted: set[int] = set()
    for entity, op, count in (
        ("orders", "update", 6),
        ("orders", "create", 2),
        ("orders", "delete", 1),
        ("customers", "update", 3),
        ("customers", "create", 2),
        ("products", "update", 2),
    ):
        answer = requests.post(
            f"{shop.url}/_sandbox/mutate",
            json={
                "platform": "shopify",
                "store": entry["domain"],
                "entity": entity,
                "op": op,
                "count": count,
            },
            verify=ca,
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        (deleted if op == "delete" else changed[entity]).update(answer.json()["ids"])
    _next_second()
    second = airbyte.run(
        peer, tmp_path, "read", env, config=config, catalog=chosen, state=airbyte.carried_state(first, chosen)
    )

    # then its incremental streams hold exactly the changes (the deleted order as a deletion) and
    # the records at its saved cursor (`updated_at_min` is "at or after"), its full-refresh one
    # everything again
    store = world.shops[entry["domain"]].store
    for entity in ("customers", "orders", "products"):
        boundary = at_cursor(store, entity, first.states[entity])
        assert sorted(second.ids(entity)) == sorted(
            changed[entity] | boundary | (deleted if entity == "orders" else set())
        )
    # and the addresses of the customers it read again, from its saved address id on (its
    # cursor is the address id, kept at-or-after: source_shopify streams.py CustomerAddress)
    saved = first.states["customer_address"]["stream"]["stream_state"]["id"]
    assert sorted(second.ids("customer_address")) == sorted(
        aid
        for aid in (
            shapes.child_id(store, "address", c.index, per=1)
            for c in live(store, "customers")
            if c.id in set(second.ids("customers"))
        )
        if aid >= saved
    )
    gone = [r for r in second.records["orders"] if r["id"] in deleted]
    assert gone and all(r.get("deleted_at") for r in gone)
    assert second.ids("shop") == expected(shop)["shop"]
    checkouts_cursor = cursor_of(first.states["abandoned_checkouts"], "updated_at")
    assert sorted(second.ids("abandoned_checkouts")) == sorted(
        c["id"] for c in checkouts(store) if c["updated_at"] == checkouts_cursor
    )  # no checkout changed: only the one at its cursor again
    # and its nested streams the refunds and fulfilments of the orders it read again, from
    # their own cursor on
    again = [r for r in live(store, "orders") if r.id in set(second.ids("orders"))]
    # and the journeys of the orders it reads again (by bulk, so not the deleted one)
    boundary = at_cursor(store, "orders", first.states["customer_journey_summary"])
    assert sorted(ids(second, "customer_journey_summary")) == sorted(changed["orders"] | boundary)
    # and the transactions of the orders it read again, from its own cursor on (created_at)
    assert sorted(second.ids("transactions")) == sorted(
        int(pay["id"].rsplit("/", 1)[-1])
        for o in again
        for pay in payments.transactions(world.shops[entry["domain"]], o, gql.BUILD)
        if _at(pay["createdAt"]) >= cursor_of(first.states["transactions"], "created_at")
    )
    assert sorted(second.ids("fulfillments")) == sorted(
        fid
        for fid, at in fulfilments(store, again)
        if at >= cursor_of(first.states["fulfillments"], "updated_at")
    )
    assert sorted(second.ids("order_refunds")) == sorted(
        rid
        for rid, at in refunds(store, again)
        if at >= cursor_of(first.states["order_refunds"], "created_at")
    )


def ids(read: airbyte.Read, stream: str) -> list[Any]:
    key = "order_id" if stream == "customer_journey_summary" else "id"
    return [r[key] for r in read.records.get(stream, [])]


def cursor_of(state: dict[str, Any], field: str) -> datetime:
    return datetime.fromisoformat(state["stream"]["stream_state"][field])


def at_cursor(store: SandboxStore, entity: str, state: dict[str, Any]) -> set[int]:
    cursor = cursor_of(state, "updated_at")
    return {r.id for r in live(store, entity) if r.updated_at == cursor}


def fulfilments(store: SandboxStore, orders: list[Record]) -> list[tuple[int, datetime]]:
    """Each order's fulfilments: (id, updated_at as REST gives it)."""
    return [
        (shapes.child_id(store, "fulfillment", o.index, f["index"], 4), f["delivered_at"] or f["shipped_at"])
        for o in orders
        for f in o.data["fulfillments"]
    ]


def refunds(store: SandboxStore, orders: list[Record]) -> list[tuple[int, datetime]]:
    """Each refunded order's refund: (id, created_at as REST gives it)."""
    return [
        (shapes.child_id(store, "refund", o.index, 0, 1), o.updated_at) for o in orders if o.data["refunded"]
    ]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _next_second() -> None:
    now = datetime.now(UTC)
    time.sleep(1 - now.microsecond / 1_000_000 + 0.05)
