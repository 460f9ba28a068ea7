"""tap-shopify 3.13.0 (Singer, PyPI, unmodified) against the sandbox: per stream it reads
exactly the records the sandbox holds, then, after `POST /_sandbox/mutate`, from its state
exactly the records its own window asks for, the changes among them.

It hard-codes `https://<shop>.myshopify.com`, so the shop is named `acme` and reached through
the sandbox's CONNECT proxy (HTTPS_PROXY) in `--tls` mode; its venv trusts the sandbox's CA
(certifi for requests, SSL_CERT_FILE for urllib). Streams: every default stream whose records
the sandbox holds (see STREAMS), at the largest page size whose queries all stay under the
1,000-point single-query limit (see PAGE).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox import generator
from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.shopify import graphql as gql
from sandbox.shopify import payments, shapes
from sandbox.state import Record, SandboxStore
from sandbox.world import Shop, World
from tests.peers import airbyte, singer

pytestmark = pytest.mark.slow
PACKAGE, VERSION = "tap-shopify", "3.13.0"
# The default streams whose records the sandbox holds. The rest (collections, locations,
# inventory_*, metafields_*, events, fulfillment_orders) are entities the sandbox does not hold.
STREAMS = [
    "customers",
    "orders",
    "products",
    "product_variants",
    "abandoned_checkouts",
    "order_refunds",
    "order_shipping_lines",
    "transactions",
]
# The tap asks every stream for one page size (default 250, tap_shopify/streams/base.py:23),
# with no handling of a cost refusal. By Shopify's cost (sandbox/shopify/cost.py) every
# stream's query fits at 250 but order_refunds' (1,025 points: 250 orders are charged as 11,
# each with its refunds' line items); at 10 a page it costs 374, and every stream reads
# several pages, so the tap's paging is exercised too.
PAGE = 10
SIZES = Sizes(customers=40, orders=90, products=12)


@pytest.fixture(scope="module")
def peer() -> Path:
    return airbyte.installed_or_skip(PACKAGE, VERSION, "tap-shopify", python=((3, 9), (3, 14)))


@pytest.fixture
def shop() -> Iterator[SandboxServer]:
    world = World(seed=5, sizes=SIZES, shop_domains=["acme"], throttle=False)
    server = SandboxServer(world, tls=True, proxy=True).start()
    yield server
    server.stop()


def live(store: SandboxStore, entity: str, since: datetime | None = None) -> list[Record]:
    """The store's own records (not read over HTTP), those changed at or after `since`."""
    records = (store.get(entity, i) for i in range(store.overlays[entity].size) if store.exists(entity, i))
    return [r for r in records if since is None or r.updated_at >= since]


def held(shop: Shop, since: dict[str, datetime] | None = None) -> dict[str, list[int]]:
    """Per stream, the ids the sandbox holds (changed since each stream's own window start)."""
    store, start = shop.store, since or {}
    orders, shipped = (
        live(store, "orders", start.get("orders")),
        live(store, "orders", start.get("order_shipping_lines")),
    )
    products = live(store, "products", start.get("product_variants"))
    refunded = live(store, "orders", start.get("order_refunds"))  # a refund's updatedAt is its order's
    return {
        "customers": sorted(r.id for r in live(store, "customers", start.get("customers"))),
        "orders": sorted(r.id for r in orders),
        "products": sorted(r.id for r in live(store, "products", start.get("products"))),
        "abandoned_checkouts": sorted(checkout_ids(store, start.get("abandoned_checkouts"))),
        "order_refunds": sorted(
            shapes.child_id(store, "refund", o.index, 0, 1) for o in refunded if o.data["refunded"]
        ),
        "product_variants": sorted(
            shapes.child_id(store, "variant", p.index, v["index"], 4)
            for p in products
            for v in p.data["variants"]
        ),
        "order_shipping_lines": sorted(shapes.child_id(store, "line", o.index, 7) for o in shipped),
        "transactions": sorted(payment_ids(shop, start.get("transactions"))),
    }


def checkout_ids(store: SandboxStore, mark: datetime | None) -> list[int]:
    """The abandoned checkouts (open or recovered) updated at or after `mark`."""
    made = (generator.checkout(store.dataset, i) for i in range(generator.checkout_count(store.dataset)))
    return [
        shapes.child_id(store, "checkout", i, per=1)
        for i, c in enumerate(made)
        if mark is None or c["updated_at"] >= mark
    ]


def payment_ids(shop: Shop, mark: datetime | None) -> list[int]:
    """Transactions of the orders changed since a minute before `mark`, made at or after it
    (the tap reads children through their orders' window and keeps those past its bookmark)."""
    parents = live(shop.store, "orders", None if mark is None else mark - timedelta(minutes=1))
    made = [t for o in parents for t in payments.transactions(shop, o, gql.BUILD)]
    return [int(t["id"].rsplit("/", 1)[-1]) for t in made if mark is None or _at(t["createdAt"]) >= mark]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def numbers(read: singer.Read, stream: str) -> list[int]:
    return sorted(int(str(i).rsplit("/", 1)[-1]) for i in read.ids(stream))


def windows(state: dict[str, Any]) -> dict[str, datetime]:
    """Where each stream's next window starts, by the tap's own rules: its bookmark, less a
    minute for the child stream it reads through orders (order_shipping_lines)."""
    marks = {
        s: _at(state["bookmarks"][s].get("updatedAt") or state["bookmarks"][s]["createdAt"]) for s in STREAMS
    }
    marks["order_shipping_lines"] -= timedelta(minutes=1)
    return marks


def test_tap_shopify_reads_exactly_the_sandbox_then_exactly_its_window(
    peer: Path, shop: SandboxServer, tmp_path: Path
) -> None:
    # given the shop `acme` behind the proxy, and the tap configured from before its first record
    world = shop.world
    manifest = world.manifest()
    entry = manifest["shopify"]["shops"][0]
    sandbox_shop = world.shops[entry["domain"]]
    airbyte.trust(peer, manifest["tls"]["ca_pem"])
    env = {
        "HTTPS_PROXY": manifest["proxy"],
        "https_proxy": manifest["proxy"],
        "SSL_CERT_FILE": manifest["tls"]["ca_file"],  # urllib (ShopifyAPI, its GraphQL client)
        "REQUESTS_CA_BUNDLE": manifest["tls"]["ca_file"],  # requests (bulk), over a machine-wide one
    }
    config = {
        "shop": entry["domain"].split(".")[0],
        "access_token": entry["access_token"],
        "start_date": (world.anchor - timedelta(days=800)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "date_window_size": 1000,  # one window over the whole store
        "results_per_page": PAGE,
        "request_timeout": 60,
    }
    catalog = singer.select(singer.discover(peer, tmp_path, env, config), STREAMS)

    # when it syncs everything
    first = singer.sync(peer, tmp_path, env, config, catalog)

    # then each stream holds exactly the sandbox's records, each once
    want = held(sandbox_shop)
    for stream in STREAMS:
        assert want[stream], f"the store holds no {stream}: the comparison would prove nothing"
        assert numbers(first, stream) == want[stream], stream

    # when customers, orders and products change and an order is created, and it syncs from its state
    changed: dict[str, set[int]] = {"customers": set(), "orders": set(), "products": set()}
    for entity, op, count in (("customers", "update", 3), ("orders", "update", 4), ("orders", "create", 1),
                              ("products", "update", 2)):  # fmt: skip
        answer = requests.post(
            f"{shop.url}/_sandbox/mutate",
            json={
                "platform": "shopify",
                "store": entry["domain"],
                "entity": entity,
                "op": op,
                "count": count,
            },
            verify=manifest["tls"]["ca_file"],
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        changed[entity] |= set(answer.json()["ids"])
    _next_second()  # its window ends at its start, to the second: let the changes' second pass
    second = singer.sync(peer, tmp_path, env, config, catalog, state=first.state)

    # then each stream holds exactly the records its window asks for, and the changes are among them
    want = held(sandbox_shop, windows(first.state))
    for stream in STREAMS:
        assert numbers(second, stream) == want[stream], stream
    assert changed["customers"] <= set(numbers(second, "customers"))
    assert changed["orders"] <= set(numbers(second, "orders"))
    assert changed["products"] <= set(numbers(second, "products"))
    assert len(numbers(second, "orders")) < len(numbers(first, "orders"))


def _next_second() -> None:
    now = datetime.now(UTC)
    time.sleep(1 - now.microsecond / 1_000_000 + 0.05)
