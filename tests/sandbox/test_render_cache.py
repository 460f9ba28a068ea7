"""The render cache (sandbox/render_cache.py): a cached render is the uncached one byte for
byte, cold, warm and in a new process's cache over the same folder; a mutation through
`POST /_sandbox/mutate` re-renders exactly the records it touched (and those that show them);
a shelf another process holds, or a torn index, is never believed."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from platforms.shopify.queries import bulk_query
from sandbox.clients import woo_api
from sandbox.render_cache import RenderCache
from sandbox.server import SandboxServer
from sandbox.shopify.bulk import plan_bulk, run_bulk
from sandbox.world import Shop, World
from tests.conftest_sandbox import SIZES

SEARCH = "updated_at:>='2020-01-01T00:00:00Z' AND updated_at:<='2100-01-01'"


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(seed=7, sizes=SIZES, render_cache=tmp_path / "cache")


@pytest.fixture
def shop(world: World) -> Shop:
    return next(iter(world.shops.values()))


def export(
    shop: Shop, cache: RenderCache | None, entity: str = "orders", group: bool = False
) -> tuple[bytes, list[int]]:
    """(the bulk file's bytes, the indices rendered live) of the connector's own bulk query."""
    handle, name = tempfile.mkstemp(suffix=".jsonl")
    os.close(handle)
    out = Path(name)
    op: dict[str, Any] = {}
    run_bulk(shop, op, plan_bulk(bulk_query(entity, SEARCH), group), out, True, cache)
    assert op["_result"]["status"] == "COMPLETED", op
    try:
        return out.read_bytes(), op["_rendered_live"]
    finally:
        out.unlink()


@pytest.mark.parametrize("group", [False, True])
@pytest.mark.parametrize("entity", ["orders", "customers", "products"])
def test_a_cached_bulk_export_is_the_uncached_one_byte_for_byte(
    world: World, shop: Shop, entity: str, group: bool
) -> None:
    # given the uncached export
    live, rendered = export(shop, None, entity, group)
    assert len(rendered) == getattr(SIZES, entity) and live
    # when the same export is made cold (filling the shelf) and warm (from it)
    cold, _ = export(shop, world.render_cache, entity, group)
    warm, warm_rendered = export(shop, world.render_cache, entity, group)
    # then all three are the same bytes, and warm renders nothing (products are never shelved)
    assert cold == live and warm == live
    assert warm_rendered == ([] if entity != "products" else rendered)


def test_a_new_cache_over_the_same_folder_serves_the_same_bytes(
    world: World, shop: Shop, tmp_path: Path
) -> None:
    live, _ = export(shop, None)
    export(shop, world.render_cache)
    # when another sandbox process opens the folder (this one let go of its shelves)
    assert world.render_cache is not None
    world.render_cache.close()
    again = World(seed=7, sizes=SIZES, anchor=world.anchor, render_cache=tmp_path / "cache")
    warm, rendered = export(next(iter(again.shops.values())), again.render_cache)
    assert warm == live and rendered == []


def test_a_shelf_held_by_another_process_is_not_used(world: World, shop: Shop, tmp_path: Path) -> None:
    export(shop, world.render_cache)  # this cache holds the shelf
    other = RenderCache(tmp_path / "cache")  # another open of the folder: the lock is not its
    live, _ = export(shop, None)
    answer, rendered = export(shop, other)
    assert answer == live and len(rendered) == SIZES.orders


def test_a_torn_or_foreign_index_entry_is_ignored(world: World, shop: Shop, tmp_path: Path) -> None:
    export(shop, world.render_cache)
    live, _ = export(shop, None)
    assert world.render_cache is not None
    world.render_cache.close()
    (index,) = list((tmp_path / "cache").glob("*/*/index"))
    raw = index.read_bytes()
    entry = len(raw) // SIZES.orders
    # the first entry's bytes changed (a foreign write), the last one torn in half
    index.write_bytes(bytes([raw[0] ^ 1]) + raw[1 : len(raw) - entry // 2])
    again = World(seed=7, sizes=SIZES, anchor=world.anchor, render_cache=tmp_path / "cache")
    answer, rendered = export(next(iter(again.shops.values())), again.render_cache)
    assert answer == live
    assert len(rendered) == 2  # the two entries not believed: rendered again


def test_another_seed_or_size_is_another_shelf(world: World, tmp_path: Path) -> None:
    shop = next(iter(world.shops.values()))
    export(shop, world.render_cache)
    other = World(seed=8, sizes=SIZES, anchor=world.anchor, render_cache=tmp_path / "cache")
    other_shop = next(iter(other.shops.values()))
    live, _ = export(other_shop, None)
    answer, rendered = export(other_shop, other.render_cache)
    assert answer == live and len(rendered) == SIZES.orders


@pytest.fixture
def served(world: World) -> Iterator[SandboxServer]:
    server = SandboxServer(world).start()
    yield server
    server.stop()


def mutate(server: SandboxServer, body: dict[str, Any]) -> list[int]:
    answer = requests.post(f"{server.url}/_sandbox/mutate", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    ids: list[int] = answer.json()["ids"]
    return ids


def test_a_mutation_re_renders_exactly_what_it_touched(
    world: World, shop: Shop, served: SandboxServer
) -> None:
    # given a warm shelf of orders and one of customers
    export(shop, world.render_cache)
    export(shop, world.render_cache, "customers")
    store = shop.store
    # when orders are updated, created and deleted, and customers updated, through the control API
    changed = [
        store.index_of("orders", i)
        for i in mutate(served, {"store": shop.domain, "entity": "orders", "op": "update", "count": 3})
    ]
    mutate(served, {"store": shop.domain, "entity": "orders", "op": "create", "count": 1})
    deleted = [
        store.index_of("orders", i)
        for i in mutate(served, {"store": shop.domain, "entity": "orders", "op": "delete", "count": 1})
    ]
    customers = [
        store.index_of("customers", i)
        for i in mutate(served, {"store": shop.domain, "entity": "customers", "op": "update", "count": 2})
    ]
    # then each export is still the uncached one, byte for byte
    live_orders, _ = export(shop, None)
    live_customers, _ = export(shop, None, "customers")
    orders, rendered_orders = export(shop, world.render_cache)
    people, rendered_people = export(shop, world.render_cache, "customers")
    assert orders == live_orders and people == live_customers
    # and what was rendered live is exactly what the mutations touched: the orders changed or
    # created, the customers changed or whose orders changed, and the orders showing those
    data = store.dataset
    touched_orders = {i for i in changed if i is not None} | {SIZES.orders}
    owners = {data.order(i)["customer"] for i in touched_orders | {i for i in deleted if i is not None}}
    touched_customers = ({c for c in customers if c is not None} | owners) - {None}
    showing = {
        i
        for i in range(SIZES.orders)
        if store.exists("orders", i) and data.order(i)["customer"] in touched_customers
    }
    assert set(rendered_orders) == touched_orders | showing
    assert set(rendered_people) == touched_customers
    assert len(rendered_orders) == len(set(rendered_orders))


def woo_page(server: SandboxServer, page: int, **params: Any) -> bytes:
    entry = server.world.manifest()["woocommerce"]["stores"][0]
    api = woo_api(entry)
    answer = api.get(
        "orders", params={"per_page": 100, "page": page, "orderby": "id", "order": "asc", **params}
    )
    assert answer.status_code == 200, answer.text
    body: bytes = answer.content
    return body


def test_woocommerce_pages_cached_are_the_uncached_ones_and_follow_mutations(
    world: World, served: SandboxServer
) -> None:
    site = next(iter(world.woo.values()))
    cache = world.render_cache
    assert cache is not None
    pages = range(1, -(-SIZES.orders // 100) + 1)
    # given the pages uncached, then cold and warm
    world.render_cache = None
    live = [woo_page(served, p) for p in pages]
    world.render_cache = cache
    cold = [woo_page(served, p) for p in pages]
    warm = [woo_page(served, p) for p in pages]
    assert cold == live and warm == live
    (shelf,) = [s for s in cache._shelves.values() if s is not None]
    assert shelf.served == SIZES.orders
    # when two orders are updated and one trashed
    mutate(served, {"store": "site-1", "entity": "orders", "op": "update", "count": 2})
    mutate(served, {"store": "site-1", "entity": "orders", "op": "delete", "count": 1})
    # then the pages are the uncached ones again, the three touched orders rendered live
    world.render_cache = None
    live = [woo_page(served, p) for p in pages]
    world.render_cache = cache
    before = shelf.served
    assert [woo_page(served, p) for p in pages] == live
    assert shelf.served - before == site.store.live_count("orders") - 2
    # and pages asked with _fields, a filter or the default order are the uncached ones too
    asks: list[dict[str, Any]] = [
        {"_fields": "id,total"},
        {"status": "completed"},
        {"orderby": "date", "order": "desc"},
    ]
    world.render_cache = None
    live = [woo_page(served, 1, **ask) for ask in asks]
    world.render_cache = cache
    assert [woo_page(served, 1, **ask) for ask in asks] == live


def test_a_shelf_that_cannot_be_written_is_set_aside_and_the_export_still_right(
    world: World, shop: Shop, tmp_path: Path
) -> None:
    # given a filled shelf of orders whose first lane file can no longer be written (a full disk)
    cache = world.render_cache
    assert cache is not None
    live, _ = export(shop, None)
    export(shop, cache)
    (shelf,) = [s for s in cache._shelves.values() if s is not None]
    (lane,) = list((tmp_path / "cache").glob("*/*/lane0"))
    shelf._data[0] = os.open(lane, os.O_RDONLY)  # the fault, injected at the OS edge
    shelf.offsets[:] = type(shelf.offsets)("q", [-1]) * len(shelf.offsets)  # forgotten: written again
    # when the export is made again
    answer, rendered = export(shop, cache)
    # then it is still right, rendered live, and the shelf is set aside for good
    assert answer == live and len(rendered) == SIZES.orders
    assert shelf.broken
    assert export(shop, cache) == (live, rendered)
