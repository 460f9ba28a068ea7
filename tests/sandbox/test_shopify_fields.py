"""Standard fields over real HTTP: given the sandbox's schema, when a client asks for every
field of customers, orders, products, variants and abandoned checkouts (and of their
children, a few levels down) in one query, then the query validates as a whole and every
field resolves, with Shopify's shapes (gids, money as strings, times in UTC with Z)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)

from sandbox.server import SandboxServer
from sandbox.shopify import graphql as gql
from tests.sandbox.shopify_admin import Admin

ROOTS = ["customers", "orders", "products", "productVariants", "abandonedCheckouts"]
SKIP_ARGS = {"first", "after", "last", "before", "reverse", "sortKey", "query"}


@pytest.fixture
def admin(sandbox: SandboxServer) -> Admin:
    return Admin(sandbox)


def selection(named: Any, depth: int) -> str:
    """Every field of `named` (leaves, then objects while depth lasts), as GraphQL text."""
    if isinstance(named, GraphQLUnionType | GraphQLInterfaceType):
        kinds = gql.schema().get_possible_types(named)
        return "{ __typename " + " ".join(f"... on {k.name} {selection(k, depth)}" for k in kinds) + " }"
    assert isinstance(named, GraphQLObjectType)
    parts = ["__typename"]
    for name, field in named.fields.items():
        if not askable(field):
            continue
        inner = get_named_type(field.type)
        if is_leaf_type(inner):
            parts.append(name)
        elif depth > 0 and not inner.name.endswith("Connection"):
            parts.append(f"{name} {selection(inner, depth - 1)}")
    return "{ " + " ".join(parts) + " }"


def askable(field: GraphQLField) -> bool:
    """No argument it cannot do without (a required one the test would have to invent)."""
    return all(not is_non_null_type(a.type) or a.default_value is not None for a in field.args.values())


def full_query(root: str) -> str:
    query_type = gql.schema().query_type
    assert query_type is not None
    conn = get_named_type(query_type.fields[root].type)
    assert isinstance(conn, GraphQLObjectType)
    node = get_named_type(conn.fields["nodes"].type)
    return f"{{ {root}(first: 2) {{ nodes {selection(node, 3)} }} }}"


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves(v, path + "[]")]
    return [(path, value)]


@pytest.mark.parametrize("root", ROOTS)
def test_a_full_field_query_validates_and_resolves_as_a_whole(admin: Admin, root: str) -> None:
    query = full_query(root)
    assert query.count("{") > 20  # it asks for much more than a handful of fields
    answer = admin.post({"query": query})
    assert "errors" not in answer, answer.get("errors")
    nodes = answer["data"][root]["nodes"]
    assert len(nodes) == 2
    for path, value in leaves(nodes):
        name = path.rsplit(".", 1)[-1]
        if name == "id" and value is not None:
            assert re.fullmatch(r"gid://shopify/\w+/[\w-]+", value), (path, value)
        if name in ("createdAt", "updatedAt", "processedAt") and value is not None:
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value), (path, value)
        if name == "amount":
            assert isinstance(value, str) and re.fullmatch(r"-?\d+\.\d\d", value), (path, value)


def test_the_standard_fields_agree_with_the_record(admin: Admin) -> None:
    store = admin.shop.store
    order = store.get("orders", 3)
    answer = admin.post(
        {
            "query": """query($id: ID!) { order(id: $id) { number name currentSubtotalLineItemsQuantity
              totalWeight statusPageUrl discountCodes fulfillmentsCount { count }
              originalTotalPriceSet { shopMoney { amount } }
              transactions { kind amountSet { shopMoney { amount } } }
              shippingLine { code originalPriceSet { shopMoney { amount } } } } }""",
            "variables": {"id": f"gid://shopify/Order/{order.id}"},
        }
    )
    got = answer["data"]["order"]
    o = order.data
    quantity = sum(ln["quantity"] for ln in o["lines"])
    assert got["number"] == o["number"] - 1000 and got["name"] == f"#{o['number']}"
    assert got["currentSubtotalLineItemsQuantity"] == quantity and got["totalWeight"] == str(250 * quantity)
    assert got["originalTotalPriceSet"]["shopMoney"]["amount"] == f"{o['total']:.2f}"
    assert got["fulfillmentsCount"]["count"] == len(o["fulfillments"])
    assert got["shippingLine"]["originalPriceSet"]["shopMoney"]["amount"] == f"{o['shipping']:.2f}"
    assert got["discountCodes"] == (["WELCOME10"] if o["discount"] else [])
    if o["paid"] and not o["cancelled"]:
        sale = {"kind": "SALE", "amountSet": {"shopMoney": {"amount": f"{o['total']:.2f}"}}}
        assert got["transactions"][0] == sale


def test_product_variants_page_through_every_variant_once(admin: Admin) -> None:
    store = admin.shop.store
    products = range(store.overlays["products"].size)
    expected = sum(len(store.get("products", i).data["variants"]) for i in products)
    seen: list[str] = []
    after = None
    while True:
        answer = admin.post(
            {
                "query": "query($a: String) { productVariants(first: 7, after: $a) { "
                "nodes { id product { id } } pageInfo { hasNextPage endCursor } } }",
                "variables": {"a": after},
            }
        )
        conn = answer["data"]["productVariants"]
        seen += [n["id"] for n in conn["nodes"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == expected
    assert seen == sorted(seen, key=lambda g: int(g.rsplit("/", 1)[-1]))
    count = admin.post({"query": "{ productVariantsCount { count } }"})["data"]["productVariantsCount"]
    assert count == {"count": expected}


def test_an_interface_costs_its_dearest_possible_type(admin: Admin) -> None:
    # given fragments on three kinds of media, each one object deep
    query = """{ products(first: 1) { nodes { media(first: 10) { nodes {
      ... on MediaImage { image { url } } ... on Video { sources { url } } ... on Model3d { sources { url } }
    } } } } }"""
    # when it is asked, then a media node costs 1 + the dearest kind (1), not 1 + all three
    answer = admin.post({"query": query})
    # (first: 10 is charged as floor(2 ln 10) = 4 nodes, first: 1 as 1)
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 2 + 1 * (1 + 2 + 4 * (1 + 1))
