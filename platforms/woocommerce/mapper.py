"""WooCommerce payloads → CRM rows. Pure functions named for what they produce.

Webhook bodies are the REST v3 representation (the same JSON as a GET), built when the
delivery is made. Times come from the `*_gmt` fields (the plain ones are site time).
A trashed order or product is a deletion; guests have `customer_id` 0.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
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
)
from platforms.rows import Attribution, FulfillmentRow, LineItemRow, OrderRow, RefundRow
from platforms.storable import refusing

PRODUCT_STATUS = {"publish": "active", "draft": "draft", "pending": "draft", "private": "archived"}
FINANCIAL = {
    "pending": "pending",
    "on-hold": "pending",
    "processing": "paid",
    "completed": "paid",
    "cancelled": "voided",
    "refunded": "refunded",
    "failed": "failed",
    "checkout-draft": "pending",
}
SOURCE_TYPE_CHANNEL = {"mobile_app": "mobile_app", "admin": "draft_manual"}


LEGACY_FIELDS = {  # legacy (v1-v3 "legacy API") webhook bodies: {"order": {...}} with older names
    "created_at": "date_created_gmt",
    "updated_at": "date_modified_gmt",
    "title": "name",
    "billing_address": "billing",
    "shipping_address": "shipping",
    "order_number": "number",
    "total_discount": "discount_total",
    "total_shipping": "shipping_total",
}


def unwrap(payload: dict[str, Any]) -> dict[str, Any]:
    """A v3 body as it is; a legacy-API body unwrapped and renamed to the v3 names."""
    if len(payload) == 1 and next(iter(payload)) in ("order", "customer", "product"):
        inner = dict(next(iter(payload.values())) or {})
        for old, new in LEGACY_FIELDS.items():
            if old in inner and new not in inner:
                inner[new] = inner[old]
        return inner
    return payload


def _version(payload: dict[str, Any]) -> Any:
    return required_time(
        payload.get("date_modified_gmt") or payload.get("date_created_gmt"), "date_modified_gmt"
    )


@refusing("customers")
def customer_rows(c: dict[str, Any], ctx: MapContext) -> Batch:
    c = unwrap(c)
    billing = c.get("billing") or {}
    batch = Batch()
    batch.add(
        "customers",
        {
            "platform_id": record_id(c.get("id")),
            "source_updated_at": _version(c),
            "source_created_at": parse_time(c.get("date_created_gmt")),
            **contact_fields(c.get("email"), billing.get("phone"), billing.get("country") or ctx.country),
            "first_name": c.get("first_name") or billing.get("first_name"),
            "last_name": c.get("last_name") or billing.get("last_name"),
            "state": c.get("role"),
            "default_address": billing or None,
            "raw": c,
        },
    )
    return batch


def _meta(payload: dict[str, Any]) -> dict[str, Any]:
    return {str(m.get("key")): m.get("value") for m in payload.get("meta_data") or [] if isinstance(m, dict)}


def checkout_draft(o: dict[str, Any], order_id: int, version: Any) -> Batch:
    """A `checkout-draft` order: a checkout under way (it becomes the order with the same id)."""
    billing = o.get("billing") or {}
    batch = Batch()
    batch.add(
        "checkouts",
        {
            "platform_id": order_id,
            "source_updated_at": version,
            "source_created_at": parse_time(o.get("date_created_gmt")),
            "name": f"#{o.get('number') or order_id}",
            "customer_platform_id": optional_id(o.get("customer_id"), "customer_id"),
            "email": billing.get("email") or None,
            "email_normalized": normalize_email(billing.get("email")),
            "currency": o.get("currency"),
            "total_price": money(o.get("total"), "total"),
            "channel": channel_of(o.get("created_via") or "store-api"),
            "recovery_url": None,
            "completed_at": None,
            "raw": o,
        },
    )
    return batch


@refusing("orders")
def order_rows(o: dict[str, Any], ctx: MapContext) -> Batch:
    o = unwrap(o)
    order_id = record_id(o.get("id"))
    version = _version(o)
    batch = Batch()
    if o.get("status") == "trash":
        batch.delete("orders", order_id, version)
        return batch
    if o.get("status") == "checkout-draft":  # the block checkout's cart, not an order (yet)
        return checkout_draft(o, order_id, version)
    meta = _meta(o)
    currency = o.get("currency")
    tracking = meta.get("_wc_shipment_tracking_items") or []
    batch.add("orders", _order_row(o, order_id, version, meta, tracked=bool(tracking)))
    for item in o.get("line_items") or []:
        batch.add("order_line_items", _line_item_row(item, order_id, version, currency))
    for t in tracking if isinstance(tracking, list) else []:
        batch.add("fulfillments", tracking_row(order_id, version, t))
    for r in o.get("refunds") or []:
        batch.add("refunds", _refund_row(r, order_id, version, currency))
    return batch


def _order_row(
    o: dict[str, Any], order_id: int, version: datetime, meta: dict[str, Any], *, tracked: bool
) -> OrderRow:
    billing, shipping = o.get("billing") or {}, o.get("shipping") or {}
    refunded = sum((_refunded(r) for r in o.get("refunds") or []), Decimal("0"))
    status = o.get("status")
    return {
        "platform_id": order_id,
        "source_updated_at": version,
        "source_created_at": parse_time(o.get("date_created_gmt")),
        "name": f"#{o.get('number') or order_id}",
        "customer_platform_id": optional_id(o.get("customer_id"), "customer_id"),
        "email": billing.get("email"),
        "email_normalized": normalize_email(billing.get("email")),
        "phone": billing.get("phone") or None,
        "currency": o.get("currency"),
        "subtotal": _subtotal(o),
        "total_tax": money(o.get("total_tax"), "total_tax"),
        "total_discounts": money(o.get("discount_total"), "discount_total"),
        "total_shipping": money(o.get("shipping_total"), "shipping_total"),
        "total_price": money(o.get("total"), "total"),
        "total_refunded": refunded,
        "status": status,
        "financial_status": _financial_status(status, refunded),
        "fulfillment_status": _fulfillment_status(status, tracked),
        "cancelled_at": version if status == "cancelled" else None,
        "processed_at": parse_time(o.get("date_paid_gmt")),
        "buyer_accepts_marketing": None,
        **_attribution(o, meta),
        "shipping_country": shipping.get("country") or billing.get("country") or None,
        "shipping_region": shipping.get("state") or billing.get("state") or None,
        "shipping_city": shipping.get("city") or billing.get("city") or None,
        "raw": o,
    }


def _financial_status(status: Any, refunded: Decimal) -> str | None:
    """The order status as a financial status; a partial refund says so whatever the status."""
    if refunded and status != "refunded":
        return "partially_refunded"
    return FINANCIAL.get(str(status))


def _fulfillment_status(status: Any, tracked: bool) -> str:
    """A completed order is fulfilled; one with shipment tracking is on its way (partial)."""
    if status == "completed":
        return "fulfilled"
    return "partial" if tracked else "unfulfilled"


def _subtotal(o: dict[str, Any]) -> Decimal:
    """Before discounts, tax and shipping: the line items' own subtotals (the REST API has no
    order subtotal)."""
    lines = o.get("line_items") or []
    return sum((money(i.get("subtotal"), "line item subtotal") or Decimal("0") for i in lines), Decimal("0"))


def _refunded(refund: dict[str, Any]) -> Decimal:
    """A refund's amount: WooCommerce gives refund totals as negative amounts."""
    return abs(money(refund.get("total"), "refund total") or Decimal("0"))


def _attribution(o: dict[str, Any], meta: dict[str, Any]) -> Attribution:
    """WooCommerce's order attribution (its `_wc_order_attribution_*` meta); the channel from
    the attribution's source type, else from how the order was created."""
    source_type = str(meta.get("_wc_order_attribution_source_type"))
    return {
        "channel": SOURCE_TYPE_CHANNEL.get(source_type, "") or channel_of(o.get("created_via")),
        "source_name": o.get("created_via"),
        "utm_source": meta.get("_wc_order_attribution_utm_source"),
        "utm_medium": meta.get("_wc_order_attribution_utm_medium"),
        "utm_campaign": meta.get("_wc_order_attribution_utm_campaign"),
        "referrer_domain": domain_of(meta.get("_wc_order_attribution_referrer")),
        "landing_page": path_of(meta.get("_wc_order_attribution_session_entry")),
    }


def _line_item_row(item: dict[str, Any], order_id: int, version: datetime, currency: Any) -> LineItemRow:
    quantity = count(item.get("quantity"), "line item quantity") or 0
    return {
        "platform_id": record_id(item.get("id"), "line item id"),
        "source_updated_at": version,
        "order_platform_id": order_id,
        "product_platform_id": optional_id(item.get("product_id"), "line item product_id"),
        "variant_platform_id": optional_id(item.get("variation_id"), "line item variation_id"),
        "sku": item.get("sku") or None,
        "title": item.get("name"),
        "quantity": quantity,
        "price": money(item.get("price"), "line item price"),
        "total": money(item.get("total"), "line item total"),
        "currency": currency,
    }


def _refund_row(r: dict[str, Any], order_id: int, version: datetime, currency: Any) -> RefundRow:
    return {
        "platform_id": record_id(r.get("id"), "refund id"),
        "source_updated_at": version,
        "order_platform_id": order_id,
        "amount": _refunded(r),
        "currency": currency,
        "reason": r.get("reason") or None,
        "refunded_at": None,
    }


def tracking_row(order_id: int, version: Any, item: dict[str, Any]) -> FulfillmentRow:
    """Shipment Tracking / AST meta → a fulfilment; its id is stable for the tracking number."""
    number = str(item.get("tracking_number") or "")
    digest = hashlib.blake2b(f"{order_id}:{number}".encode(), digest_size=7).digest()
    shipped = item.get("date_shipped")
    return {
        "platform_id": int.from_bytes(digest, "big"),
        "source_updated_at": version,
        "order_platform_id": order_id,
        "status": "success",
        "shipment_status": None,
        "carrier": item.get("tracking_provider") or item.get("custom_tracking_provider") or None,
        "tracking_number": number or None,
        "tracking_url": item.get("custom_tracking_link") or None,
        "shipped_at": parse_time(_epoch_iso(shipped)) if shipped else None,
        "delivered_at": None,
    }


def _epoch_iso(value: Any) -> str:
    text = str(value)
    return datetime.fromtimestamp(int(text), UTC).isoformat() if text.isdigit() else text


@refusing("products")
def product_rows(p: dict[str, Any], ctx: MapContext) -> Batch:
    p = unwrap(p)
    if "type" not in p and _parent_of(p) is not None:  # product.* also fires for variations
        return variation_rows(p, ctx)
    product_id = record_id(p.get("id"))
    version = _version(p)
    batch = Batch()
    if p.get("status") == "trash":
        batch.delete("products", product_id, version)
        return batch
    batch.add(
        "products",
        {
            "platform_id": product_id,
            "source_updated_at": version,
            "source_created_at": parse_time(p.get("date_created_gmt")),
            "title": p.get("name"),
            "handle": p.get("slug"),
            "status": PRODUCT_STATUS.get(str(p.get("status")), p.get("status")),
            "vendor": None,
            "product_type": next(iter(_names(p.get("categories"))), None),
            "tags": ", ".join(_names(p.get("tags"))) or None,
            "collections": {"categories": _names(p.get("categories"))},
            "published_at": parse_time(p.get("date_created_gmt")) if p.get("status") == "publish" else None,
            "raw": {k: v for k, v in p.items() if k != "_variations"},
        },
    )
    if p.get("type") == "variable":  # variations come on their own (webhooks) or attached by the sync
        for v in p.get("_variations") or []:
            batch.extend(variation_rows({**v, "parent_id": product_id}, ctx))
        if "_variations" not in p:
            batch.unpruned.add("product_variants")
    if p.get("type") == "simple":  # a simple product is its own single variant
        batch.add(
            "product_variants",
            {
                "platform_id": product_id,
                "source_updated_at": version,
                "product_platform_id": product_id,
                "sku": p.get("sku") or None,
                "title": "Default Title",
                "price": money(p.get("price"), "price"),
                "inventory_quantity": count(p.get("stock_quantity"), "stock_quantity"),
                "inventory_item_id": None,
            },
        )
    return batch


def _names(items: Any) -> list[str]:
    """Category or tag names: objects with a name (v3) or plain strings (legacy API)."""
    return [str(i.get("name", "")) if isinstance(i, dict) else str(i) for i in items or []]


def _parent_of(p: dict[str, Any]) -> int | None:
    up = ((p.get("_links") or {}).get("up") or [{}])[0].get("href") or ""
    tail = up.rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else optional_id(p.get("parent_id"), "parent_id")


@refusing("variations")
def variation_rows(v: dict[str, Any], ctx: MapContext) -> Batch:
    """A variation: a variant row of its parent product."""
    parent = _parent_of(v)
    if parent is None:
        raise MappingError("the variation names no parent product")
    batch = Batch()
    batch.add(
        "product_variants",
        {
            "platform_id": record_id(v.get("id")),
            "source_updated_at": _version(v),
            "product_platform_id": parent,
            "sku": v.get("sku") or None,
            "title": " / ".join(str(a.get("option")) for a in v.get("attributes") or []) or None,
            "price": money(v.get("price"), "price"),
            "inventory_quantity": count(v.get("stock_quantity"), "stock_quantity"),
            "inventory_item_id": None,
        },
    )
    return batch


def deletion(table: str) -> Any:
    """*.deleted carries only {"id"}: deleted as of the moment it arrived."""

    @refusing(table)
    def rows(payload: dict[str, Any], ctx: MapContext) -> Batch:
        batch = Batch()
        batch.delete(table, record_id(payload.get("id")), ctx.received_at)
        return batch

    return rows
