"""The query cost over real HTTP, held to the figures Shopify itself answered: given the
sandbox shop, when a client sends a query Shopify was seen pricing, then the sandbox's
`extensions.cost` says the same (requested and actual), and page sizes are charged on
Shopify's logarithmic scale, not linearly."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxServer
from sandbox.shopify.cost import node_multiplier
from tests.sandbox.shopify_admin import Admin


@pytest.fixture
def admin(sandbox: SandboxServer) -> Admin:
    return Admin(sandbox)


def test_the_api_references_sample_costs_what_shopify_answered(admin: Admin) -> None:
    # given the sample of shopify.dev/docs/api/admin-graphql (requestedQueryCost 3, actualQueryCost 3)
    query = "{ products(first: 1) { edges { node { title } } } }"
    # when it is sent, then it costs 3 both ways: the connection 2, one node 1, its edge nothing
    cost = admin.post({"query": query})["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (3, 3)


def test_nested_first_250_costs_what_shopify_answered_not_the_linear_503(admin: Admin) -> None:
    # given community.shopify.dev/t/23101's query, for a product that does not exist
    query = """query getVariantsInventoryItem($id: ID!) { product(id: $id) {
      variants(first: 250) { nodes { inventoryItem { id tracked } } } } }"""
    body = {"query": query, "variables": {"id": "gid://shopify/Product/999999999"}}
    # when it is sent
    answer = admin.post(body)
    # then product is null, and the cost is Shopify's: 25 requested (1 + 2 + 11 x 2), 1 actual
    assert answer["data"] == {"product": None}
    cost = answer["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (25, 1)


def test_the_actual_cost_sizes_connections_by_what_they_returned(admin: Admin) -> None:
    # given a shop with fewer customers tagged `nobody-has-this` than asked for (none)
    query = '{ customers(first: 250, query: "tag:nobody-has-this") { nodes { id defaultAddress { id } } } }'
    # when it is asked, then 11 nodes of 2 are requested and an empty page is charged 2
    cost = admin.post({"query": query})["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (2 + 11 * 2, 2)


def test_a_list_with_first_is_charged_once_not_sized_as_stores_answered(admin: Admin) -> None:
    # given Order.fulfillments and Fulfillment.trackingInfo, plain lists that take `first` (not
    # connections): real stores charged such lists once, whatever `first` says (55 of 55 captured
    # queries with `fulfillments(first: 5)`, e.g. 49 where sizing it would say 69;
    # docs/platform-facts-extra.md "Shopify query cost", fact 1)
    query = """{ orders(first: 1) { nodes {
      fulfillments(first: 250) { id trackingInfo(first: 250) { number } } } } }"""
    # when it is asked, then one order is charged its node and each list once: 2 + 1 x (1 + 1 + 1)
    cost = admin.post({"query": query})["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 5


@pytest.mark.parametrize(
    ("size", "charged"),
    [(0, 0), (1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (10, 4), (50, 7), (100, 9), (250, 11)],
)
def test_a_page_of_n_nodes_is_charged_floor_2_ln_n(size: int, charged: int) -> None:
    assert node_multiplier(size) == charged


def test_a_bad_page_size_is_refused_before_anything_runs(admin: Admin) -> None:
    # given page sizes Shopify refuses
    for size in (251, -1):
        # when asked, then the answer is an error and no data
        answer = admin.post({"query": f"{{ customers(first: {size}) {{ nodes {{ id }} }} }}"})
        assert answer["errors"] and not answer.get("data"), answer


def test_money_costs_nothing_and_a_count_ten_as_a_store_answered(admin: Admin) -> None:
    # given a query a 2026 store priced at 13 (shopify-draft-proxy's conformance capture
    # order-edit-residual-live-capture.json): two connections of 10, a money bag
    query = """query ResidualEditDownstream($id: ID!) { order(id: $id) { id
      lineItems(first: 10) { nodes { title quantity currentQuantity } }
      shippingLines(first: 10) { nodes { title } }
      totalPriceSet { shopMoney { amount currencyCode } } } }"""
    order = admin.shop.store.id_of("orders", 0)
    answer = admin.post({"query": query, "variables": {"id": f"gid://shopify/Order/{order}"}})
    # then it costs 13 here too: order 1 + 2 x (2 + 4 x 1), the money nothing
    assert "errors" not in answer, answer
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 13
    # and a count costs 10, as productsCount did there (products-catalog-page.json: 14 in all)
    count = admin.post({"query": "{ ordersCount { count } }"})["extensions"]["cost"]
    assert count["requestedQueryCost"] == 10
