"""The sandbox's REST Admin API over real HTTP: the records GraphQL serves (same ids, same
values), in REST's shape (the 2025-07 samples' keys), the documented filters, `page_info`
paging by `Link` headers, the call-limit bucket and Shopify's errors; and the ShopifyAPI
package's REST resources (Session, Shop.current, Customer.find paged to the end) against it."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import shopify

from sandbox.server import SandboxServer
from sandbox.shopify.shapes import rest_time
from sandbox.state import SandboxStore
from sandbox.world import World
from tests.builders import fixture
from tests.conftest_sandbox import SIZES

VERSION = "2026-07"


class Rest:
    def __init__(self, sandbox: SandboxServer) -> None:
        entry = sandbox.world.manifest()["shopify"]["shops"][0]
        self.domain, self.token = entry["domain"], entry["access_token"]
        self.api = f"{sandbox.url}/shopify/{self.domain}/admin/api/{VERSION}"
        self.store: SandboxStore = sandbox.world.shops[self.domain].store

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.api}/{path}"
        headers = {"X-Shopify-Access-Token": self.token if token is None else token}
        return requests.get(url, params=params, headers=headers, timeout=30)

    def walk(self, name: str, key: str | None = None, **params: Any) -> list[dict[str, Any]]:
        """Every page, following rel="next" with nothing but the link's own query."""
        answer = self.get(f"{name}.json", **params)
        found: list[dict[str, Any]] = []
        while True:
            assert answer.status_code == 200, answer.text
            found += answer.json()[key or name]
            nxt = answer.links.get("next")
            if nxt is None:
                return found
            assert set(dict(parse_qsl(urlsplit(nxt["url"]).query))) <= {"limit", "page_info", "fields"}
            answer = self.get(nxt["url"])

    def live(self, entity: str) -> list[Any]:
        view = self.store.view(entity, "id")
        return self.store.records(entity, view.keys(0, len(view)))


@pytest.fixture
def rest(sandbox: SandboxServer) -> Rest:
    return Rest(sandbox)


def mutate(sandbox: SandboxServer, domain: str, entity: str, op: str, count: int) -> list[int]:
    answer = requests.post(
        f"{sandbox.url}/_sandbox/mutate",
        json={"platform": "shopify", "store": domain, "entity": entity, "op": op, "count": count},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    ids: list[int] = answer.json()["ids"]
    return ids


def test_every_list_pages_to_the_end_each_record_once(rest: Rest) -> None:
    for name in ("customers", "orders", "products"):
        extra = {"status": "any"} if name == "orders" else {}
        got = [r["id"] for r in rest.walk(name, limit=37, **extra)]
        assert got == [r.id for r in rest.live(name)], name  # by id, each once


def test_records_are_the_graphql_records_in_rest_shape(rest: Rest, sandbox: SandboxServer) -> None:
    # given the first customer, order and product over REST and over GraphQL
    gql = requests.post(
        f"{rest.api}/graphql.json",
        json={
            "query": "{ customers(first: 1) { nodes { id legacyResourceId email firstName numberOfOrders "
            "amountSpent { amount } } } "
            "orders(first: 1) { nodes { id name totalPriceSet { shopMoney { amount } } } } "
            "products(first: 1) { nodes { id handle variants(first: 5) { nodes { id sku } } } } }"
        },
        headers={"X-Shopify-Access-Token": rest.token},
        timeout=30,
    ).json()["data"]
    customer = rest.get("customers.json", limit=1).json()["customers"][0]
    order = rest.get("orders.json", limit=1, status="any").json()["orders"][0]
    product = rest.get("products.json", limit=1).json()["products"][0]

    # then the keys are the documented REST sample's, and the values GraphQL's
    assert set(customer) == set(fixture("shopify/rest-customers-list-2025-07.json")["customers"][0])
    assert set(order) == set(fixture("shopify/rest-orders-list-2025-07.json")["orders"][0])
    assert set(product) == set(fixture("shopify/rest-products-list-2025-07.json")["products"][0])
    node = gql["customers"]["nodes"][0]
    assert customer["admin_graphql_api_id"] == node["id"] and str(customer["id"]) == node["legacyResourceId"]
    assert customer["email"] == node["email"] and customer["first_name"] == node["firstName"]
    assert str(customer["orders_count"]) == node["numberOfOrders"]
    assert customer["total_spent"] == node["amountSpent"]["amount"]
    assert order["admin_graphql_api_id"] == gql["orders"]["nodes"][0]["id"]
    assert order["name"] == gql["orders"]["nodes"][0]["name"]
    assert order["total_price"] == gql["orders"]["nodes"][0]["totalPriceSet"]["shopMoney"]["amount"]
    variants = [(f"gid://shopify/ProductVariant/{v['id']}", v["sku"]) for v in product["variants"]]
    assert variants == [(v["id"], v["sku"]) for v in gql["products"]["nodes"][0]["variants"]["nodes"]]
    assert isinstance(customer["id"], int) and isinstance(order["line_items"][0]["id"], int)
    one = rest.get(f"customers/{customer['id']}.json").json()
    assert one == {"customer": customer}


def test_filters_select_what_they_document(rest: Rest) -> None:
    orders = rest.live("orders")
    cut = orders[len(orders) // 2].updated_at
    since = rest.walk("orders", status="any", updated_at_min=rest_time(cut), limit=250)
    assert sorted(r["id"] for r in since) == sorted(r.id for r in orders if r.updated_at >= cut)
    # open (the default) leaves the cancelled ones out; any has them all
    cancelled = {r.id for r in orders if r.data["cancelled"]}
    assert (
        cancelled and {r["id"] for r in rest.walk("orders", limit=250)} == {r.id for r in orders} - cancelled
    )
    assert rest.get("orders/count.json", status="any").json() == {"count": len(orders)}
    assert rest.get("orders/count.json").json() == {"count": len(orders) - len(cancelled)}
    # ids, since_id, fields, and created_at_max with a descending order
    customers = rest.live("customers")
    picked = f"{customers[3].id},{customers[7].id}"
    assert [r["id"] for r in rest.get("customers.json", ids=picked).json()["customers"]] == [
        customers[3].id,
        customers[7].id,
    ]
    after = rest.get("customers.json", since_id=customers[-3].id).json()["customers"]
    assert [r["id"] for r in after] == [c.id for c in customers[-2:]]
    slim = rest.get("customers.json", limit=2, fields="id,email").json()["customers"]
    assert [set(r) for r in slim] == [{"id", "email"}, {"id", "email"}]
    top = customers[10].created_at
    older = rest.walk("customers", created_at_max=rest_time(top), order="created_at desc", limit=4)
    assert [r["id"] for r in older] == [c.id for c in customers[:11]][::-1]


def test_page_info_carries_the_filters_and_refuses_new_ones(rest: Rest) -> None:
    first = rest.get("orders.json", status="any", limit=5)
    nxt = first.links["next"]["url"]
    token = dict(parse_qsl(urlsplit(nxt).query))["page_info"]
    refused = rest.get("orders.json", page_info=token, status="any")
    assert refused.status_code == 400 and "page_info" in refused.json()["errors"]
    assert rest.get("orders.json", page_info="not-a-token").status_code == 400
    second = rest.get(nxt)
    assert 'rel="previous"' in second.headers["Link"] and 'rel="next"' in second.headers["Link"]
    back = rest.get(second.links["previous"]["url"]).json()["orders"]
    assert [o["id"] for o in back] == [o["id"] for o in first.json()["orders"]]
    assert rest.get("customers.json", limit=251).status_code == 400


def test_shopify_errors_and_the_call_limit(sandbox: SandboxServer, rest: Rest) -> None:
    # an unknown token, an unknown path, an unknown record: Shopify's REST errors
    refused = rest.get("shop.json", token="shpat_wrong")
    assert refused.status_code == 401
    assert refused.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }
    assert rest.get("no_such_thing.json").json() == {"errors": "Not Found"}
    assert rest.get("customers/1.json").status_code == 404
    write = requests.post(
        f"{rest.api}/customers.json",
        json={"customer": {}},
        headers={"X-Shopify-Access-Token": rest.token},
        timeout=10,
    )
    assert write.status_code == 403 and "write_customers" in write.json()["errors"]
    # the bucket: 40 calls, leaking 2 per second on the basic plan; then 429 with Retry-After
    answers = [rest.get("shop.json") for _ in range(45)]
    limits = [a.headers["X-Shopify-Shop-Api-Call-Limit"] for a in answers if a.status_code == 200]
    assert limits[0].endswith("/40") and any(a.status_code == 429 for a in answers)
    throttled = next(a for a in answers if a.status_code == 429)
    assert float(throttled.headers["Retry-After"]) > 0 and "Exceeded" in throttled.json()["errors"]
    time.sleep(float(throttled.headers["Retry-After"]) + 0.1)
    assert rest.get("shop.json").status_code == 200


def test_shop_scopes_and_events(sandbox: SandboxServer, rest: Rest) -> None:
    shop_body = rest.get("shop.json").json()["shop"]
    assert shop_body["myshopify_domain"] == rest.domain and isinstance(shop_body["id"], int)
    scopes = requests.get(
        f"{sandbox.url}/shopify/{rest.domain}/admin/oauth/access_scopes.json",
        headers={"X-Shopify-Access-Token": rest.token},
        timeout=10,
    ).json()["access_scopes"]
    assert {s["handle"] for s in scopes} >= {"read_customers", "read_orders", "read_products"}
    # given two products deleted and one updated
    gone = mutate(sandbox, rest.domain, "products", "delete", 2)
    changed = mutate(sandbox, rest.domain, "products", "update", 1)
    # then events.json tells of them, filtered as asked
    destroyed = rest.get("events.json", filter="Product", verb="destroy").json()["events"]
    assert sorted(e["subject_id"] for e in destroyed) == sorted(gone)
    assert {e["verb"] for e in destroyed} == {"destroy"} and destroyed[0]["subject_type"] == "Product"
    every = rest.get("events.json", filter="Product").json()["events"]
    assert sorted(e["subject_id"] for e in every) == sorted(gone + changed)
    assert rest.get("events/count.json", filter="Product", verb="destroy").json() == {"count": 2}
    assert rest.get("products/count.json").json() == {"count": SIZES.products - 2}


# --- the ShopifyAPI package (PyPI), unmodified ----------------------------------------------


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    """The sandbox over TLS with its CONNECT proxy: ShopifyAPI builds https://<shop>.myshopify.com
    URLs and opens them with urllib, which honours HTTPS_PROXY and SSL_CERT_FILE."""
    world = World(seed=5, sizes=SIZES, shop_domains=["rest-shop"])
    server = SandboxServer(world, tls=True, proxy=True).start()
    manifest = world.manifest()
    monkeypatch.setenv("HTTPS_PROXY", manifest["proxy"])
    monkeypatch.setenv("https_proxy", manifest["proxy"])
    monkeypatch.setenv("SSL_CERT_FILE", manifest["tls"]["ca_file"])
    urllib.request.install_opener(urllib.request.build_opener())  # urlopen's opener reads them once
    yield server
    shopify.ShopifyResource.clear_session()
    urllib.request.install_opener(None)
    server.stop()


def test_shopify_api_resources_read_the_shop_and_page_every_customer(proxied: SandboxServer) -> None:
    # given a ShopifyAPI session for the shop, activated as its README shows
    entry = proxied.world.manifest()["shopify"]["shops"][0]
    session = shopify.Session(entry["domain"], VERSION, entry["access_token"])
    shopify.ShopifyResource.activate_session(session)
    assert shopify.ShopifyResource.get_site() == f"https://{entry['domain']}/admin/api/{VERSION}"

    # when it reads the shop and pages through the customers to the end
    current = shopify.Shop.current()
    page = shopify.Customer.find(limit=50)
    ids = [c.id for c in page]
    while page.has_next_page():
        page = page.next_page()
        ids += [c.id for c in page]

    # then it has the shop and every customer exactly once
    assert current.myshopify_domain == entry["domain"] == "rest-shop.myshopify.com"
    store = proxied.world.shops[entry["domain"]].store
    view = store.view("customers", "id")
    assert ids == [r.id for r in store.records("customers", view.keys(0, len(view)))]
    assert len(ids) == SIZES.customers == len(set(ids))
    one = shopify.Customer.find(ids[5])
    assert one.id == ids[5] and one.email


def test_a_deleted_record_is_gone_from_rest(sandbox: SandboxServer, rest: Rest) -> None:
    gone = mutate(sandbox, rest.domain, "customers", "delete", 1)[0]
    assert rest.get(f"customers/{gone}.json").json() == {"errors": "Not Found"}
    assert gone not in {c["id"] for c in rest.walk("customers", limit=250)}
    assert rest.get("customers/count.json").json() == {"count": SIZES.customers - 1}


def test_orders_beyond_60_days_need_read_all_orders(sandbox: SandboxServer, rest: Rest) -> None:
    # given a token with read_orders but not read_all_orders (nor read_customers)
    limited = "shpat_limited"
    sandbox.world.shops[rest.domain].tokens[limited] = {"scope": "read_orders", "expires_at": None}
    # then it reads only the last 60 days of orders, and no customers
    answer = rest.get("orders.json", token=limited, status="any", limit=250)
    window = datetime.now(UTC) - timedelta(days=60)
    recent = {o.id for o in rest.live("orders") if o.created_at >= window}
    assert 0 < len(recent) < SIZES.orders
    assert {o["id"] for o in answer.json()["orders"]} == recent
    refused = rest.get("customers.json", token=limited)
    assert refused.status_code == 403 and "read_customers" in refused.json()["errors"]


def test_abandoned_checkouts_are_graphqls_open_by_default(rest: Rest) -> None:
    # given the shop's abandoned checkouts over GraphQL
    gql = requests.post(
        f"{rest.api}/graphql.json",
        json={
            "query": "{ abandonedCheckouts(first: 250) { nodes { id completedAt "
            "totalPriceSet { shopMoney { amount } } } } }"
        },
        headers={"X-Shopify-Access-Token": rest.token},
        timeout=30,
    ).json()["data"]["abandonedCheckouts"]["nodes"]
    # then REST pages through the same ones (status=any), only the unrecovered by default
    every = rest.walk("checkouts", status="any", limit=20)
    assert [c["admin_graphql_api_id"] for c in every] == [n["id"] for n in gql]
    assert [c["total_price"] for c in every] == [n["totalPriceSet"]["shopMoney"]["amount"] for n in gql]
    still_open = [n["id"] for n in gql if n["completedAt"] is None]
    assert 0 < len(still_open) < len(gql)
    assert [c["admin_graphql_api_id"] for c in rest.walk("checkouts", limit=20)] == still_open
    assert rest.get("checkouts/count.json").json() == {"count": len(still_open)}


def test_a_customers_orders(rest: Rest) -> None:
    # given the customer with the most orders
    orders = rest.live("orders")
    index = max(range(SIZES.customers), key=lambda i: sum(o.data["customer"] == i for o in orders))
    customer_id = rest.store.id_of("customers", index)
    # then its orders list holds exactly its orders, paged
    got = rest.walk(f"customers/{customer_id}/orders", "orders", status="any", limit=2)
    assert [o["id"] for o in got] == [o.id for o in orders if o.data["customer"] == index]
    assert len(got) > 2 and all(o["customer"]["id"] == customer_id for o in got)
    assert rest.get("customers/1/orders.json").json() == {"errors": "Not Found"}
