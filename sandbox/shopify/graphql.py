"""The Shopify Admin GraphQL API of the sandbox: schema, node objects and connections.

Objects are dicts; fields that take arguments or cost work are callables, which
graphql-core's default resolver calls with the arguments. Root connections page over a
store's view with opaque cursors that encode the sort key, so a deleted record never
shifts a page and every record is visited once.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSchema, build_schema

from sandbox import generator
from sandbox.shopify import fields, order_fields, search, searchable
from sandbox.shopify import shapes as s
from sandbox.shopify.bulk_status import observed
from sandbox.shopify.connection import list_connection, nested, walk
from sandbox.shopify.stats import add_order_to_stats as add_order_to_stats
from sandbox.shopify.stats import customer_stats
from sandbox.state import Record
from sandbox.world import Shop

SORTS = {"UPDATED_AT": "updated", "CREATED_AT": "created", "PROCESSED_AT": "created", "ID": "id"}
ORDERS_WITHOUT_READ_ALL = timedelta(days=60)


@cache
def schema() -> GraphQLSchema:
    here = Path(__file__).parent
    sdl = "\n".join(
        (here / name).read_text()
        for name in ("schema.graphql", "schema_standard.graphql", "schema_products.graphql")
    )
    built = build_schema(sdl)
    fields.install(built)
    built.query_type.fields["node"].resolve = lambda _root, info, id: node_by_gid(info.context, id)  # type: ignore[union-attr]
    return built


# --- search and cursors -----------------------------------------------------------------------


def parse_search(query: str | None) -> dict[str, datetime]:
    """The query's top-level updated_at / created_at bounds (`'updated_at:>'` …, exclusive)."""
    found = search.parse(query)
    bounds: dict[str, datetime] = {}
    for name in ("updated_at", "created_at"):
        after, before = search.time_bounds(found, name)
        if after is not None:
            bounds[f"{name}:>"] = after
        if before is not None:
            bounds[f"{name}:<"] = before - timedelta(microseconds=1)
    return bounds


def encode_cursor(key: tuple[Any, int]) -> str:
    value = key[0].isoformat() if isinstance(key[0], datetime) else key[0]
    return base64.urlsafe_b64encode(json.dumps([value, key[1]]).encode()).decode()


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        value, rec_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return (datetime.fromisoformat(value) if sort != "id" else int(value), int(rec_id))
    except (ValueError, TypeError):
        raise GraphQLError("Invalid cursor for current pagination sort.") from None


# --- connections --------------------------------------------------------------------------------


def root_connection(
    shop: Shop,
    entity: str,
    args: dict[str, Any],
    make: Callable[[Shop, Record], dict[str, Any]],
    *,
    all_orders: bool,
    warn: Callable[[str, list[dict[str, str]]], None] | None = None,
) -> dict[str, Any]:
    first, last = args.get("first"), args.get("last")
    if (first is None) == (last is None):
        raise GraphQLError("you must provide one of first or last")
    count = int(first if first is not None else last or 0)
    if not 0 <= count <= 250:
        raise GraphQLError("first and last must be between 0 and 250")
    sort = SORTS.get(args.get("sortKey") or "ID", "id")
    found = searchable.parse(entity, args.get("query"))
    if found.warnings and warn is not None:
        warn(found.text, found.warnings)
    view = searchable.narrowed(shop, entity, sort, found, _orders_floor(entity, all_orders))
    test = searchable.matcher(shop, entity, found)
    reverse = bool(args.get("reverse")) != (last is not None)
    cursor = args.get("after") if first is not None else args.get("before")
    n = len(view)
    if not reverse:  # members after the cursor, ascending; those before it are "previous"
        at = view.rank(decode_cursor(cursor, sort)) if cursor else 0
        ahead, behind = walk(view, at, n, False), walk(view, 0, at, True)
    else:
        at = view.rank(_just_before(decode_cursor(cursor, sort))) if cursor else n
        ahead, behind = walk(view, 0, at, True), walk(view, at, n, False)
    passing = searchable.matching(shop, entity, ahead, test)
    keys = [k for _, k in zip(range(count), passing, strict=False)]
    more_after = next(passing, None) is not None
    more_before = next(searchable.matching(shop, entity, behind, test), None) is not None
    if last is not None:
        keys.reverse()
        more_after, more_before = more_before, more_after
    nodes = [make(shop, r) for r in shop.store.records(entity, iter(keys))]
    edges = [{"cursor": encode_cursor(k), "node": nd} for k, nd in zip(keys, nodes, strict=True)]
    return {
        "nodes": nodes,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": more_after,
            "hasPreviousPage": more_before,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _just_before(key: tuple[Any, int]) -> tuple[Any, int]:
    return (key[0], key[1] - 1)


def _orders_floor(entity: str, all_orders: bool) -> datetime | None:
    """Without read_all_orders only the last 60 days of orders are visible (platform-facts §(a))."""
    if entity == "orders" and not all_orders:
        return datetime.now(UTC) - ORDERS_WITHOUT_READ_ALL
    return None


def _created_floor(entity: str, bounds: dict[str, datetime], all_orders: bool) -> datetime | None:
    floor, window = bounds.get("created_at:>"), _orders_floor(entity, all_orders)
    if window is not None:
        floor = max(floor, window) if floor else window
    return floor


def count_of(
    shop: Shop,
    entity: str,
    query: str | None,
    limit: int | None = 10_000,
    *,
    all_orders: bool,
    warn: Callable[[str, list[dict[str, str]]], None] | None = None,
) -> dict[str, Any]:
    """`customersCount(query:, limit:)` …: the matches, capped at `limit` (null: no cap)."""
    check_limit(limit)
    found = searchable.parse(entity, query)
    if found.warnings and warn is not None:
        warn(found.text, found.warnings)
    view = searchable.narrowed(shop, entity, "id", found, _orders_floor(entity, all_orders))
    test = searchable.matcher(shop, entity, found)
    if test is None:
        n = len(view)
    else:
        cap = None if limit is None else limit + 1
        passing = searchable.matching(shop, entity, walk(view, 0, len(view), False), test)
        n = sum(1 for _ in itertools.islice(passing, cap))
    return capped(n, limit)


def check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise GraphQLError("limit must be a non-negative integer")


def capped(n: int, limit: int | None) -> dict[str, Any]:
    """A count as Shopify gives it: at most `limit` (10,000 unless the query says; null for
    none), and AT_LEAST when the cap cut it (shopify.dev/changelog/uncapped-graphql-counts)."""
    check_limit(limit)
    if limit is None or n <= limit:
        return {"count": n, "precision": "EXACT"}
    return {"count": limit, "precision": "AT_LEAST"}


# --- nodes ---------------------------------------------------------------------------------------


def customer_node(shop: Shop, rec: Record) -> dict[str, Any]:
    c, store = rec.data, shop.store
    count, spent = customer_stats(shop).get(rec.index, (0, Decimal("0.00")))
    address = s.gql_address(c, s.child_id(store, "address", rec.index, per=1))
    tier = "HIGH" if spent > 500 else "MEDIUM" if spent > 150 else "LOW"
    node: dict[str, Any] = {
        "id": s.gid("Customer", rec.id),
        "legacyResourceId": str(rec.id),
        "firstName": c["first_name"],
        "lastName": c["last_name"],
        "displayName": f"{c['first_name']} {c['last_name']}",
        "email": c["email"],
        "phone": c["phone"],
        "state": c["state"].upper(),
        "tags": [t for t in c["tags"].split(",") if t],
        "note": c["note"],
        "verifiedEmail": True,
        "createdAt": s.gql_time(rec.created_at),
        "updatedAt": s.gql_time(rec.updated_at),
        "numberOfOrders": str(count),
        "amountSpent": s.gql_money(spent, store.dataset.currency),
        "defaultAddress": address,
        "addresses": lambda _info, first=None: [address],
        "emailMarketingConsent": {
            "marketingState": c["email_consent"].upper(),
            "marketingOptInLevel": "SINGLE_OPT_IN" if c["email_consent"] == "subscribed" else None,
            "consentUpdatedAt": s.gql_time(rec.updated_at),
        },
        "smsMarketingConsent": None
        if not c["phone"]
        else {
            "marketingState": c["sms_consent"].upper(),
            "marketingOptInLevel": "SINGLE_OPT_IN" if c["sms_consent"] == "subscribed" else None,
            "consentUpdatedAt": s.gql_time(rec.updated_at),
        },
        "defaultEmailAddress": {"emailAddress": c["email"], "marketingState": c["email_consent"].upper()},
        "statistics": {"predictedSpendTier": tier, "rfmGroup": None},
    }
    return {**node, **fields.customer_more(shop, rec, node, BUILD)}


def order_node(shop: Shop, rec: Record) -> dict[str, Any]:
    o, store = rec.data, shop.store
    cur = o["currency"]
    buyer = s.generator_buyer(store.dataset, o)
    source, _via, utm_source, utm_medium, referrer = o["channel"]
    status = s.fulfillment_status(o)
    display_ff = {"fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED", None: "UNFULFILLED"}[status]
    visit = {
        "id": s.gid("CustomerVisit", rec.id),
        "landingPage": f"https://{store.name}{o['landing_page']}",
        "referrerUrl": referrer,
        "referralCode": None,
        "source": utm_source or (referrer and "referral") or "direct",
        "sourceType": {
            "cpc": "PAID_SEARCH",
            "email": "NEWSLETTER",
            "social": "POST",
            "paid_social": "AD",
        }.get(utm_medium or ""),
        "occurredAt": s.gql_time(rec.created_at - timedelta(hours=3)),
        "utmParameters": {
            "campaign": o["campaign"],
            "content": None,
            "medium": utm_medium,
            "source": utm_source,
            "term": None,
        }
        if utm_source
        else None,
    }
    journey = (
        None
        if source not in ("web", "facebook")
        else {
            "ready": True,
            "customerOrderIndex": 0,
            "daysToConversion": 0,
            "momentsCount": {"count": 1, "precision": "EXACT"},
            "firstVisit": visit,
            "lastVisit": visit,
        }
    )
    customer = (
        (lambda _info: customer_node(shop, store.get("customers", o["customer"])))
        if o["customer"] is not None
        else None
    )
    node: dict[str, Any] = {
        "id": s.gid("Order", rec.id),
        "legacyResourceId": str(rec.id),
        "name": f"#{o['number']}",
        "email": buyer["email"],
        "phone": buyer["phone"],
        "createdAt": s.gql_time(rec.created_at),
        "updatedAt": s.gql_time(rec.updated_at),
        "processedAt": s.gql_time(rec.created_at),
        "cancelledAt": s.gql_time(rec.updated_at) if o["cancelled"] else None,
        "closedAt": None,
        "currencyCode": cur,
        "displayFinancialStatus": s.financial_status(o).upper(),
        "displayFulfillmentStatus": display_ff,
        "sourceName": source,
        "tags": [],
        "note": None,
        "test": False,
        "customerAcceptsMarketing": o["accepts_marketing"],
        "customer": customer,
        "subtotalPriceSet": s.gql_bag(o["subtotal"] - o["discount"], cur),
        "totalPriceSet": s.gql_bag(o["total"], cur),
        "totalTaxSet": s.gql_bag(o["tax"], cur),
        "totalDiscountsSet": s.gql_bag(o["discount"], cur),
        "totalShippingPriceSet": s.gql_bag(o["shipping"], cur),
        "totalRefundedSet": s.gql_bag(o["refund_amount"], cur),
        "currentTotalPriceSet": s.gql_bag(o["total"] - o["refund_amount"], cur),
        "lineItems": nested(lambda: [line_item_node(shop, rec, ln) for ln in o["lines"]]),
        "fulfillments": lambda _info, first=None: [fulfillment_node(shop, rec, f) for f in o["fulfillments"]],
        "refunds": lambda _info, first=None: (
            [
                {
                    "id": s.gid("Refund", s.child_id(store, "refund", rec.index, 0, 1)),
                    "createdAt": s.gql_time(rec.updated_at),
                    "note": "Damaged in transit",
                    "totalRefundedSet": s.gql_bag(o["refund_amount"], cur),
                }
            ]
            if o["refunded"]
            else []
        ),
        "shippingAddress": s.gql_address(buyer),
        "billingAddress": s.gql_address(buyer),
        "channelInformation": {
            "id": s.gid("ChannelInformation", rec.id),
            "channelId": s.gid("Channel", 100 + len(source)),
            "displayName": s.CHANNEL_NAMES.get(source, source),
            "app": {"id": s.gid("App", 580111 + len(source)), "title": s.CHANNEL_NAMES.get(source, source)},
            "channelDefinition": {
                "id": s.gid("ChannelDefinition", len(source)),
                "handle": source,
                "channelName": s.CHANNEL_NAMES.get(source, source),
                "subChannelName": "",
            },
        },
        "customerJourneySummary": journey,
    }
    return {**node, **order_fields.order_more(shop, rec, node, BUILD)}


def line_item_node(shop: Shop, rec: Record, ln: dict[str, Any]) -> dict[str, Any]:
    store = shop.store
    product = store.dataset.product(ln["product"])
    variant = product["variants"][ln["variant"]]
    cur = rec.data["currency"]
    variant_id = s.child_id(store, "variant", ln["product"], ln["variant"], 4)
    node: dict[str, Any] = {
        "id": s.gid("LineItem", s.child_id(store, "line", rec.index, ln["index"])),
        "name": f"{product['title']} - {variant['title']}",
        "title": product["title"],
        "sku": variant["sku"],
        "quantity": ln["quantity"],
        "currentQuantity": ln["quantity"],
        "vendor": product["vendor"],
        "variantTitle": variant["title"],
        "originalUnitPriceSet": s.gql_bag(ln["price"], cur),
        "discountedTotalSet": s.gql_bag(ln["price"] * ln["quantity"], cur),
        "product": {"id": s.gid("Product", store.id_of("products", ln["product"]))},
        "variant": {"id": s.gid("ProductVariant", variant_id), "sku": variant["sku"]},
    }
    return {**node, **order_fields.line_item_more(shop, rec, ln, node, BUILD)}


def fulfillment_node(shop: Shop, rec: Record, f: dict[str, Any]) -> dict[str, Any]:
    fid = s.child_id(shop.store, "fulfillment", rec.index, f["index"], 4)
    node: dict[str, Any] = {
        "id": s.gid("Fulfillment", fid),
        "name": f"#{rec.data['number']}.{f['index'] + 1}",
        "status": "SUCCESS",
        "displayStatus": "DELIVERED" if f["delivered_at"] else "IN_TRANSIT",
        "createdAt": s.gql_time(f["shipped_at"]),
        "updatedAt": s.gql_time(f["delivered_at"] or f["shipped_at"]),
        "deliveredAt": s.gql_time(f["delivered_at"]),
        "inTransitAt": s.gql_time(f["shipped_at"]),
        "trackingInfo": lambda _info, first=None: [
            {"company": f["carrier"], "number": f["tracking_number"], "url": f["tracking_url"]}
        ],
    }
    return {**node, **order_fields.fulfillment_more(shop, rec, f, node)}


def product_node(shop: Shop, rec: Record) -> dict[str, Any]:
    p = rec.data
    node: dict[str, Any] = {
        "id": s.gid("Product", rec.id),
        "legacyResourceId": str(rec.id),
        "title": p["title"],
        "handle": p["handle"],
        "status": p["status"].upper(),
        "vendor": p["vendor"],
        "productType": p["product_type"],
        "tags": p["tags"].split(","),
        "createdAt": s.gql_time(rec.created_at),
        "updatedAt": s.gql_time(rec.updated_at),
        "publishedAt": s.gql_time(rec.created_at) if p["published"] else None,
        "totalInventory": sum(sum(v["inventory"]) for v in p["variants"]),
        "variants": nested(lambda: [variant_node(shop, rec, v) for v in p["variants"]]),
        "collections": nested(
            lambda: [
                {
                    "id": s.gid("Collection", 1000 + len(p["product_type"])),
                    "title": p["product_type"],
                    "handle": p["product_type"].lower(),
                }
            ]
        ),
    }
    return {**node, **fields.product_more(shop, rec, node)}


def variant_node(shop: Shop, rec: Record, v: dict[str, Any]) -> dict[str, Any]:
    store = shop.store
    vid = s.child_id(store, "variant", rec.index, v["index"], 4)
    item_id = s.child_id(store, "inventory_item", rec.index, v["index"], 4)
    levels = [
        {
            "id": s.gid("InventoryLevel", item_id * 10 + n),
            "location": s.location(store, n),
            "quantities": lambda _info, names, q=q: [{"name": name, "quantity": q} for name in names],
        }
        for n, q in enumerate(v["inventory"])
    ]
    node: dict[str, Any] = {
        "id": s.gid("ProductVariant", vid),
        "legacyResourceId": str(vid),
        "title": v["title"],
        "sku": v["sku"],
        "price": s.money(v["price"]),
        "inventoryQuantity": sum(v["inventory"]),
        "createdAt": s.gql_time(rec.created_at),
        "updatedAt": s.gql_time(rec.updated_at),
        "inventoryItem": {
            "id": s.gid("InventoryItem", item_id),
            "sku": v["sku"],
            "tracked": True,
            "inventoryLevels": nested(lambda: levels),
        },
        "product": {"id": s.gid("Product", rec.id)},
    }
    return {**node, **fields.variant_more(shop, rec, v, node, BUILD)}


# --- abandoned checkouts: read-only, generated from the dataset ----------------------------------


def checkouts(shop: Shop, query: str | None) -> list[dict[str, Any]]:
    """The shop's abandoned checkouts that match the search (its id, times and status), by id."""
    ds, found = shop.store.dataset, searchable.parse_checkouts(query)
    every = (generator.checkout(ds, i) for i in range(generator.checkout_count(ds)))
    return [c for c in every if found.matches(searchable.checkout_getter(shop, c))]


def abandoned_checkouts(shop: Shop, args: dict[str, Any]) -> dict[str, Any]:
    first = args.get("first")
    if first is None or not 0 <= int(first) <= 250:
        raise GraphQLError("first must be between 0 and 250")
    items = checkouts(shop, args.get("query"))
    if args.get("sortKey") == "CREATED_AT":
        items.sort(key=lambda c: (c["created_at"], c["index"]))
    if args.get("reverse"):
        items.reverse()
    return list_connection([checkout_node(shop, c) for c in items], int(first), args.get("after"))


def checkout_node(shop: Shop, c: dict[str, Any]) -> dict[str, Any]:
    store, cur = shop.store, c["currency"]
    checkout_id = s.child_id(store, "checkout", c["index"], per=1)
    lines = [
        {
            "id": s.gid(
                "AbandonedCheckoutLineItem", s.child_id(store, "checkout_line", c["index"], ln["index"])
            ),
            "title": store.dataset.product(ln["product"])["title"],
            "quantity": ln["quantity"],
            "originalUnitPriceSet": s.gql_bag(ln["price"], cur),
            "product": {"id": s.gid("Product", store.id_of("products", ln["product"]))},
            "variant": None,
        }
        for ln in c["lines"]
    ]
    customer = c["customer"]
    node: dict[str, Any] = {
        "id": s.gid("AbandonedCheckout", checkout_id),
        "name": f"#{checkout_id}",
        "note": "",
        "createdAt": s.gql_time(c["created_at"]),
        "updatedAt": s.gql_time(c["updated_at"]),
        "completedAt": s.gql_time(c["completed_at"]),
        "abandonedCheckoutUrl": f"https://{shop.domain}/checkouts/{checkout_id}/recover",
        "customer": (lambda _info: customer_node(shop, store.get("customers", customer)))
        if customer is not None and store.exists("customers", customer)
        else None,
        "totalPriceSet": s.gql_bag(c["total"], cur),
        "subtotalPriceSet": s.gql_bag(c["total"], cur),
        "discountCodes": [],
        "taxesIncluded": False,
        "lineItems": nested(lambda: lines),
    }
    return {**node, **fields.checkout_more(shop, c, node, BUILD)}


MAKERS: dict[str, Callable[[Shop, Record], dict[str, Any]]] = {
    "customers": customer_node,
    "orders": order_node,
    "products": product_node,
}
GID_KINDS = {"Customer": "customers", "Order": "orders", "Product": "products"}


def node_by_gid(shop: Shop, value: str) -> dict[str, Any] | None:
    match = re.fullmatch(r"gid://shopify/(\w+)/(\d+)", value or "")
    if not match:
        raise GraphQLError(f"Invalid global id '{value}'")
    kind, rec_id = match.group(1), int(match.group(2))
    if kind == "BulkOperation":
        op = observed(shop, shop.bulk_ops.get(rec_id))
        return {**op, "__typename": "BulkOperation"} if op else None
    entity = GID_KINDS.get(kind)
    if entity is None:
        return None
    index = shop.store.index_of(entity, rec_id)
    if index is None or not shop.store.exists(entity, index):
        return None
    return {**MAKERS[entity](shop, shop.store.get(entity, index)), "__typename": kind}


BUILD = fields.Builders(order=order_node, product=product_node, variant=variant_node)
