"""The standard GraphQL fields of customers, products, variants and abandoned checkouts that
schema_standard.graphql declares, generated from the same record as the node's own fields
(deterministic from the world's seed; what the dataset does not model gets Shopify's value
for a plain shop: no tax exemptions, no gift cards, one image per product)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, GraphQLObjectType, GraphQLSchema

from sandbox.shopify import product_fields, searchable
from sandbox.shopify import shapes as s
from sandbox.shopify.connection import nested, walk
from sandbox.state import STORE_STRIDE, Record, SandboxStore
from sandbox.world import Shop


@dataclass(frozen=True)
class Builders:
    """The node builders of sandbox.shopify.graphql, handed down so a reference (an order's
    line item's product, a customer's last order) resolves to the whole node, lazily."""

    order: Callable[[Shop, Record], dict[str, Any]]
    product: Callable[[Shop, Record], dict[str, Any]]
    variant: Callable[[Shop, Record, dict[str, Any]], dict[str, Any]]


BASE = {"option": 731_005_662_000_000_000, "media": 290_448_120_000_000_000, "image": 414_233_870_000_000_000}


def own_id(store: SandboxStore, kind: str, parent_index: int, n: int = 0, per: int = 4) -> int:
    return BASE[kind] + store.number * STORE_STRIDE + parent_index * per + n


def address(a: dict[str, Any] | None) -> dict[str, Any] | None:
    """A MailingAddress with its derived fields (name, formattedArea, validation)."""
    if a is None:
        return None
    name = " ".join(p for p in (a.get("firstName"), a.get("lastName")) if p)
    return {
        **a,
        "name": name or None,
        "timeZone": None,
        "validationResultSummary": "NO_ISSUES",
        "latitude": None,
        "longitude": None,
        "coordinatesValidated": False,
        "formattedArea": ", ".join(p for p in (a.get("city"), a.get("province"), a.get("country")) if p),
    }


def lifetime(since: datetime) -> str:
    """Shopify's words for how long a customer has been one ("about 1 year", "3 months")."""
    days = (datetime.now(UTC) - since).days
    if days >= 365:
        years = days // 365
        return f"about {years} year" + ("s" if years > 1 else "")
    if days >= 30:
        months = days // 30
        return f"{months} month" + ("s" if months > 1 else "")
    return f"{max(days, 1)} day" + ("s" if days > 1 else "")


def customer_more(shop: Shop, rec: Record, node: dict[str, Any], build: Builders) -> dict[str, Any]:
    default = address(node["defaultAddress"])
    sms = node["smsMarketingConsent"]
    return {
        "defaultAddress": default,
        "addresses": lambda _info, first=None: [default] if default else [],
        "smsMarketingConsent": None if sms is None else {**sms, "consentCollectedFrom": "OTHER"},
        "multipassIdentifier": None,
        "taxExempt": False,
        "taxExemptions": [],
        "validEmailAddress": "@" in (rec.data["email"] or ""),
        "productSubscriberStatus": "NEVER_SUBSCRIBED",
        "dataSaleOptOut": False,
        "locale": "en",
        "lifetimeDuration": lifetime(rec.created_at),
        "lastOrder": lambda _info: last_order(shop, rec.index, build),
    }


def last_order(shop: Shop, customer_index: int, build: Builders) -> dict[str, Any] | None:
    """The customer's newest live order (by creation), from an index rebuilt when the store changes."""
    store = shop.store
    cached: tuple[int, dict[int, int]] | None = getattr(shop, "_last_orders", None)
    if cached is None or cached[0] != store.mutations:
        newest: dict[int, int] = {}
        for i in range(store.overlays["orders"].size):
            if store.exists("orders", i):
                owner = store.get("orders", i).data["customer"]
                if owner is not None:
                    newest[owner] = i  # indices rise with creation
        cached = (store.mutations, newest)
        shop._last_orders = cached  # type: ignore[attr-defined]
    index = cached[1].get(customer_index)
    return None if index is None else build.order(shop, store.get("orders", index))


# --- products -----------------------------------------------------------------------------------


def product_more(shop: Shop, rec: Record, node: dict[str, Any]) -> dict[str, Any]:
    p, store, cur = rec.data, shop.store, shop.store.dataset.currency
    variants = p["variants"]
    image = media_image(shop, rec)
    zero = s.gql_money(Decimal("0.00"), cur)
    return {
        "descriptionHtml": f"<p>{p['title']}, a {p['product_type'].lower()} by {p['vendor']}.</p>",
        "description": f"{p['title']}, a {p['product_type'].lower()} by {p['vendor']}.",
        "category": None,
        "templateSuffix": None,
        "giftCardTemplateSuffix": None,
        "options": lambda _info, first=None: [
            {
                "id": s.gid("ProductOption", own_id(store, "option", rec.index)),
                "name": "Size" if len(variants) > 1 else "Title",
                "position": 1,
                "values": [v["title"] for v in variants],
            }
        ],
        "hasOnlyDefaultVariant": len(variants) == 1,
        "hasOutOfStockVariants": any(sum(v["inventory"]) == 0 for v in variants),
        "hasVariantsThatRequiresComponents": False,
        "isGiftCard": False,
        "compareAtPriceRange": {"maxVariantCompareAtPrice": zero, "minVariantCompareAtPrice": dict(zero)},
        "featuredMedia": image,
        "requiresSellingPlan": False,
        "tracksInventory": True,
        "media": nested(lambda: [image]),
        **product_fields.product_extra(shop, rec, node, image),
    }


def media_image(shop: Shop, rec: Record) -> dict[str, Any]:
    store, handle = shop.store, rec.data["handle"]
    image = {
        "__typename": "MediaImage",
        "id": s.gid("MediaImage", own_id(store, "media", rec.index)),
        "alt": rec.data["title"],
        "mediaContentType": "IMAGE",
        "status": "READY",
        "mediaWarnings": [],
        "mediaErrors": [],
        "createdAt": s.gql_time(rec.created_at),
        "updatedAt": s.gql_time(rec.created_at),
        "mimeType": "image/jpeg",
        "image": {
            "id": s.gid("ImageSource", own_id(store, "image", rec.index)),
            "altText": rec.data["title"],
            "url": f"https://cdn.shopify.com/s/files/1/{store.number:04d}/0001/files/{handle}.jpg",
            "width": 1200,
            "height": 1200,
        },
    }
    return {**image, "preview": product_fields.preview(image)}


def variant_more(
    shop: Shop, rec: Record, v: dict[str, Any], node: dict[str, Any], build: Builders
) -> dict[str, Any]:
    p = rec.data
    stock = sum(v["inventory"])
    vid = int(node["legacyResourceId"])
    digits = f"{vid % 10**11:011d}"
    check = (10 - sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits)) % 10) % 10
    return {
        "barcode": digits + str(check),  # a UPC-A with its check digit
        "availableForSale": p["status"] == "active" and stock > 0,
        "compareAtPrice": None,
        "displayName": f"{p['title']} - {v['title']}",
        "image": None,
        "inventoryPolicy": "DENY",
        "position": v["index"] + 1,
        "requiresComponents": False,
        "sellableOnlineQuantity": stock if p["published"] else 0,
        "taxCode": None,
        "taxable": True,
        "product": lambda _info: build.product(shop, rec),
        "inventoryItem": {
            **node["inventoryItem"],
            "measurement": {
                "id": s.gid("InventoryItemMeasurement", int(node["inventoryItem"]["id"].rsplit("/", 1)[-1])),
                "weight": {"unit": "KILOGRAMS", "value": 0.25},
            },
        },
    }


def product_variants(shop: Shop, args: dict[str, Any], build: Builders) -> dict[str, Any]:
    """`productVariants(first:, after:, query:)`: every variant of the products the query's
    time and product terms select, in variant id order (a product's variants follow its id)."""
    first = args.get("first")
    if first is None or not 0 <= int(first) <= 250:
        raise GraphQLError("first must be between 0 and 250")
    found = searchable.parse("products", _variant_terms(args.get("query")))
    view = searchable.narrowed(shop, "products", "id", found, None)
    test = searchable.matcher(shop, "products", found)
    after = _variant_cursor(args.get("after"))
    start = view.rank((after[0], after[0])) - 1 if after else 0
    found_nodes: list[tuple[str, dict[str, Any]]] = []
    for key in searchable.matching(shop, "products", walk(view, max(start, 0), len(view), False), test):
        rec = shop.store.records("products", iter([key]))[0]
        for v in rec.data["variants"]:
            if after and (rec.id, v["index"]) <= after:
                continue
            found_nodes.append((_encode_variant(rec.id, v["index"]), build.variant(shop, rec, v)))
        if len(found_nodes) > int(first):
            break
    page, more = found_nodes[: int(first)], len(found_nodes) > int(first)
    edges = [{"cursor": c, "node": n} for c, n in page]
    return {
        "nodes": [n for _, n in page],
        "edges": edges,
        "pageInfo": {
            "hasNextPage": more,
            "hasPreviousPage": after is not None,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _variant_terms(query: str | None) -> str | None:
    """A variant's searchable times are its product's (the sandbox changes them together)."""
    return None if query is None else query.replace("product_id:", "id:")


def _encode_variant(product_id: int, index: int) -> str:
    return base64.urlsafe_b64encode(json.dumps(["v", product_id, index]).encode()).decode()


def _variant_cursor(cursor: str | None) -> tuple[int, int] | None:
    if not cursor:
        return None
    try:
        tag, product_id, index = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if tag != "v":
            raise ValueError(tag)
        return int(product_id), int(index)
    except (ValueError, TypeError):
        raise GraphQLError("Invalid cursor for current pagination sort.") from None


def variants_count(shop: Shop, query: str | None, limit: int | None) -> dict[str, Any]:
    found = searchable.parse("products", _variant_terms(query))
    view = searchable.narrowed(shop, "products", "id", found, None)
    test = searchable.matcher(shop, "products", found)
    n = 0
    for key in searchable.matching(shop, "products", walk(view, 0, len(view), False), test):
        n += len(shop.store.records("products", iter([key]))[0].data["variants"])
    if limit is not None and n > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": n, "precision": "EXACT"}


# --- abandoned checkouts ------------------------------------------------------------------------


def checkout_more(shop: Shop, c: dict[str, Any], node: dict[str, Any], build: Builders) -> dict[str, Any]:
    store, cur = shop.store, c["currency"]
    buyer = None
    if c["customer"] is not None and store.exists("customers", c["customer"]):
        holder = store.get("customers", c["customer"]).data
        buyer = address(s.gql_address(holder, s.child_id(store, "address", c["customer"], per=1)))
    items = node["lineItems"](None)["nodes"]
    pairs = zip(items, c["lines"], strict=True)
    lines = [{**item, **checkout_line_more(shop, c, ln, build)} for item, ln in pairs]
    return {
        "lineItems": nested(lambda: lines),
        "billingAddress": buyer,
        "shippingAddress": dict(buyer) if buyer else None,
        "taxLines": [],
        "totalLineItemsPriceSet": s.gql_bag(c["total"], cur),
        "totalTaxSet": s.gql_bag(Decimal("0.00"), cur),
        "totalDiscountSet": s.gql_bag(Decimal("0.00"), cur),
        "totalDutiesSet": None,
    }


def checkout_line_more(shop: Shop, c: dict[str, Any], ln: dict[str, Any], build: Builders) -> dict[str, Any]:
    store = shop.store
    variant = store.dataset.product(ln["product"])["variants"][ln["variant"]]
    cur, total = c["currency"], ln["price"] * ln["quantity"]
    return {
        "product": lambda _info: build.product(shop, store.get("products", ln["product"])),
        "sku": variant["sku"],
        "variantTitle": variant["title"],
        "discountedTotalPriceSet": s.gql_bag(total, cur),
        "components": None,
        "customAttributes": [],
        "discountedUnitPriceSet": s.gql_bag(ln["price"], cur),
        "discountedUnitPriceWithCodeDiscount": s.gql_bag(ln["price"], cur),
        "originalTotalPriceSet": s.gql_bag(total, cur),
    }


# --- locations: every Location the API hands out, whoever built it ---------------------------------

LOCATION_DEFAULTS: dict[str, Any] = {
    "activatable": False,
    "addressVerified": False,
    "deactivatable": False,
    "deactivatedAt": None,
    "deletable": False,
    "fulfillmentService": None,
    "fulfillsOnlineOrders": True,
    "hasActiveInventory": True,
    "hasUnfulfilledOrders": False,
    "isActive": True,
    "isFulfillmentService": False,
    "localPickupSettingsV2": None,
    "shipsInventory": True,
    "suggestedAddresses": [],
}


def install(schema: GraphQLSchema) -> None:
    """Resolvers for the fields a location dict may lack (shapes.location builds only id,
    name and address): the values of an ordinary active location, its id's number, the
    shop's creation time."""
    location = schema.type_map["Location"]
    assert isinstance(location, GraphQLObjectType)

    def resolver(name: str) -> Any:
        def resolve(obj: dict[str, Any], info: Any, **_args: Any) -> Any:
            if name in obj:
                return obj[name]
            if name == "legacyResourceId":
                return obj["id"].rsplit("/", 1)[-1]
            if name in ("createdAt", "updatedAt"):
                ds = info.context.store.dataset
                return s.gql_time(ds.anchor - ds.span)
            return LOCATION_DEFAULTS[name]

        return resolve

    app = schema.type_map["App"]
    assert isinstance(app, GraphQLObjectType)
    for name in ("name", "handle", "apiKey", "icon"):
        app.fields[name].resolve = lambda obj, _info, name=name: app_fields(obj)[name]
    for name in [*LOCATION_DEFAULTS, "legacyResourceId", "createdAt", "updatedAt"]:
        location.fields[name].resolve = resolver(name)
    address = schema.type_map["LocationAddress"]
    assert isinstance(address, GraphQLObjectType)
    for name, field in address.fields.items():
        if name == "formatted":
            field.resolve = lambda obj, _info: (
                obj.get("formatted") or [p for p in (obj.get("provinceCode"), obj.get("countryCode")) if p]
            )
        elif name not in ("countryCode", "provinceCode"):
            field.resolve = lambda obj, _info, name=name: obj.get(name)


def app_fields(app: dict[str, Any]) -> dict[str, Any]:
    """An App's name, handle, API key and icon, derived from its id and title where not given."""
    key = hashlib.sha256(app["id"].encode()).hexdigest()[:32]
    handle = re.sub(r"[^a-z0-9]+", "-", app["title"].lower()).strip("-")
    return {
        "name": app["title"],
        "handle": handle,
        "apiKey": key,
        "icon": {
            "id": None,
            "altText": None,
            "url": f"https://cdn.shopify.com/app-store/listing_images/{key}/icon.png",
        },
        **app,
    }
