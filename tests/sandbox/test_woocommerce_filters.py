"""WooCommerce list filters, default orders, the catalog endpoints and WordPress's JSON
errors, checked against the sandbox's own records through the real `woocommerce` client."""

from __future__ import annotations

from typing import Any

import pytest
from woocommerce import API

from sandbox.server import SandboxServer
from sandbox.woocommerce import catalog
from tests.conftest_sandbox import SIZES
from tests.sandbox.test_woocommerce import all_pages, site_of


@pytest.fixture
def wc(sandbox: SandboxServer) -> API:
    url, key, secret = site_of(sandbox.world)
    return API(url=url, consumer_key=key, consumer_secret=secret, version="wc/v3", timeout=10)


def ids(records: list[dict[str, Any]]) -> list[int]:
    return [r["id"] for r in records]


def test_customers_come_by_name_and_orders_newest_first_by_default(wc: API) -> None:
    customers, _ = all_pages(wc, "customers")
    names = [f"{c['first_name']} {c['last_name']}".lower() for c in customers]
    assert names == sorted(names) and len(customers) == SIZES.customers
    orders = wc.get("orders", params={"per_page": 100}).json()
    created = [o["date_created_gmt"] for o in orders]
    assert created == sorted(created, reverse=True)


def test_status_customer_and_date_filters_answer_exactly_the_matching_orders(wc: API) -> None:
    everything, _ = all_pages(wc, "orders", orderby="id", order="asc")
    some = everything[len(everything) // 3]
    cases = {
        "status=completed": ({"status": "completed"}, lambda o: o["status"] == "completed"),
        "status list": ({"status": "pending,on-hold"}, lambda o: o["status"] in ("pending", "on-hold")),
        "customer": ({"customer": some["customer_id"]}, lambda o: o["customer_id"] == some["customer_id"]),
        "guests": ({"customer": 0}, lambda o: o["customer_id"] == 0),
        "after (GMT)": (
            {"after": some["date_created_gmt"], "dates_are_gmt": "true"},
            lambda o: o["date_created_gmt"] > some["date_created_gmt"],
        ),
        "before (site time)": (
            {"before": some["date_created"]},
            lambda o: o["date_created"] < some["date_created"],
        ),
        "product": (
            {"product": some["line_items"][0]["product_id"]},
            lambda o: some["line_items"][0]["product_id"] in [li["product_id"] for li in o["line_items"]],
        ),
        "search by email": (
            {"search": some["billing"]["email"]},
            lambda o: o["billing"]["email"] == some["billing"]["email"],
        ),
        "exclude": (
            {"exclude": f"{everything[0]['id']},{everything[1]['id']}"},
            lambda o: o["id"] not in ids(everything[:2]),
        ),
    }
    for name, (params, wanted) in cases.items():
        got, responses = all_pages(wc, "orders", orderby="id", order="asc", **params)
        expected = [o["id"] for o in everything if wanted(o)]
        assert ids(got) == expected, name
        assert int(responses[0].headers["X-WP-Total"]) == len(expected), name


def test_customer_email_search_and_product_sku_filters(wc: API) -> None:
    customers, _ = all_pages(wc, "customers", orderby="id")
    one = customers[5]
    assert ids(wc.get("customers", params={"email": one["email"].upper()}).json()) == [one["id"]]
    found = ids(all_pages(wc, "customers", orderby="id", search=one["last_name"].lower())[0])
    assert one["id"] in found and all(one["last_name"] in str(c) for c in customers if c["id"] in found)
    assert wc.get("customers", params={"role": "administrator"}).json() == []
    products, _ = all_pages(wc, "products", orderby="id", order="asc")
    simple = next(p for p in products if p["sku"])
    assert ids(wc.get("products", params={"sku": simple["sku"]}).json()) == [simple["id"]]
    variable = [p["id"] for p in products if p["type"] == "variable"]
    assert ids(all_pages(wc, "products", orderby="id", order="asc", type="variable")[0]) == variable
    titled = all_pages(wc, "products", orderby="title", order="asc")[0]
    assert [p["name"].lower() for p in titled] == sorted(p["name"].lower() for p in products)


def test_include_keeps_paging_and_orders_by_the_list_when_asked(wc: API) -> None:
    chosen = [i for i in ids(wc.get("orders", params={"per_page": 9}).json())][::-1]
    page = wc.get(
        "orders", params={"include": ",".join(map(str, chosen)), "orderby": "include", "per_page": 5}
    )
    assert ids(page.json()) == chosen[:5] and page.headers["X-WP-Total"] == "9"


@pytest.mark.parametrize(
    ("path", "params", "bad"),
    [
        ("orders", {"per_page": 101}, "per_page"),
        ("orders", {"per_page": 0}, "per_page"),
        ("orders", {"page": "two"}, "page"),
        ("orders", {"status": "shipped"}, "status"),
        ("orders", {"modified_after": "yesterday"}, "modified_after"),
        ("orders", {"orderby": "total"}, "orderby"),
        ("customers", {"email": "not-an-email"}, "email"),
        ("customers", {"orderby": "date"}, "orderby"),
        ("products", {"include": "1,x"}, "include"),
        ("products/reviews", {"per_page": 500}, "per_page"),
        ("coupons", {"after": "2024-13"}, "after"),
    ],
)
def test_bad_parameters_get_wordpress_rest_invalid_param(
    wc: API, path: str, params: dict[str, Any], bad: str
) -> None:
    answer = wc.get(path, params=params)
    body = answer.json()
    assert answer.status_code == 400 and body["code"] == "rest_invalid_param"
    assert body["message"] == f"Invalid parameter(s): {bad}" and bad in body["data"]["params"]


@pytest.mark.parametrize(
    "path", ["widgets", "orders/1/shipments", "system_status/nothing", "products/brands"]
)
def test_unknown_routes_get_wordpress_rest_no_route_in_json(wc: API, path: str) -> None:
    answer = wc.get(path)
    assert answer.status_code == 404 and answer.headers["Content-Type"] == "application/json"
    assert answer.json()["code"] == "rest_no_route"
    assert wc.post("customers/batch-nothing", {}).json()["code"] == "rest_no_route"


def test_categories_and_tags_name_what_the_products_carry(wc: API) -> None:
    products, _ = all_pages(wc, "products", orderby="id")
    categories = wc.get("products/categories", params={"per_page": 100}).json()
    tags = wc.get("products/tags", params={"per_page": 100}).json()
    assert [c["name"].lower() for c in categories] == sorted(c["name"].lower() for c in categories)
    by_id = {c["id"]: c for c in categories} | {t["id"]: t for t in tags}
    for p in products:
        for term in p["categories"] + p["tags"]:
            assert by_id[term["id"]]["name"] == term["name"]
    published = [p for p in products if p["status"] == "publish"]
    for c in categories:
        assert c["count"] == sum(1 for p in published if p["categories"][0]["id"] == c["id"])


def test_reviews_match_the_products_ratings_and_filter_by_product(wc: API) -> None:
    reviews, _ = all_pages(wc, "products/reviews")
    products, _ = all_pages(wc, "products", orderby="id")
    assert reviews and [r["date_created_gmt"] for r in reviews] == sorted(
        (r["date_created_gmt"] for r in reviews), reverse=True
    )
    for p in products:
        mine = [r for r in reviews if r["product_id"] == p["id"]]
        assert p["rating_count"] == len(mine)
        assert ids(wc.get("products/reviews", params={"product": p["id"]}).json()) == ids(mine)


def test_order_notes_and_refunds_follow_the_order(wc: API, sandbox: SandboxServer) -> None:
    orders, _ = all_pages(wc, "orders", orderby="id")
    refunded = next(o for o in orders if o["refunds"])
    refunds = wc.get(f"orders/{refunded['id']}/refunds").json()
    assert ids(refunds) == [r["id"] for r in refunded["refunds"]]
    assert f"-{refunds[0]['amount']}" == refunded["refunds"][0]["total"]
    shipped = next(o for o in orders if o["status"] == "completed")
    notes = wc.get(f"orders/{shipped['id']}/notes").json()
    to_customer = wc.get(f"orders/{shipped['id']}/notes", params={"type": "customer"}).json()
    assert notes and all(n["customer_note"] for n in to_customer) and set(ids(to_customer)) < set(ids(notes))
    assert wc.get("orders/999999/notes").status_code == 404


def test_coupons_and_system_status_tools_are_listed(wc: API, sandbox: SandboxServer) -> None:
    coupons = wc.get("coupons").json()
    assert len(coupons) == len(catalog.coupons(sandbox.world.woo["site-1"].store.dataset, ""))
    newest = coupons[0]
    later = wc.get("coupons", params={"modified_after": newest["date_modified_gmt"], "dates_are_gmt": "true"})
    assert later.json() == []
    assert wc.get(f"coupons/{newest['id']}").json()["code"] == newest["code"]
    tools = wc.get("system_status/tools").json()
    assert "clear_transients" in ids(tools)
