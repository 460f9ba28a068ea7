"""The GraphQL the connector sends to Shopify: one selection per entity, shared by the
paged incremental sync and by bulk operations (which take the same query without `first`).

Page sizes keep each query under Shopify's 1,000-point single-query limit (a test holds
the sandbox's cost model to that); backfills use bulk operations, not pages.
"""

from __future__ import annotations

import json
import re

CUSTOMER_FIELDS = """id firstName lastName email phone state tags note createdAt updatedAt
  numberOfOrders amountSpent { amount currencyCode }
  defaultAddress { countryCodeV2 provinceCode city zip address1 }
  emailMarketingConsent { marketingState consentUpdatedAt }
  smsMarketingConsent { marketingState consentUpdatedAt }
  statistics { predictedSpendTier rfmGroup }"""

ORDER_FIELDS = """id name email phone createdAt updatedAt processedAt cancelledAt closedAt currencyCode
  displayFinancialStatus displayFulfillmentStatus sourceName tags customerAcceptsMarketing
  customer { id }
  subtotalPriceSet { shopMoney { amount } } totalPriceSet { shopMoney { amount } }
  totalTaxSet { shopMoney { amount } } totalDiscountsSet { shopMoney { amount } }
  totalShippingPriceSet { shopMoney { amount } } totalRefundedSet { shopMoney { amount } }
  shippingAddress { countryCodeV2 provinceCode city }
  channelInformation { channelDefinition { handle } }
  customerJourneySummary { firstVisit { landingPage referrerUrl utmParameters { source medium campaign } } }
  fulfillments(first: 3) { id status displayStatus createdAt updatedAt deliveredAt
    trackingInfo(first: 1) { company number url } }
  refunds(first: 3) { id createdAt note totalRefundedSet { shopMoney { amount } } }
  lineItems(first: 3) { nodes { LINE_ITEM } pageInfo { hasNextPage endCursor } }"""

LINE_ITEM_FIELDS = """id title sku quantity originalUnitPriceSet { shopMoney { amount } }
    discountedTotalSet { shopMoney { amount } } product { id } variant { id }"""
ORDER_FIELDS = ORDER_FIELDS.replace("LINE_ITEM", LINE_ITEM_FIELDS)
# most orders have one to three lines; the reader pages through the rest of a longer one
MORE_LINE_ITEMS = f"""query($id: ID!, $after: String) {{ node(id: $id) {{ ... on Order {{
  lineItems(first: 100, after: $after) {{ nodes {{ {LINE_ITEM_FIELDS} }}
    pageInfo {{ hasNextPage endCursor }} }}
}} }} }}"""

PRODUCT_FIELDS = """id title handle status vendor productType tags createdAt updatedAt publishedAt
  collections(first: 5) { nodes { title } }
  variants(first: 20) { nodes { id title sku price inventoryQuantity inventoryItem { id } } }"""

CHECKOUT_FIELDS = """id name createdAt updatedAt completedAt abandonedCheckoutUrl customer { id email }
  totalPriceSet { shopMoney { amount currencyCode } }"""

FIELDS = {"customers": CUSTOMER_FIELDS, "orders": ORDER_FIELDS, "products": PRODUCT_FIELDS}
# abandoned checkouts have no updated-time sort or bulk export: pages by creation time
CHECKOUTS_PAGE = f"""query($after: String, $query: String) {{
  abandonedCheckouts(first: 100, after: $after, query: $query, sortKey: CREATED_AT) {{
    nodes {{ {CHECKOUT_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
PAGE_SIZE = {"customers": 100, "orders": 10, "products": 15}


def page_query(entity: str, first: int | None = None) -> str:
    """Pages in updated order from a cursor, filtered by `updated_at` search terms."""
    first = first or PAGE_SIZE[entity]
    return (
        f"query($after: String, $query: String) {{ {entity}(first: {first}, after: $after, query: $query, "
        f"sortKey: UPDATED_AT) {{ nodes {{ {FIELDS[entity]} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    )


def bulk_query(entity: str, search: str | None) -> str:
    """The same selection for a bulk operation: nested connections take no `first` there, and
    select through `edges { node }`, since Shopify refuses `nodes` in a bulk query ("Selecting
    via 'nodes' is not supported", a 2026-04 store's answer)."""
    fields = re.sub(r"(lineItems|variants|collections)\(first: \d+\)", r"\1", FIELDS[entity])
    fields = _through_edges(fields.replace(" pageInfo { hasNextPage endCursor }", ""))
    args = f"(query: {json.dumps(search)})" if search else ""
    return f"{{ {entity}{args} {{ edges {{ node {{ {fields} }} }} }} }}"


def _through_edges(selection: str) -> str:
    """Every `{ nodes { … } }` of a selection as `{ edges { node { … } } }`."""
    out, rest = "", selection
    while (at := rest.find("{ nodes {")) >= 0:
        start = at + len("{ nodes {")
        depth, end = 1, start
        while depth:
            depth += {"{": 1, "}": -1}.get(rest[end], 0)
            end += 1
        out += rest[:at] + "{ edges { node {" + _through_edges(rest[start : end - 1]) + "} }"
        rest = rest[end:]
    return out + rest


def ids_query(entity: str) -> str:
    """Every id of an entity, as a bulk operation (deletion reconciliation)."""
    return f"{{ {entity} {{ edges {{ node {{ id }} }} }} }}"


UNCAPPED_COUNTS_FROM = "2025-07"  # counts take `limit` (default 10,000; null for none) from this version


def count_query(entity: str, api_version: str = UNCAPPED_COUNTS_FROM) -> str:
    """How many records match: uncapped (`limit: null`) where the version has the argument,
    since the default cap of 10,000 would give a backfill's progress a total it overtakes
    (shopify.dev/changelog/uncapped-graphql-counts); "unstable" sorts after every date."""
    limit = ", limit: null" if api_version >= UNCAPPED_COUNTS_FROM else ""
    return f"query($query: String) {{ {entity}Count(query: $query{limit}) {{ count precision }} }}"


def nodes_query(entity: str, gids: list[str]) -> str:
    """Several records by id in one request (aliases), for ids a reconciliation found missing."""
    kind = {"customers": "Customer", "orders": "Order", "products": "Product"}[entity]
    parts = " ".join(
        f"n{i}: node(id: {json.dumps(gid)}) {{ ... on {kind} {{ {FIELDS[entity]} }} }}"
        for i, gid in enumerate(gids)
    )
    return f"{{ {parts} }}"


BULK_STATUS = """query($id: ID!) { node(id: $id) { ... on BulkOperation {
  id status errorCode objectCount rootObjectCount url partialDataUrl } } }"""

BULK_RUN = """mutation($query: String!) { bulkOperationRunQuery(query: $query, groupObjects: true) {
  bulkOperation { id status } userErrors { field message code } } }"""
