"""The sync's GraphQL queries fit Shopify's cost limit, and map to the same CRM rows as the
webhook (REST) payloads of the same records: one record, one truth, whichever way it came."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from platforms.base import MapContext
from platforms.shopify import mapper
from platforms.shopify.client import ShopifyClient
from platforms.shopify.queries import page_query
from platforms.shopify.reader import ShopifyReader
from sandbox.server import SandboxServer
from sandbox.shopify.shapes import customer_rest, order_rest, product_rest
from sandbox.state import SandboxStore

SHOP = "sandbox-shop-1.myshopify.com"
COMPARED = {
    "customers": ("platform_id", "email", "first_name", "last_name", "phone_e164", "source_updated_at"),
    "orders": (
        "platform_id",
        "name",
        "email",
        "total_price",
        "total_tax",
        "currency",
        "customer_platform_id",
        "channel",
        "shipping_country",
        "shipping_region",
        "source_updated_at",
        "financial_status",
    ),
    "products": ("platform_id", "title", "handle", "status", "vendor", "product_type", "source_updated_at"),
}
CHILDREN = {
    "orders": ("order_line_items", ("platform_id", "sku", "quantity", "price")),
    "products": ("product_variants", ("platform_id", "sku", "price")),
}
REST = {"customers": customer_rest, "orders": order_rest, "products": product_rest}
FROM_REST = {"customers": mapper.customer_rows, "orders": mapper.order_rows, "products": mapper.product_rows}


def client(sandbox: SandboxServer) -> ShopifyClient:
    shop = sandbox.world.manifest()["shopify"]["shops"][0]
    return ShopifyClient(sandbox.world.shop_url_template().format(shop=SHOP), shop["access_token"], "2026-07")


def index_in(store: SandboxStore, entity: str, node: dict[str, Any]) -> int:
    """Where the sandbox keeps the record a GraphQL node (gid://shopify/Kind/<id>) names."""
    index = store.index_of(entity, int(node["id"].rsplit("/", 1)[-1]))
    assert index is not None, node["id"]
    return index


def pick(row: dict[str, Any], fields: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(
        Decimal(row[f]).quantize(Decimal("0.01")) if isinstance(row.get(f), Decimal) else row.get(f)
        for f in fields
    )


@pytest.mark.parametrize("entity", ["customers", "orders", "products"])
def test_graphql_and_rest_payloads_map_to_the_same_rows(sandbox: SandboxServer, entity: str) -> None:
    answer = client(sandbox).graphql(page_query(entity), {"after": None, "query": None})
    assert answer["extensions"]["cost"]["requestedQueryCost"] <= 1000
    nodes = answer["data"][entity]["nodes"]
    assert nodes
    if entity == "orders":  # a page holds an order's first lines; the reader fetches the rest
        reader = ShopifyReader(client(sandbox))
        for order in nodes:
            reader.with_all_line_items(order)
    store = sandbox.world.shops[SHOP].store
    ctx = MapContext(country="US")
    for node in nodes:
        via_graphql = mapper.GRAPHQL_MAPPERS[entity](node, ctx)
        record = store.get(entity, index_in(store, entity, node))
        via_rest = FROM_REST[entity](REST[entity](store, record), ctx)
        assert pick(via_graphql.rows[entity][0], COMPARED[entity]) == pick(
            via_rest.rows[entity][0], COMPARED[entity]
        )
        if entity in CHILDREN:
            table, fields = CHILDREN[entity]
            graphql_children = sorted(pick(r, fields) for r in via_graphql.rows.get(table, []))
            rest_children = sorted(pick(r, fields) for r in via_rest.rows.get(table, []))
            assert graphql_children == rest_children


def test_bulk_output_reassembles_into_the_same_rows(sandbox: SandboxServer) -> None:
    import time

    import requests

    from platforms.shopify.bulk import assemble
    from platforms.shopify.queries import bulk_query as connectors_bulk_query

    shopify = client(sandbox)
    bulk_query = connectors_bulk_query("orders", None)  # what the connector sends, edges { node } within
    started = shopify.graphql(
        "mutation($q: String!) { bulkOperationRunQuery(query: $q, groupObjects: true) "
        "{ bulkOperation { id } userErrors { message } } }",  # as the connector asks: assemble needs it
        {"q": bulk_query},
    )
    assert started["data"]["bulkOperationRunQuery"]["userErrors"] == []
    for _ in range(200):
        op = shopify.graphql("{ currentBulkOperation { status url rootObjectCount } }")["data"][
            "currentBulkOperation"
        ]
        if op["status"] == "COMPLETED":
            break
        time.sleep(0.05)
    lines = requests.get(op["url"], timeout=30).iter_lines()
    store = sandbox.world.shops[SHOP].store
    ctx = MapContext(country="US")
    count = 0
    for node in assemble(lines):
        count += 1
        via_bulk = mapper.order_from_graphql(node, ctx)
        record = store.get("orders", index_in(store, "orders", node))
        via_rest = mapper.order_rows(order_rest(store, record), ctx)
        assert pick(via_bulk.rows["orders"][0], COMPARED["orders"]) == pick(
            via_rest.rows["orders"][0], COMPARED["orders"]
        )
        table, fields = CHILDREN["orders"]
        assert sorted(pick(r, fields) for r in via_bulk.rows[table]) == sorted(
            pick(r, fields) for r in via_rest.rows[table]
        )
    assert count == int(op["rootObjectCount"]) == store.live_count("orders")


def test_bulk_lines_naming_an_unknown_parent_are_refused() -> None:
    from platforms.shopify.bulk import assemble

    lines = [
        '{"id":"gid://shopify/Order/1"}',
        '{"id":"gid://shopify/LineItem/2","__parentId":"gid://shopify/Order/9"}',
    ]
    with pytest.raises(ValueError, match="unknown parent"):
        list(assemble(lines))
