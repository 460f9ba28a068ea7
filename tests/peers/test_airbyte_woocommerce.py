"""airbyte-source-woocommerce 0.4.12 (PyPI, unmodified) against the sandbox over https:
per stream it reads exactly the records the sandbox holds, and after `POST /_sandbox/mutate`
an incremental run reads exactly the changes (its full-refresh streams everything again).

It hard-codes `https://{shop}/wp-json/wc/v3` with Basic auth, so the site is served at its
own host (`localhost:<port>`) in `--tls` mode, and the peer's venv trusts the sandbox's CA
(appended to its certifi bundle, as a machine's trust store would hold it; its code is untouched).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.state import SandboxStore
from sandbox.woocommerce import catalog, extras, shapes
from sandbox.world import World
from tests.peers import airbyte

pytestmark = pytest.mark.slow
PACKAGE, VERSION = "airbyte-source-woocommerce", "0.4.12"
STREAMS = [  # every default stream whose records the sandbox holds
    "customers", "coupons", "orders", "order_notes", "products", "product_categories", "product_reviews",
    "product_tags", "product_variations", "refunds", "system_status_tools",
]  # fmt: skip
SIZES = Sizes(customers=150, orders=260, products=30)


@pytest.fixture(scope="module")
def peer() -> Path:
    return airbyte.installed_or_skip(PACKAGE, VERSION, "source-woocommerce", python=((3, 10), (3, 12)))


@pytest.fixture
def site() -> Iterator[SandboxServer]:
    world = World(seed=11, sizes=SIZES, woo_hosts=["localhost"])
    server = SandboxServer(world, tls=True).start()
    yield server
    server.stop()


def expected(store: SandboxStore, base: str) -> dict[str, list[Any]]:
    """The sandbox's own records per stream, read from the store (not over HTTP)."""

    def live(entity: str) -> list[Any]:
        view = store.view(entity, "id")
        return store.records(entity, view.keys(0, len(view)))

    orders, products = live("orders"), live("products")
    return {
        "customers": [r.id for r in live("customers")],
        "orders": [r.id for r in orders],
        "products": [r.id for r in products],
        "order_notes": [n["id"] for o in orders for n in catalog.notes_of(o, base)],
        "refunds": [f["id"] for o in orders for f in catalog.refunds_of(o, base)],
        "product_variations": [
            shapes.variation_id(p.index, v["index"])
            for p in products
            if len(p.data["variants"]) > 1
            for v in p.data["variants"]
        ],
        "product_reviews": [rv["id"] for rv in catalog.all_reviews(store, base)],
        "coupons": [c["id"] for c in catalog.coupons(store.dataset, base)],
        "product_categories": [c["id"] for c in catalog.categories(store, base)],
        "product_tags": [t["id"] for t in catalog.tags(store, base)],
        "system_status_tools": [t[0] for t in extras.TOOLS],
    }


def test_airbyte_reads_exactly_the_sandbox_then_exactly_the_changes(
    peer: Path, site: SandboxServer, tmp_path: Path
) -> None:
    # given the site at https://localhost:<port> and the peer configured from before its first record
    world = site.world
    entry = world.manifest()["woocommerce"]["stores"][0]
    store, base = world.woo["site-1"].store, entry["host_url"]
    start = (world.anchor - timedelta(days=800)).date().isoformat()
    config = {
        "api_key": entry["consumer_key"],
        "api_secret": entry["consumer_secret"],
        "shop": base.removeprefix("https://"),
        "start_date": start,
    }
    env = {"REQUESTS_CA_BUNDLE": world.manifest()["tls"]["ca_file"]}
    airbyte.trust(peer, world.manifest()["tls"]["ca_pem"])
    assert airbyte.run(peer, tmp_path, "check", env, config=config).logs[-1].find('"SUCCEEDED"') > 0
    chosen = airbyte.catalog(airbyte.run(peer, tmp_path, "discover", env, config=config), STREAMS)

    # when it reads everything
    first = airbyte.run(peer, tmp_path, "read", env, config=config, catalog=chosen)

    # then each stream holds exactly the sandbox's records, each once
    want = expected(store, base)
    for stream in STREAMS:
        assert sorted(first.ids(stream)) == sorted(want[stream]), stream

    # when orders and products change, customers and orders are created, and it reads again from its state
    changed: dict[str, set[int]] = {"orders": set(), "products": set(), "customers": set()}
    for entity, op, count in (
        ("orders", "update", 6),
        ("orders", "create", 2),
        ("products", "update", 3),
        ("customers", "create", 2),
    ):
        answer = requests.post(
            f"{site.url}/_sandbox/mutate",
            json={"platform": "woocommerce", "store": "site-1", "entity": entity, "op": op, "count": count},
            verify=env["REQUESTS_CA_BUNDLE"],
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        changed[entity] |= set(answer.json()["ids"])
    _next_second()  # the peer's window ends at its start, to the second: let the changes' second pass
    second = airbyte.run(
        peer, tmp_path, "read", env, config=config, catalog=chosen, state=airbyte.carried_state(first, chosen)
    )

    # then its incremental streams hold exactly the changes, its full-refresh ones everything now
    want = expected(store, base)
    assert sorted(second.ids("orders")) == sorted(changed["orders"])
    assert sorted(second.ids("products")) == sorted(changed["products"])
    for stream in ("coupons", "product_reviews"):
        assert second.ids(stream) == [], stream
    for stream in set(STREAMS) - {"orders", "products", "coupons", "product_reviews"}:
        assert sorted(second.ids(stream)) == sorted(want[stream]), stream
    assert changed["customers"] <= set(second.ids("customers"))


def _next_second() -> None:
    now = datetime.now(UTC)
    time.sleep(1 - now.microsecond / 1_000_000 + 0.05)
