"""A real Magento 2 REST client from PyPI (TDKorn's `my-magento`, not written here) against the
sandbox's Magento: it signs in with the admin token endpoint, lists customers, orders and
products, and gets exactly the records the sandbox holds."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.state import SandboxStore
from sandbox.world import World
from tests.sandbox.magento_rig import held

SIZES = Sizes(customers=45, orders=130, products=17)


@pytest.fixture
def quiet_client_logs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The library writes log files in the working directory (magento.log at import, found again
    by that absolute path) and hangs handlers on urllib3's logger: one directory for the whole
    run, and urllib3's logger as it was afterwards."""
    monkeypatch.chdir(tmp_path_factory.getbasetemp())
    pool = logging.getLogger("urllib3.connectionpool")
    handlers, level = list(pool.handlers), pool.level
    yield
    pool.handlers[:], pool.level = handlers, level


@pytest.fixture
def rig(quiet_client_logs: None) -> Iterator[tuple[Any, SandboxStore]]:
    my_magento = importlib.import_module("magento")
    world = World(seed=19, sizes=SIZES, shops=0, woo_sites=0, magento_stores=1)
    server = SandboxServer(world).start()
    entry = world.manifest()["magento"]["stores"][0]
    client = my_magento.Client(
        "127.0.0.1", entry["admin_username"], entry["admin_password"], local=True, login=False,
        log_level="WARNING", log_requests=False,
        user_agent="crm-connector-tests",  # without one it fetches a browser's from the internet
    )  # fmt: skip
    # its domain parser drops a port and keeps a path; the base URL is its documented attribute
    client.BASE_URL = f"{entry['url']}/rest/V1/"
    client.authenticate()  # POST integration/admin/token, then GET store/websites to validate
    yield client, next(iter(world.magento.values())).store
    server.stop()


def test_the_client_signs_in_and_lists_everything_the_store_holds(rig: tuple[Any, SandboxStore]) -> None:
    client, store = rig
    # when the client lists each entity with its own get_all (created_at >= its default)
    customers = client.customers.get_all()
    orders = client.orders.get_all()
    products = client.products.get_all()
    # then it has every record the sandbox holds, with the sandbox's values
    assert sorted(c.id for c in customers) == held(store, "customers")
    assert sorted(o.id for o in orders) == held(store, "orders")
    assert sorted(p.id for p in products) == held(store, "products")
    for c in customers:
        data = store.get("customers", c.id - 1).data
        assert (c.email, c.is_subscribed) == (data["email"], data["email_consent"] == "subscribed")
    for o in orders:  # its items skip configurable children, so units count once
        assert sum(i.qty_ordered for i in o.items) == o.total_qty_ordered
        assert o.number == f"{store.get('orders', o.id - 1).data['number']:09d}"
    assert {p.type_id for p in products} == {"simple", "configurable", "bundle"}


def page_through(client: Any, endpoint: str, size: int) -> list[int]:
    """Its search query with Magento's paging added, page after page, until a page repeats:
    the past-the-end page is the last one again, so a client waiting for an empty page never stops."""
    seen: list[int] = []
    page = 1
    while True:
        search = client.search(endpoint)
        search.query += f"searchCriteria[pageSize]={size}&searchCriteria[currentPage]={page}"
        result = search.execute()
        found = result if isinstance(result, list) else [result]
        ids = [int(m.data.get("entity_id") or m.data["id"]) for m in found]
        if ids[0] in seen:
            return seen
        seen += ids
        page += 1


@pytest.mark.parametrize(("endpoint", "entity"), [("customers/search", "customers"), ("orders", "orders"),
                                                  ("products", "products")])  # fmt: skip
def test_paging_with_the_client_gets_each_record_once(
    rig: tuple[Any, SandboxStore], endpoint: str, entity: str
) -> None:
    client, store = rig
    assert page_through(client, endpoint, 8) == held(store, entity)


def test_the_client_filters_and_reads_one_by_id(rig: tuple[Any, SandboxStore]) -> None:
    client, store = rig
    order = client.orders.by_id(7)
    assert order.id == 7 and order.customer_email == order.data["billing_address"]["email"]
    complete = client.orders.add_criteria("status", "complete").execute()
    expected = [i for i in held(store, "orders") if client.orders.by_id(i).status == "complete"]
    assert sorted(o.id for o in complete) == expected and expected
    wanted = client.products.by_list("entity_id", [2, 5, 9])
    assert sorted(p.id for p in wanted) == [2, 5, 9]
