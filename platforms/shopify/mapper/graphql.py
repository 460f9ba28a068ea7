"""Shopify's Admin GraphQL nodes (what the sync reads, pages or bulk exports) → CRM rows.

Enums arrive upper-case and are kept lower-case, as the webhooks' REST payloads give them;
money is a shop-money bag; tags are a list, kept as Shopify's comma-separated text.
tests/platforms/test_shopify_graphql_mapping.py holds these to the REST mappers' rows.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from platforms.base import (
    Batch,
    MapContext,
    channel_of,
    contact_fields,
    count,
    domain_of,
    money,
    normalize_email,
    optional_id,
    parse_time,
    path_of,
    record_id,
    required_time,
)
from platforms.rows import Attribution, CustomerRow, FulfillmentRow, LineItemRow, OrderRow, RefundRow
from platforms.storable import refusing


def _amount(bag: Any, what: str) -> Decimal | None:
    return money(((bag or {}).get("shopMoney") or {}).get("amount"), what)


@refusing("customers")
def customer_from_graphql(c: dict[str, Any], ctx: MapContext) -> Batch:
    address = c.get("defaultAddress") or {}
    region = address.get("countryCodeV2") or ctx.country
    row: CustomerRow = {
        "platform_id": record_id(c.get("id")),
        "source_updated_at": required_time(c.get("updatedAt") or c.get("createdAt"), "updatedAt"),
        "source_created_at": parse_time(c.get("createdAt")),
        **contact_fields(c.get("email"), c.get("phone"), region),
        "first_name": c.get("firstName"),
        "last_name": c.get("lastName"),
        "state": str(c.get("state") or "").lower() or None,
        "tags": ", ".join(c.get("tags") or []) or None,
        "orders_count": count(c.get("numberOfOrders"), "numberOfOrders"),
        "total_spent": money((c.get("amountSpent") or {}).get("amount"), "amountSpent"),
        "currency": (c.get("amountSpent") or {}).get("currencyCode"),
        "default_address": address or None,
        "raw": c,
    }
    consent = c.get("emailMarketingConsent")
    if isinstance(consent, dict) and consent.get("marketingState"):
        row["email_consent"] = consent["marketingState"].lower()
        row["email_consent_at"] = parse_time(consent.get("consentUpdatedAt"))  # None: not said when
    sms = c.get("smsMarketingConsent")
    if isinstance(sms, dict) and sms.get("marketingState"):
        row["sms_consent"] = sms["marketingState"].lower()
    batch = Batch()
    batch.add("customers", row)
    return batch


FINANCIAL = {
    "PAID": "paid",
    "PENDING": "pending",
    "VOIDED": "voided",
    "REFUNDED": "refunded",
    "PARTIALLY_REFUNDED": "partially_refunded",
    "AUTHORIZED": "authorized",
    "PARTIALLY_PAID": "partially_paid",
}
FULFILMENT = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "UNFULFILLED": "unfulfilled"}


@refusing("orders")
def order_from_graphql(o: dict[str, Any], ctx: MapContext) -> Batch:
    order_id = record_id(o.get("id"))
    version = required_time(o.get("updatedAt") or o.get("createdAt"), "updatedAt")
    currency = o.get("currencyCode")
    batch = Batch()
    batch.add("orders", _order_row(o, order_id, version))
    for item in ((o.get("lineItems") or {}).get("nodes")) or []:
        batch.add("order_line_items", _line_item_row(item, order_id, version, currency))
    for f in o.get("fulfillments") or []:
        batch.add("fulfillments", _fulfillment_row(f, order_id, version))
    for r in o.get("refunds") or []:
        batch.add("refunds", _refund_row(r, order_id, version, currency))
    return batch


def _order_row(o: dict[str, Any], order_id: int, version: datetime) -> OrderRow:
    shipping = o.get("shippingAddress") or {}
    visit = ((o.get("customerJourneySummary") or {}).get("firstVisit")) or {}
    utm = visit.get("utmParameters") or {}
    handle = (((o.get("channelInformation") or {}).get("channelDefinition")) or {}).get("handle")
    return {
        "platform_id": order_id,
        "source_updated_at": version,
        "source_created_at": parse_time(o.get("createdAt")),
        "name": o.get("name"),
        "customer_platform_id": optional_id((o.get("customer") or {}).get("id"), "customer.id"),
        "email": o.get("email"),
        "email_normalized": normalize_email(o.get("email")),
        "phone": o.get("phone"),
        "currency": o.get("currencyCode"),
        "subtotal": _amount(o.get("subtotalPriceSet"), "subtotalPriceSet"),
        "total_tax": _amount(o.get("totalTaxSet"), "totalTaxSet"),
        "total_discounts": _amount(o.get("totalDiscountsSet"), "totalDiscountsSet"),
        "total_shipping": _amount(o.get("totalShippingPriceSet"), "totalShippingPriceSet"),
        "total_price": _amount(o.get("totalPriceSet"), "totalPriceSet"),
        "total_refunded": _amount(o.get("totalRefundedSet"), "totalRefundedSet") or Decimal("0"),
        "status": "cancelled" if o.get("cancelledAt") else "closed" if o.get("closedAt") else "open",
        "financial_status": FINANCIAL.get(str(o.get("displayFinancialStatus"))),
        "fulfillment_status": FULFILMENT.get(str(o.get("displayFulfillmentStatus")), "unfulfilled"),
        "cancelled_at": parse_time(o.get("cancelledAt")),
        "processed_at": parse_time(o.get("processedAt")),
        "buyer_accepts_marketing": o.get("customerAcceptsMarketing"),
        **_attribution(o.get("sourceName"), handle, visit, utm),
        "shipping_country": shipping.get("countryCodeV2"),
        "shipping_region": shipping.get("provinceCode"),
        "shipping_city": shipping.get("city"),
        "tags": ", ".join(o.get("tags") or []) or None,
        "raw": o,
    }


def _attribution(source: Any, handle: Any, visit: dict[str, Any], utm: dict[str, Any]) -> Attribution:
    """The sales channel (its definition's handle, else the order's source name) and the
    buyer's first visit (its UTM parameters, referrer and landing page)."""
    return {
        "channel": channel_of(handle or source),
        "source_name": source,
        "utm_source": utm.get("source"),
        "utm_medium": utm.get("medium"),
        "utm_campaign": utm.get("campaign"),
        "referrer_domain": domain_of(visit.get("referrerUrl")),
        "landing_page": path_of(visit.get("landingPage")),
    }


def _line_item_row(item: dict[str, Any], order_id: int, version: datetime, currency: Any) -> LineItemRow:
    price = _amount(item.get("originalUnitPriceSet"), "line item originalUnitPriceSet") or Decimal("0")
    return {
        "platform_id": record_id(item.get("id"), "line item id"),
        "source_updated_at": version,
        "order_platform_id": order_id,
        "product_platform_id": optional_id((item.get("product") or {}).get("id"), "line item product.id"),
        "variant_platform_id": optional_id((item.get("variant") or {}).get("id"), "line item variant.id"),
        "sku": item.get("sku"),
        "title": item.get("title"),
        "quantity": count(item.get("quantity"), "line item quantity") or 0,
        "price": price,
        "total": _amount(item.get("discountedTotalSet"), "line item discountedTotalSet"),
        "currency": currency,
    }


def _fulfillment_row(f: dict[str, Any], order_id: int, version: datetime) -> FulfillmentRow:
    """A fulfilment with its first tracking entry, if it has one."""
    tracking = (f.get("trackingInfo") or [{}])[0] if f.get("trackingInfo") else {}
    return {
        "platform_id": record_id(f.get("id"), "fulfillment id"),
        "source_updated_at": version,
        "order_platform_id": order_id,
        "status": str(f.get("status") or "").lower() or None,
        "shipment_status": str(f.get("displayStatus") or "").lower() or None,
        "carrier": tracking.get("company"),
        "tracking_number": tracking.get("number"),
        "tracking_url": tracking.get("url"),
        "shipped_at": parse_time(f.get("createdAt")),
        "delivered_at": parse_time(f.get("deliveredAt")),
    }


def _refund_row(r: dict[str, Any], order_id: int, version: datetime, currency: Any) -> RefundRow:
    return {
        "platform_id": record_id(r.get("id"), "refund id"),
        "source_updated_at": version,
        "order_platform_id": order_id,
        "amount": _amount(r.get("totalRefundedSet"), "refund totalRefundedSet"),
        "currency": currency,
        "reason": r.get("note"),
        "refunded_at": parse_time(r.get("createdAt")),
    }


@refusing("products")
def product_from_graphql(p: dict[str, Any], ctx: MapContext) -> Batch:
    product_id = record_id(p.get("id"))
    version = required_time(p.get("updatedAt") or p.get("createdAt"), "updatedAt")
    batch = Batch()
    batch.add(
        "products",
        {
            "platform_id": product_id,
            "source_updated_at": version,
            "source_created_at": parse_time(p.get("createdAt")),
            "title": p.get("title"),
            "handle": p.get("handle"),
            "status": str(p.get("status") or "").lower() or None,
            "vendor": p.get("vendor"),
            "product_type": p.get("productType"),
            "tags": ", ".join(p.get("tags") or []) or None,
            "collections": {
                "collections": [c.get("title") for c in (p.get("collections") or {}).get("nodes") or []]
            },
            "published_at": parse_time(p.get("publishedAt")),
            "raw": p,
        },
    )
    for v in ((p.get("variants") or {}).get("nodes")) or []:
        batch.add(
            "product_variants",
            {
                "platform_id": record_id(v.get("id"), "variant id"),
                "source_updated_at": version,
                "product_platform_id": product_id,
                "sku": v.get("sku"),
                "title": v.get("title"),
                "price": money(v.get("price"), "variant price"),
                "inventory_quantity": count(v.get("inventoryQuantity"), "variant inventoryQuantity"),
                "inventory_item_id": optional_id(
                    (v.get("inventoryItem") or {}).get("id"), "variant inventoryItem.id"
                ),
            },
        )
    return batch


@refusing("checkouts")
def checkout_from_graphql(c: dict[str, Any], ctx: MapContext) -> Batch:
    """An AbandonedCheckout node. GraphQL gives no source for it: an abandoned checkout is
    the online store's checkout, so it counts against that channel."""
    customer = c.get("customer") or {}
    batch = Batch()
    batch.add(
        "checkouts",
        {
            "platform_id": record_id(c.get("id")),
            "source_updated_at": required_time(c.get("updatedAt") or c.get("createdAt"), "updatedAt"),
            "source_created_at": parse_time(c.get("createdAt")),
            "name": c.get("name"),
            "customer_platform_id": optional_id(customer.get("id"), "customer.id"),
            "email": customer.get("email"),
            "email_normalized": normalize_email(customer.get("email")),
            "currency": ((c.get("totalPriceSet") or {}).get("shopMoney") or {}).get("currencyCode"),
            "total_price": _amount(c.get("totalPriceSet"), "totalPriceSet"),
            "channel": "online_store",
            "recovery_url": c.get("abandonedCheckoutUrl"),
            "completed_at": parse_time(c.get("completedAt")),
            "raw": c,
        },
    )
    return batch


GRAPHQL_MAPPERS = {
    "checkouts": checkout_from_graphql,
    "customers": customer_from_graphql,
    "orders": order_from_graphql,
    "products": product_from_graphql,
}
