"""The sandbox's Magento REST surface over real HTTP: tokens, routes and store-code scopes,
shapes checked against Adobe's published payloads, and orders whose parts add up."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.world import World
from tests.sandbox.magento_rig import Magento

PUBLISHED = Path(__file__).resolve().parents[1] / "fixtures" / "magento"
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def published(name: str) -> Any:
    return json.loads((PUBLISHED / name).read_text())


def test_a_missing_or_wrong_token_is_refused_naming_the_resource(magento: Magento) -> None:
    for token in ("", "0" * 32, f"{magento.token}x"):
        response = magento.get("customers/search", {"searchCriteria": ""}, token=token)
        assert response.status_code == 401
        assert response.json() == published("errors.json")["unauthorized"]
    assert magento.get("orders/1", token="nope").json()["parameters"] == {
        "resources": "Magento_Sales::actions_view"
    }


def test_the_admin_token_endpoint_trades_a_password_for_a_bearer_token(magento: Magento) -> None:
    url = f"{magento.url}/rest/V1/integration/admin/token"
    # when the admin signs in with the wrong password, then with the right one
    wrong = requests.post(url, json={"username": "admin", "password": "guess"}, timeout=10)
    missing = requests.post(url, json={"username": "admin"}, timeout=10)
    right = requests.post(url, json={"username": "admin", "password": magento.admin_password}, timeout=10)
    # then the first is refused, the second says what is missing, the third's token reads the store
    assert wrong.status_code == 401 and "sign-in was incorrect" in wrong.json()["message"]
    assert missing.status_code == 400 and missing.json()["parameters"] == {"fieldName": "password"}
    token = right.json()
    assert right.status_code == 200 and isinstance(token, str) and len(token) == 32
    assert magento.get("store/websites", token=token).status_code == 200


def test_unknown_routes_and_store_codes(magento: Magento) -> None:
    assert magento.get("nothing/here").status_code == 404
    assert magento.get("nothing/here").json() == published("errors.json")["no_route"]
    unknown = magento.get("orders/1", scope="nowhere")
    assert unknown.status_code == 400 and "store that was requested" in unknown.json()["message"]
    plain = magento.get("orders/1").content
    assert magento.get("orders/1", scope="default").content == plain
    assert magento.get("orders/1", scope="all").content == plain
    assert magento.get("orders/999999").status_code == 404
    other_store = f"{magento.url.rsplit('/', 1)[0]}/nope/rest/V1/orders/1"
    for elsewhere in (other_store, f"{magento.url}/rest/V2/orders"):
        response = requests.get(elsewhere, timeout=10)
        assert response.status_code == 404 and response.json() == published("errors.json")["no_route"]


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def same_kinds(ours: Any, theirs: Any, where: str = "") -> list[str]:
    """Where a field both payloads carry has a different JSON kind (null matches anything)."""
    if ours is None or theirs is None:
        return []
    if kind(ours) != kind(theirs):
        return [f"{where}: {kind(ours)} != {kind(theirs)}"]
    if isinstance(ours, dict):
        shared = ours.keys() & theirs.keys()
        return [m for k in shared for m in same_kinds(ours[k], theirs[k], f"{where}.{k}")]
    if isinstance(ours, list) and ours and theirs:
        return same_kinds(ours[0], theirs[0], f"{where}[0]")
    return []


@pytest.mark.parametrize(
    ("path", "fixture"),
    [
        ("orders/1", "order.json"),
        ("customers/1", "customer.json"),
        ("products/SKU-1", "product_configurable.json"),
        ("products/SKU-1-0", "product_simple.json"),  # a configurable's child (SKU-1 has three)
    ],
)
def test_records_carry_the_published_fields_with_the_published_kinds(
    magento: Magento, path: str, fixture: str
) -> None:
    ours, theirs = magento.get(path).json(), published(fixture)
    ignore = {"custom_attributes", "options", "product_links", "media_gallery_entries", "tier_prices"}
    missing = set(theirs) - set(ours) - ignore
    core = {"entity_id", "id", "increment_id", "created_at", "updated_at", "items", "billing_address"}
    core |= {"status", "state", "email", "sku", "type_id", "visibility", "price", "extension_attributes"}
    assert not (missing & core), missing & core
    assert same_kinds(ours, theirs) == []
    assert STAMP.match(ours["created_at"]) and STAMP.match(ours["updated_at"])


def test_documents_and_store_lists_have_the_published_shapes(magento: Magento) -> None:
    shipment = magento.search("shipments", pageSize=1)["items"][0]
    memo = magento.search("creditmemos", pageSize=1)["items"][0]
    assert same_kinds(shipment, published("shipment.json")) == []
    assert same_kinds(memo, published("creditmemo.json")) == []
    views, websites = magento.get("store/storeViews").json(), magento.get("store/websites").json()
    assert views[:2] == published("store_views.json") and websites[:2] == published("websites.json")
    assert {v["code"] for v in views} == {"admin", "default", "eu_en"}
    configs = magento.get("store/storeConfigs").json()
    assert [c["code"] for c in configs] == ["default", "eu_en"]
    assert all(c["base_url"] == f"{magento.url}/" and c["timezone"] for c in configs)


def test_order_items_count_units_and_revenue_once_over_parents(magento: Magento) -> None:
    orders = magento.search("orders")["items"]
    kinds: dict[str, int] = {}
    for order in orders:
        items = {i["item_id"]: i for i in order["items"]}
        parents = [i for i in order["items"] if "parent_item_id" not in i]
        for child in (i for i in order["items"] if "parent_item_id" in i):
            parent = items[child["parent_item_id"]]
            kinds[parent["product_type"]] = kinds.get(parent["product_type"], 0) + 1
            assert child["product_type"] == "simple" and child["qty_ordered"] == parent["qty_ordered"]
            if parent["product_type"] == "configurable":  # the child's SKU, no price
                assert (child["sku"], child["row_total"]) == (parent["sku"], 0)
            else:  # a bundle: its SKU then the selection's; the selection priced within it
                assert parent["product_type"] == "bundle"
                assert (
                    parent["sku"].endswith("-" + child["sku"]) and child["row_total"] == parent["row_total"]
                )
        revenue = sum(Decimal(str(i["row_total"])) for i in parents)
        assert revenue == Decimal(str(order["subtotal"]))
        assert order["total_qty_ordered"] == sum(i["qty_ordered"] for i in parents)
        assert order["extension_attributes"]["shipping_assignments"][0]["items"] == order["items"]
        assert (order["customer_id"] is None) == (order["customer_is_guest"] == 1)
    assert kinds["configurable"] > 30 and kinds["bundle"] > 5


def test_shipments_refunds_and_invoices_follow_their_orders(magento: Magento) -> None:
    orders = {o["entity_id"]: o for o in magento.search("orders")["items"]}
    shipments = magento.all("shipments", size=40)
    memos = magento.all("creditmemos", size=40)
    invoices = magento.all("invoices", size=40)
    for s in shipments:
        order = orders[s["order_id"]]
        item_ids = {i["item_id"] for i in order["items"]}
        assert {i["order_item_id"] for i in s["items"]} <= item_ids
        assert s["tracks"][0]["track_number"] and s["tracks"][0]["carrier_code"]
        assert order["state"] != "canceled"
    refunded = {o for o, order in orders.items() if order["total_refunded"]}
    assert {m["order_id"] for m in memos} == refunded and refunded
    for m in memos:
        assert m["grand_total"] == orders[m["order_id"]]["total_refunded"]
    assert {i["order_id"] for i in invoices} == {o for o, order in orders.items() if order["total_paid"]}
    one = shipments[0]
    by_order = magento.search("shipments", [("order_id", str(one["order_id"]), "eq")])["items"]
    assert one in by_order and all(s["order_id"] == one["order_id"] for s in by_order)
    assert magento.get(f"shipment/{one['entity_id']}").json() == one


def test_a_bundle_lists_its_selections(magento: Magento) -> None:
    rows = {p["id"]: p for p in magento.search("products")["items"]}
    bundle = next(p for p in rows.values() if p["type_id"] == "bundle")
    [option] = bundle["extension_attributes"]["bundle_product_options"]
    for link in option["product_links"]:
        selection = rows[int(link["id"])]
        assert (selection["sku"], selection["price"], selection["type_id"]) == (
            link["sku"],
            link["price"],
            "simple",
        )
    assert magento.get(f"configurable-products/{bundle['sku']}/children").status_code == 404


def test_configurable_children_and_stock(magento: Magento) -> None:
    parent = next(p for p in magento.search("products")["items"] if p["type_id"] == "configurable")
    children = magento.get(f"configurable-products/{parent['sku']}/children").json()
    links = parent["extension_attributes"]["configurable_product_links"]
    assert [c["id"] for c in children] == links and all(c["visibility"] == 1 for c in children)
    child = children[0]
    assert magento.get(f"products/{child['sku']}").json() == child
    stock = magento.get(f"stockItems/{child['sku']}").json()
    assert {"qty", "is_in_stock", "product_id"} <= set(stock)
    rows = magento.search("inventory/source-items", [("sku", child["sku"], "eq")])["items"]
    units = child["extension_attributes"]["stock_item"]["qty"]
    assert sum(r["quantity"] for r in rows) == units == stock["qty"]
    assert magento.get("products/NOPE-1").status_code == 404


def test_the_same_seed_gives_the_same_bytes_and_shares_people_with_other_platforms() -> None:
    sizes = Sizes(40, 60, 10)
    worlds = [World(seed=3, sizes=sizes, magento_stores=1) for _ in range(2)]
    servers = [SandboxServer(w).start() for w in worlds]
    try:
        bodies = []
        for w in worlds:
            entry = w.manifest()["magento"]["stores"][0]
            headers = {"Authorization": f"Bearer {entry['access_token']}"}
            url = f"{entry['url']}/rest/V1/customers/search?searchCriteria"
            bodies.append(requests.get(url, headers=headers, timeout=10).content)
        assert bodies[0] == bodies[1]
        emails = {c["email"] for c in json.loads(bodies[0])["items"]}
        world = worlds[0]
        shop = next(iter(world.shops.values())).store.dataset
        site = next(iter(world.woo.values())).store.dataset
        for other in (shop, site):
            theirs = {other.customer(i)["email"] for i in range(sizes.customers)}
            assert 0 < len(emails & theirs) < len(emails)
    finally:
        for server in servers:
            server.stop()
