"""Shopify's webhook payloads → CRM rows. Pure functions named for what they produce.

Webhook bodies are the REST representation, in whichever API version the subscription
uses: fields that a version lacks are left out of the row (so they are never blanked),
ids stay exact integers, money stays Decimal, and every time is made UTC.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from platforms.base import (
    Batch,
    MapContext,
    MappingError,
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
    utm_of,
)
from platforms.rows import CustomerRow, LineItemRow, OrderRow, RefundRow
from platforms.storable import refusing


@refusing("customers")
def customer_rows(c: dict[str, Any], ctx: MapContext) -> Batch:
    address = c.get("default_address") or {}
    region = address.get("country_code") or ctx.country
    row: CustomerRow = {
        "platform_id": record_id(c.get("id")),
        "source_updated_at": required_time(c.get("updated_at") or c.get("created_at"), "updated_at"),
        "source_created_at": parse_time(c.get("created_at")),
        **contact_fields(c.get("email"), c.get("phone"), region),
        "first_name": c.get("first_name"),
        "last_name": c.get("last_name"),
        "state": c.get("state"),
        "tags": c.get("tags"),
        "currency": c.get("currency"),
        "default_address": address or None,
        "raw": c,
    }
    if "orders_count" in c:
        row["orders_count"] = count(c["orders_count"], "orders_count")
    if "total_spent" in c:
        row["total_spent"] = money(c["total_spent"], "total_spent")
    consent = c.get("email_marketing_consent")
    if isinstance(consent, dict) and consent.get("state"):
        row["email_consent"] = consent["state"]
        row["email_consent_at"] = parse_time(consent.get("consent_updated_at"))  # None: not said when
    elif "accepts_marketing" in c and "email_marketing_consent" not in c:
        row["email_consent"] = "subscribed" if c["accepts_marketing"] else "not_subscribed"
        row["email_consent_at"] = parse_time(c.get("accepts_marketing_updated_at"))
    sms = c.get("sms_marketing_consent")
    if isinstance(sms, dict) and sms.get("state"):
        row["sms_consent"] = sms["state"]
    batch = Batch()
    batch.add("customers", row)
    return batch


@refusing("customers")
def consent_rows(payload: dict[str, Any], ctx: MapContext) -> Batch:
    """customers_email_marketing_consent/update: consent alone, versioned by its own time."""
    consent = payload.get("email_marketing_consent") or {}
    if not consent.get("state"):
        raise MappingError("the consent update has no state")
    batch = Batch()
    at = parse_time(consent.get("consent_updated_at")) or ctx.received_at
    batch.consents.append((record_id(payload.get("customer_id"), "customer_id"), consent["state"], at))
    return batch


@refusing("orders")
def order_rows(o: dict[str, Any], ctx: MapContext) -> Batch:
    order_id = record_id(o.get("id"))
    version = required_time(o.get("updated_at") or o.get("created_at"), "updated_at")
    currency = o.get("currency")
    shipping = o.get("shipping_address") or o.get("billing_address") or {}
    customer = o.get("customer") or {}
    refunds = o.get("refunds") or []
    row: OrderRow = {
        "platform_id": order_id,
        "source_updated_at": version,
        "source_created_at": parse_time(o.get("created_at")),
        "name": o.get("name"),
        "customer_platform_id": optional_id(customer.get("id"), "customer.id"),
        "email": o.get("email") or o.get("contact_email"),
        "email_normalized": normalize_email(o.get("email") or o.get("contact_email")),
        "phone": o.get("phone"),
        "currency": currency,
        "subtotal": money(o.get("subtotal_price"), "subtotal_price"),
        "total_tax": money(o.get("total_tax"), "total_tax"),
        "total_discounts": money(o.get("total_discounts"), "total_discounts"),
        "total_shipping": money(
            ((o.get("total_shipping_price_set") or {}).get("shop_money") or {}).get("amount"),
            "total_shipping_price_set",
        ),
        "total_price": money(o.get("total_price"), "total_price"),
        "total_refunded": sum((refund_amount(r) for r in refunds), Decimal("0")),
        "status": "cancelled" if o.get("cancelled_at") else "closed" if o.get("closed_at") else "open",
        "financial_status": o.get("financial_status"),
        "fulfillment_status": o.get("fulfillment_status") or "unfulfilled",
        "cancelled_at": parse_time(o.get("cancelled_at")),
        "processed_at": parse_time(o.get("processed_at")),
        "buyer_accepts_marketing": o.get("buyer_accepts_marketing"),
        "channel": channel_of(o.get("source_name")),
        "source_name": o.get("source_name"),
        **utm_of(o.get("landing_site")),
        "referrer_domain": domain_of(o.get("referring_site")),
        "landing_page": path_of(o.get("landing_site")),
        "shipping_country": shipping.get("country_code"),
        "shipping_region": shipping.get("province_code"),
        "shipping_city": shipping.get("city"),
        "tags": o.get("tags"),
        "raw": o,
    }
    batch = Batch()
    batch.add("orders", row)
    for item in o.get("line_items") or []:
        batch.add("order_line_items", line_item_row(item, order_id, version, currency))
    for f in o.get("fulfillments") or []:
        batch.extend(fulfillment_rows({**f, "order_id": order_id}, ctx, version))
    for r in refunds:
        batch.add("refunds", refund_row(r, order_id, version, currency))
    return batch


def line_item_row(item: dict[str, Any], order_id: int, version: Any, currency: str | None) -> LineItemRow:
    price = money(item.get("price"), "line item price") or Decimal("0")
    quantity = count(item.get("quantity"), "line item quantity") or 0
    return {
        "platform_id": record_id(item.get("id"), "line item id"),
        "source_updated_at": version,
        "order_platform_id": order_id,
        "product_platform_id": optional_id(item.get("product_id"), "line item product_id"),
        "variant_platform_id": optional_id(item.get("variant_id"), "line item variant_id"),
        "sku": item.get("sku"),
        "title": item.get("title") or item.get("name"),
        "quantity": quantity,
        "price": price,
        "total": price * quantity
        - (money(item.get("total_discount"), "line item total_discount") or Decimal("0")),
        "currency": currency,
    }


@refusing("fulfillments")
def fulfillment_rows(f: dict[str, Any], ctx: MapContext, version: Any = None) -> Batch:
    """A fulfilment, from an order or from the fulfillments/create|update topics."""
    delivered = f.get("shipment_status") == "delivered"
    updated = parse_time(f.get("updated_at"))
    batch = Batch()
    batch.add(
        "fulfillments",
        {
            "platform_id": record_id(f.get("id"), "fulfillment id"),
            "source_updated_at": version or updated or ctx.received_at,
            "order_platform_id": record_id(f.get("order_id"), "order_id"),
            "status": f.get("status"),
            "shipment_status": f.get("shipment_status"),
            "carrier": f.get("tracking_company"),
            "tracking_number": f.get("tracking_number") or next(iter(f.get("tracking_numbers") or []), None),
            "tracking_url": f.get("tracking_url") or next(iter(f.get("tracking_urls") or []), None),
            "shipped_at": parse_time(f.get("created_at")),
            "delivered_at": updated if delivered else None,
        },
    )
    return batch


def refund_amount(refund: dict[str, Any]) -> Decimal:
    transactions = refund.get("transactions") or []
    return sum(
        (
            money(t.get("amount"), "refund transaction amount") or Decimal("0")
            for t in transactions
            if t.get("kind") == "refund" and t.get("status", "success") == "success"
        ),
        Decimal("0"),
    )


def refund_row(r: dict[str, Any], order_id: int, version: Any, currency: str | None) -> RefundRow:
    return {
        "platform_id": record_id(r.get("id"), "refund id"),
        "source_updated_at": version,
        "order_platform_id": order_id,
        "amount": refund_amount(r),
        "currency": currency,
        "reason": r.get("note"),
        "refunded_at": parse_time(r.get("processed_at") or r.get("created_at")),
    }


@refusing("refunds")
def refund_rows(r: dict[str, Any], ctx: MapContext) -> Batch:
    batch = Batch()
    version = parse_time(r.get("processed_at") or r.get("created_at")) or ctx.received_at
    batch.add("refunds", refund_row(r, record_id(r.get("order_id"), "order_id"), version, None))
    return batch


@refusing("products")
def product_rows(p: dict[str, Any], ctx: MapContext) -> Batch:
    product_id = record_id(p.get("id"))
    version = required_time(p.get("updated_at") or p.get("created_at"), "updated_at")
    batch = Batch()
    batch.add(
        "products",
        {
            "platform_id": product_id,
            "source_updated_at": version,
            "source_created_at": parse_time(p.get("created_at")),
            "title": p.get("title"),
            "handle": p.get("handle"),
            "status": p.get("status"),
            "vendor": p.get("vendor"),
            "product_type": p.get("product_type"),
            "tags": p.get("tags"),
            "published_at": parse_time(p.get("published_at")),
            "raw": p,
        },
    )
    for v in p.get("variants") or []:
        batch.add(
            "product_variants",
            {
                "platform_id": record_id(v.get("id"), "variant id"),
                "source_updated_at": version,
                "product_platform_id": product_id,
                "sku": v.get("sku"),
                "title": v.get("title"),
                "price": money(v.get("price"), "variant price"),
                "inventory_quantity": count(v.get("inventory_quantity"), "variant inventory_quantity"),
                "inventory_item_id": optional_id(v.get("inventory_item_id"), "variant inventory_item_id"),
            },
        )
    return batch


def deletion(table: str) -> Any:
    """customers/delete, orders/delete, products/delete: the id, deleted as of the event time."""

    @refusing(table)
    def rows(payload: dict[str, Any], ctx: MapContext) -> Batch:
        batch = Batch()
        batch.delete(table, record_id(payload.get("id")), ctx.received_at)
        return batch

    return rows


@refusing("checkouts")
def checkout_rows(c: dict[str, Any], ctx: MapContext) -> Batch:
    """checkouts/create and checkouts/update (REST shape): a checkout left with items in it."""
    batch = Batch()
    created = parse_time(c.get("created_at"))
    batch.add(
        "checkouts",
        {
            "platform_id": record_id(c.get("id")),
            "source_updated_at": required_time(c.get("updated_at") or c.get("created_at"), "updated_at"),
            "source_created_at": created,
            "name": c.get("name"),
            "customer_platform_id": optional_id((c.get("customer") or {}).get("id"), "customer.id"),
            "email": c.get("email"),
            "email_normalized": normalize_email(c.get("email")),
            "currency": c.get("currency") or c.get("presentment_currency"),
            "total_price": money(c.get("total_price"), "total_price"),
            "channel": channel_of(c.get("source_name") or "web"),
            "recovery_url": c.get("abandoned_checkout_url"),
            "completed_at": parse_time(c.get("completed_at")),
            "raw": c,
        },
    )
    return batch
