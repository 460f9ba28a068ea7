"""tap-shopify 3.13.0 (Singer, PyPI, unmodified) against the sandbox: per stream it reads
exactly the records the sandbox holds, then, after `POST /_sandbox/mutate`, from its state
exactly the records its own window asks for, the changes among them.

It hard-codes `https://<shop>.myshopify.com`, so the shop is named `acme` and reached through
the sandbox's CONNECT proxy (HTTPS_PROXY) in `--tls` mode; its venv trusts the sandbox's CA
(certifi for requests, SSL_CERT_FILE for urllib). Streams: every default stream whose records
the sandbox holds (see STREAMS), at the tap's own default page size. At that size Shopify
refuses one of them, order_refunds (1,025 points; docs/platform-facts-extra.md "Shopify query
cost"), and so does the sandbox; it is read at the largest page size Shopify accepts.
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
# The tap asks every stream for one page size, `results_per_page`, default 250
# (tap_shopify/streams/base.py:23), with no cap for order_refunds and no handling of a cost
# refusal. Its order_refunds query costs 2 + 11 x 93 = 1,025 points at 250 (a connection of 250
# is charged 11 nodes, one order with its refunds' line items 93), over Shopify's single-query
# limit of 1,000; at 149-244 it is charged 10 nodes, 932 points. Every other stream fits at 250.
REFUSED = "order_refunds"
FITTING = [s for s in STREAMS if s != REFUSED]
LARGEST_ACCEPTED = 244
# Over 250 customers and orders, so the streams read through orders take two pages at 250.
SIZES = Sizes(customers=260, orders=260, products=12)


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


def windows(state: dict[str, Any], streams: list[str]) -> dict[str, datetime]:
    """Where each stream's next window starts, by the tap's own rules: its bookmark, less a
    minute for the child stream it reads through orders (order_shipping_lines)."""
    marks = {
        s: _at(state["bookmarks"][s].get("updatedAt") or state["bookmarks"][s]["createdAt"]) for s in streams
    }
    if "order_shipping_lines" in marks:
        marks["order_shipping_lines"] -= timedelta(minutes=1)
    return marks


class Tap:
    """The tap pointed at the shop `acme` behind the sandbox's proxy, from before its first record."""

    def __init__(self, peer: Path, shop: SandboxServer, folder: Path) -> None:
        self.peer, self.server, self.folder = peer, shop, folder
        self.manifest, self.anchor = shop.world.manifest(), shop.world.anchor
        self.entry = self.manifest["shopify"]["shops"][0]
        self.shop = shop.world.shops[self.entry["domain"]]
        airbyte.trust(peer, self.manifest["tls"]["ca_pem"])
        self.env = {
            "HTTPS_PROXY": self.manifest["proxy"],
            "https_proxy": self.manifest["proxy"],
            "SSL_CERT_FILE": self.manifest["tls"]["ca_file"],  # urllib (ShopifyAPI, its GraphQL client)
            "REQUESTS_CA_BUNDLE": self.manifest["tls"]["ca_file"],  # requests (bulk), over a machine-wide one
        }

    def config(self, page: int | None) -> dict[str, Any]:
        """The tap's config; `page` None leaves results_per_page to the tap's own default."""
        config = {
            "shop": self.entry["domain"].split(".")[0],
            "access_token": self.entry["access_token"],
            "start_date": (self.anchor - timedelta(days=800)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "date_window_size": 1000,  # one window over the whole store
            "request_timeout": 60,
        }
        return config if page is None else {**config, "results_per_page": page}

    def sync(self, streams: list[str], page: int | None, state: dict[str, Any] | None = None) -> singer.Read:
        config = self.config(page)
        catalog = singer.select(singer.discover(self.peer, self.folder, self.env, config), streams)
        return singer.sync(self.peer, self.folder, self.env, config, catalog, state=state)

    def mutate(self, entity: str, op: str, count: int) -> set[int]:
        body = {
            "platform": "shopify",
            "store": self.entry["domain"],
            "entity": entity,
            "op": op,
            "count": count,
        }
        answer = requests.post(
            f"{self.server.url}/_sandbox/mutate",
            json=body,
            verify=self.manifest["tls"]["ca_file"],
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return set(answer.json()["ids"])


def reads_exactly_then_exactly_its_window(tap: Tap, streams: list[str], page: int | None) -> None:
    """The first sync reads exactly the sandbox's records of `streams`; after changes, the
    second, from its state, exactly those its window asks for, the changes among them."""
    # when it syncs every stream
    first = tap.sync(streams, page)

    # then each stream holds exactly the sandbox's records, each once
    want = held(tap.shop)
    for stream in streams:
        assert want[stream], f"the store holds no {stream}: the comparison would prove nothing"
        assert numbers(first, stream) == want[stream], stream

    # when customers, orders and products change and an order is created, and it syncs from its state
    changed: dict[str, set[int]] = {"customers": set(), "orders": set(), "products": set()}
    for entity, op, count in (("customers", "update", 3), ("orders", "update", 4), ("orders", "create", 1),
                              ("products", "update", 2)):  # fmt: skip
        changed[entity] |= tap.mutate(entity, op, count)
    _next_second()  # its window ends at its start, to the second: let the changes' second pass
    second = tap.sync(streams, page, state=first.state)

    # then each stream holds exactly the records its window asks for, and the changes are among them
    want = held(tap.shop, windows(first.state, streams))
    for stream in streams:
        assert numbers(second, stream) == want[stream], stream
    for entity in ("customers", "orders", "products"):
        if entity in streams:
            assert changed[entity] <= set(numbers(second, entity)), entity
    if "orders" in streams:
        assert len(numbers(second, "orders")) < len(numbers(first, "orders"))


def test_tap_shopify_at_its_default_page_size_reads_exactly_the_sandbox_then_exactly_its_window(
    peer: Path, shop: SandboxServer, tmp_path: Path
) -> None:
    # given the tap at its own default page size (250), every stream whose query Shopify accepts there
    tap = Tap(peer, shop, tmp_path)
    # when it syncs twice, then it reads exactly the sandbox's records, then exactly its window
    reads_exactly_then_exactly_its_window(tap, FITTING, page=None)


def test_tap_shopify_order_refunds_is_refused_at_250_as_shopify_refuses_it_and_read_at_244(
    peer: Path, shop: SandboxServer, tmp_path: Path
) -> None:
    # given the tap at its own default page size, order_refunds selected
    tap = Tap(peer, shop, tmp_path)
    # when it syncs, then the query is refused before it runs, with Shopify's sentence and cost,
    # and the tap (which neither caps this stream nor handles the refusal) exits non-zero
    with pytest.raises(RuntimeError) as refused:
        tap.sync([REFUSED], page=None)
    assert "Query cost is 1025, which exceeds the single query max cost limit (1000)" in str(refused.value)
    assert "MAX_COST_EXCEEDED" in str(refused.value)
    # and at the largest page size Shopify accepts, it reads exactly, then exactly its window
    reads_exactly_then_exactly_its_window(tap, [REFUSED], page=LARGEST_ACCEPTED)


def _next_second() -> None:
    now = datetime.now(UTC)
    time.sleep(1 - now.microsecond / 1_000_000 + 0.05)
