"""What Shopify refuses in a bulk query, over real HTTP: given the sandbox shop, when a bulk
query breaks one of Shopify's documented limits, then `bulkOperationRunQuery` answers no
operation and Shopify's own userErrors (the sentences a 2026-04 store answered), nothing starts;
a query at the limits starts."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxServer
from tests.sandbox.test_shopify_bulk import Admin

DEEP = "Bulk queries cannot contain connections with a nesting depth greater than 2."
MANY = "Bulk queries cannot contain more than 5 connections."
NONE = "Bulk queries must contain at least one connection."
LEVELS = "inventoryItem { id inventoryLevels { edges { node { id } } } }"
OTHERS = (
    "collections { edges { node { id } } } media { edges { node { id } } } images { edges { node { id } } }"
)
VARIANTS = "variants { edges { node { id } } }"
DEEP_VARIANTS = f"variants {{ edges {{ node {{ id {LEVELS} }} }} }}"


@pytest.fixture
def admin(sandbox: SandboxServer) -> Admin:
    return Admin(sandbox)


@pytest.mark.parametrize(
    ("query", "messages"),
    [
        (
            "{ products { nodes { id title } } }",
            [
                "All connection fields in a bulk query must select their contents using 'edges' > 'node', "
                "e.g: 'products { edges { node {'. Selecting via 'nodes' is not supported. "
                "Invalid connection fields: 'products'."
            ],
        ),
        (
            "{ orders { edges { node { id lineItems { nodes { id } } } } } }",
            [
                "All connection fields in a bulk query must select their contents using 'edges' > 'node', "
                "e.g: 'lineItems { edges { node {'. Selecting via 'nodes' is not supported. "
                "Invalid connection fields: 'lineItems'."
            ],
        ),
        (
            '{ node(id: "gid://shopify/Product/1") { id } }',
            ["Bulk queries cannot contain a top level `node` field.", NONE],
        ),
        ("{ shop { id } }", [NONE]),
        (
            "{ products { edges { node { id variants { edges { node { id " + LEVELS + " } } } } } } }",
            [DEEP],
        ),
        (
            f"{{ products {{ edges {{ node {{ id v1: {VARIANTS} v2: {VARIANTS} {OTHERS} }} }} }} }}",
            [MANY],
        ),
        (
            f"{{ products {{ edges {{ node {{ id {DEEP_VARIANTS} {OTHERS} }} }} }} }}",
            [DEEP, MANY],
        ),
        (
            "{ products { edges { node { title variants { edges { node { id } } } } } } }",
            [
                "The parent 'node' field for a nested connection must select the 'id' field without an alias "
                "and must be of 'ID' return type. Connection fields without 'id': products."
            ],
        ),
        (
            "{ products { edges { node { pid: id variants { edges { node { id } } } } } } }",
            [
                "The parent 'node' field for a nested connection must select the 'id' field without an alias "
                "and must be of 'ID' return type. Connection fields without 'id': products."
            ],
        ),
        (
            "{ orders { edges { node { id refunds { id refundLineItems { edges { node { id } } } } } } } }",
            ["Queries that contain a connection field within a list field are not currently supported."],
        ),
        ("", ["Invalid bulk query: syntax error, unexpected end of file"]),
        (
            'mutation { bulkOperationCancel(id: "gid://shopify/BulkOperation/1") { userErrors { field } } }',
            ["Invalid operation type. Only `query` operations are supported."],
        ),
    ],
)
def test_a_query_past_shopifys_limits_is_refused_in_shopifys_words(
    admin: Admin, query: str, messages: list[str]
) -> None:
    # when it is started
    answer = admin.start(query)
    # then nothing starts, and each refusal is one INVALID userError on the query
    assert answer["bulkOperation"] is None
    assert answer["userErrors"] == [{"field": ["query"], "message": m, "code": "INVALID"} for m in messages]
    assert admin("{ currentBulkOperation { id } }")["currentBulkOperation"] is None


def test_five_connections_two_deep_is_within_the_limits(admin: Admin) -> None:
    # given products with four connections of their own, each a level below (5 in all, depth 2)
    query = f"{{ products {{ edges {{ node {{ id {VARIANTS} {OTHERS} }} }} }} }}"
    # when it is started, then it runs to completion
    started = admin.start(query)
    assert started["userErrors"] == []
    assert admin.finished(started["bulkOperation"]["id"])["status"] == "COMPLETED"
