"""Magento 2 REST payloads → CRM rows. Pure functions named for what they produce.

Times are UTC written without an offset ("2026-12-01 10:18:05"). An order's `items` hold
configurable and bundle parents and their children (`parent_item_id`): a line is the parent
(or a lone item) only, so units and revenue are counted once; a configurable line's variant
is its chosen child. Shipments (with tracks), credit memos and invoices come attached by the
reader as `_shipments`, `_creditmemos` and `_invoices`; the store view and website as `_store_view`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from platforms.base import (
    Batch,
    MapContext,
    MappingError,
    contact_fields,
    count,
    money,
    normalize_email,
    optional_id,
    parse_time,
    record_id,
    required_time,
    shown,
)
from platforms.rows import Attribution, CustomerRow, FulfillmentRow, LineItemRow, OrderRow, RefundRow
from platforms.storable import refusing

ATTACHED = ("_shipments", "_creditmemos", "_invoices")  # the reader's parts of an order, not its payload
PRODUCT_STATUS = {1: "active", 2: "draft"}  # Magento's status: 1 enabled, 2 disabled
VISIBILITY = {1: "not_visible", 2: "catalog", 3: "search", 4: "catalog_search"}
FINANCIAL = {  # the order's state (Magento's fixed set; statuses are merchant-defined labels)
    "new": "pending",
    "pending_payment": "pending",
    "payment_review": "pending",
    "holded": "pending",
    "processing": "paid",
    "complete": "paid",
    "closed": "refunded",
    "canceled": "voided",
}


def _version(payload: dict[str, Any]) -> datetime:
    return required_time(payload.get("updated_at") or payload.get("created_at"), "updated_at")


def _extension(payload: dict[str, Any]) -> dict[str, Any]:
    found = payload.get("extension_attributes")
    return found if isinstance(found, dict) else {}


def quantity(value: Any, what: str) -> int | None:
    """Magento's quantities are decimals (1, 1.0 or "1.0000"); a whole number is kept."""
    amount = money(value, what)
    if amount is None:
        return None
    if amount != amount.to_integral_value():
        raise MappingError(f"{what} is not a whole number ({shown(value)})")
    return count(int(amount), what)


@refusing("customers")
def customer_rows(c: dict[str, Any], ctx: MapContext) -> Batch:
    address = _default_address(c)
    row: CustomerRow = {
        "platform_id": record_id(c.get("id")),
        "source_updated_at": _version(c),
        "source_created_at": parse_time(c.get("created_at")),
        **contact_fields(c.get("email"), address.get("telephone"), address.get("country_id") or ctx.country),
        "first_name": c.get("firstname"),
        "last_name": c.get("lastname"),
        "default_address": address or None,
        "raw": c,
    }
    # Open Source's REST has no newsletter subscriber list (magento/magento2#4005); the
    # Newsletter module's customer plugin sets `is_subscribed` on each customer read instead
    subscribed = _extension(c).get("is_subscribed")
    if isinstance(subscribed, bool):  # absent: the newsletter module is off, nothing is said
        row["email_consent"] = "subscribed" if subscribed else "not_subscribed"
        row["email_consent_at"] = None  # Magento does not say when
    batch = Batch()
    batch.add("customers", row)
    return batch


def _default_address(c: dict[str, Any]) -> dict[str, Any]:
    """The default billing address (else the default shipping one, else the first)."""
    addresses = [a for a in c.get("addresses") or [] if isinstance(a, dict)]
    for flag in ("default_billing", "default_shipping"):
        for a in addresses:
            if a.get(flag) is True:
                return a
    return addresses[0] if addresses else {}


@refusing("orders")
def order_rows(o: dict[str, Any], ctx: MapContext) -> Batch:
    order_id = record_id(o.get("entity_id"), "entity_id")
    version = _version(o)
    currency = o.get("order_currency_code")
    shipments = [s for s in o.get("_shipments") or [] if isinstance(s, dict)]
    memos = [m for m in o.get("_creditmemos") or [] if isinstance(m, dict)]
    batch = Batch()
    batch.add("orders", _order_row(o, order_id, version, shipped=bool(shipments), memos=memos))
    for line in line_items(o):
        batch.add("order_line_items", _line_item_row(line, order_id, version, currency))
    for s in shipments:
        batch.add("fulfillments", shipment_row(s, order_id, version))
    for m in memos:
        batch.add("refunds", _refund_row(m, order_id, version, currency))
    for attached, table in (("_shipments", "fulfillments"), ("_creditmemos", "refunds")):
        if attached not in o:  # not read with the order: keep what is held
            batch.unpruned.add(table)
    return batch


def line_items(o: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each line once: a parent (configurable, bundle) or a lone item, with its first child."""
    items = [i for i in o.get("items") or [] if isinstance(i, dict)]
    children: dict[Any, dict[str, Any]] = {}
    for i in items:
        if i.get("parent_item_id") not in (None, 0, ""):
            children.setdefault(str(i["parent_item_id"]), i)
    return [
        (i, children.get(str(i.get("item_id")))) for i in items if i.get("parent_item_id") in (None, 0, "")
    ]


def _order_row(
    o: dict[str, Any], order_id: int, version: datetime, *, shipped: bool, memos: list[dict[str, Any]]
) -> OrderRow:
    billing = o.get("billing_address") if isinstance(o.get("billing_address"), dict) else {}
    shipping = _shipping_address(o) or billing or {}
    refunded = _total_refunded(o, memos)
    state = str(o.get("state") or "")
    return {
        "platform_id": order_id,
        "source_updated_at": version,
        "source_created_at": parse_time(o.get("created_at")),
        "name": f"#{o.get('increment_id') or order_id}",
        "customer_platform_id": None if o.get("customer_is_guest") else optional_id(o.get("customer_id")),
        "email": o.get("customer_email"),
        "email_normalized": normalize_email(o.get("customer_email")),
        "phone": (billing or {}).get("telephone") or None,
        "currency": o.get("order_currency_code"),
        "subtotal": money(o.get("subtotal"), "subtotal"),
        "total_tax": money(o.get("tax_amount"), "tax_amount"),
        "total_discounts": abs(money(o.get("discount_amount"), "discount_amount") or Decimal("0")),
        "total_shipping": money(o.get("shipping_amount"), "shipping_amount"),
        "total_price": money(o.get("grand_total"), "grand_total"),
        "total_refunded": refunded,
        "status": o.get("status"),
        "financial_status": _financial_status(state, refunded),
        "fulfillment_status": "fulfilled"
        if state == "complete"
        else ("partial" if shipped else "unfulfilled"),
        "cancelled_at": version if state == "canceled" else None,
        "processed_at": processed_at(o),
        "buyer_accepts_marketing": None,
        **attribution(o),
        "shipping_country": shipping.get("country_id") or None,
        "shipping_region": shipping.get("region_code") or shipping.get("region") or None,
        "shipping_city": shipping.get("city") or None,
        "raw": {k: v for k, v in o.items() if k not in ATTACHED},
    }


def processed_at(o: dict[str, Any]) -> datetime | None:
    """When the order was paid: its first invoice's time (None while it has none). An order
    read without its invoices (`_invoices` absent) says only whether it is invoiced at all:
    then its creation time stands in, until the re-sync reads the invoices."""
    invoices = [i for i in o.get("_invoices") or [] if isinstance(i, dict)]
    if "_invoices" in o:
        times = [t for t in (parse_time(i.get("created_at")) for i in invoices) if t is not None]
        return min(times, default=None)
    invoiced = money(o.get("total_invoiced"), "total_invoiced") or Decimal("0")
    return parse_time(o.get("created_at")) if invoiced > 0 else None


def _shipping_address(o: dict[str, Any]) -> dict[str, Any] | None:
    for assignment in _extension(o).get("shipping_assignments") or []:
        address = ((assignment or {}).get("shipping") or {}).get("address")
        if isinstance(address, dict):
            return address
    return None


def _total_refunded(o: dict[str, Any], memos: list[dict[str, Any]]) -> Decimal:
    """The credit memos' total when they were read, else the order's own `total_refunded`."""
    if memos:
        return sum(
            (money(m.get("grand_total"), "credit memo grand_total") or Decimal("0") for m in memos),
            Decimal("0"),
        )
    return money(o.get("total_refunded"), "total_refunded") or Decimal("0")


def _financial_status(state: str, refunded: Decimal) -> str | None:
    if refunded and state != "closed":
        return "partially_refunded"
    return FINANCIAL.get(state)


def attribution(o: dict[str, Any]) -> Attribution:
    """Magento has no order source field: an external order id means an order another system
    placed through the API, a buyer's IP a storefront checkout, neither an order made in the
    admin. UNVERIFIED beyond Magento's field descriptions (`ext_order_id` "External order
    ID", `remote_ip` "Remote IP"); the store view and website stay in `raw._store_view`."""
    if o.get("ext_order_id"):
        channel, source = "api_other", "ext_order_id"
    elif o.get("remote_ip"):
        channel, source = "online_store", "storefront"
    else:
        channel, source = "draft_manual", "admin"
    return {
        "channel": channel,
        "source_name": source,
        "utm_source": None,
        "utm_medium": None,
        "utm_campaign": None,
        "referrer_domain": None,
        "landing_page": None,
    }


def _line_item_row(
    line: tuple[dict[str, Any], dict[str, Any] | None], order_id: int, version: datetime, currency: Any
) -> LineItemRow:
    item, child = line
    chosen = child if item.get("product_type") == "configurable" and child is not None else item
    row_total = money(item.get("row_total"), "line item row_total") or Decimal("0")
    discount = abs(money(item.get("discount_amount"), "line item discount_amount") or Decimal("0"))
    return {
        "platform_id": record_id(item.get("item_id"), "line item item_id"),
        "source_updated_at": version,
        "order_platform_id": order_id,
        "product_platform_id": optional_id(item.get("product_id"), "line item product_id"),
        "variant_platform_id": optional_id(chosen.get("product_id"), "line item product_id"),
        "sku": item.get("sku") or None,
        "title": item.get("name"),
        "quantity": quantity(item.get("qty_ordered"), "line item qty_ordered") or 0,
        "price": money(item.get("price"), "line item price"),
        "total": row_total - discount,
        "currency": currency,
    }


def shipment_row(s: dict[str, Any], order_id: int, version: datetime) -> FulfillmentRow:
    """A shipment → a fulfilment, with its first track's carrier and number."""
    tracks = [t for t in s.get("tracks") or [] if isinstance(t, dict)]
    track = tracks[0] if tracks else {}
    return {
        "platform_id": record_id(s.get("entity_id"), "shipment entity_id"),
        "source_updated_at": version,
        "order_platform_id": order_id,
        "status": "success",
        "shipment_status": None,
        "carrier": track.get("title") or track.get("carrier_code") or None,
        "tracking_number": track.get("track_number") or None,
        "tracking_url": None,
        "shipped_at": parse_time(s.get("created_at")),
        "delivered_at": None,
    }


def _refund_row(m: dict[str, Any], order_id: int, version: datetime, currency: Any) -> RefundRow:
    comments = [c.get("comment") for c in m.get("comments") or [] if isinstance(c, dict) and c.get("comment")]
    return {
        "platform_id": record_id(m.get("entity_id"), "credit memo entity_id"),
        "source_updated_at": version,
        "order_platform_id": order_id,
        "amount": money(m.get("grand_total"), "credit memo grand_total"),
        "currency": m.get("order_currency_code") or currency,
        "reason": str(comments[0]) if comments else None,
        "refunded_at": parse_time(m.get("created_at")),
    }


@refusing("products")
def product_rows(p: dict[str, Any], ctx: MapContext) -> Batch:
    """A product; every one but a configurable is its own single variant (a configurable's
    variants are its child products, each synced as a product of its own)."""
    product_id = record_id(p.get("id"))
    version = _version(p)
    ext = _extension(p)
    batch = Batch()
    batch.add(
        "products",
        {
            "platform_id": product_id,
            "source_updated_at": version,
            "source_created_at": parse_time(p.get("created_at")),
            "title": p.get("name"),
            "handle": _custom(p, "url_key") or p.get("sku"),
            "status": PRODUCT_STATUS.get(_int(p.get("status")), str(p.get("status") or "") or None),
            "vendor": None,
            "product_type": p.get("type_id"),
            "tags": None,
            "collections": {
                "categories": [
                    str(c.get("category_id")) for c in ext.get("category_links") or [] if isinstance(c, dict)
                ],
                "visibility": VISIBILITY.get(_int(p.get("visibility"))),
                "website_ids": list(ext.get("website_ids") or []),
            },
            "published_at": None,
            "raw": {k: v for k, v in p.items() if k != "_source_items"},
        },
    )
    if p.get("type_id") != "configurable":
        batch.add(
            "product_variants",
            {
                "platform_id": product_id,
                "source_updated_at": version,
                "product_platform_id": product_id,
                "sku": p.get("sku") or None,
                "title": "Default Title",
                "price": money(p.get("price"), "price"),
                "inventory_quantity": stock(p),
                "inventory_item_id": None,
            },
        )
    return batch


def stock(p: dict[str, Any]) -> int | None:
    """Units in stock: MSI source items' quantities (attached as `_source_items`) where read,
    else the legacy stock item's `qty`."""
    sources = p.get("_source_items")
    if isinstance(sources, list) and sources:
        total = sum(
            quantity(s.get("quantity"), "source item quantity") or 0 for s in sources if isinstance(s, dict)
        )
        return count(total, "stock")
    item = _extension(p).get("stock_item")
    return quantity(item.get("qty"), "stock_item qty") if isinstance(item, dict) else None


def _custom(p: dict[str, Any], code: str) -> Any:
    for a in p.get("custom_attributes") or []:
        if isinstance(a, dict) and a.get("attribute_code") == code:
            return a.get("value")
    return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
