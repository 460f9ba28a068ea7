"""Magento 2 orders as `V1/orders` answers them: items (a configurable line is a parent item
carrying the price and a simple child with `parent_item_id` and no price, both with the
quantity, so units and revenue count once over the parents), billing address, payment,
status_histories and `extension_attributes.shipping_assignments`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sandbox.generator import buyer
from sandbox.magento.shapes import child_id, region, store_view, type_of
from sandbox.magento.values import increment_id, money, negative, stamp
from sandbox.state import Record, SandboxStore

ITEM_STRIDE = 100  # item ids: order id * 100 + n (an order has at most 10 items)
TAX_RATE = Decimal("0.08")


def state_and_status(o: dict[str, Any]) -> tuple[str, str]:
    if o["cancelled"]:
        return "canceled", "canceled"
    if o["refunded"]:
        return "closed", "closed"
    if not o["paid"]:
        return "new", "pending"
    return ("complete", "complete") if o["progress"] >= 2 else ("processing", "processing")


def items(store: SandboxStore, rec: Record) -> list[dict[str, Any]]:
    """The order's items in item-id order; each line is one item, or a parent and its child."""
    o = rec.data
    out: list[dict[str, Any]] = []
    view = store_view(store.dataset, "orders", rec.index)
    shipped = {ln for f in o["fulfillments"] for ln in f["lines"]}
    for line in o["lines"]:
        product = store.dataset.product(line["product"])
        variant = product["variants"][line["variant"]]
        qty = line["quantity"]
        base = {
            "order_id": rec.id,
            "store_id": view.id,
            "created_at": stamp(rec.created_at),
            "updated_at": stamp(rec.updated_at),
            "sku": variant["sku"],
            "qty_ordered": qty,
            "qty_shipped": qty if line["index"] in shipped else 0,
            "qty_invoiced": qty if o["paid"] else 0,
            "qty_canceled": qty if o["cancelled"] else 0,
            "qty_refunded": 0,
            "is_virtual": 0,
        }
        parent_id = rec.id * ITEM_STRIDE + len(out) + 1
        kind = type_of(product)
        parent = (
            base
            | _priced(line["price"], qty)
            | {
                "item_id": parent_id,
                "quote_item_id": parent_id,
                "name": product["title"],
                "product_id": store.id_of("products", line["product"]),
                "product_type": kind,
            }
        )
        if kind == "bundle":  # a dynamic SKU: the bundle's, then its selection's
            parent["sku"] = f"SKU-{line['product'] + 1}-{variant['sku']}"
        out.append(parent)
        if kind != "simple":
            child_item = rec.id * ITEM_STRIDE + len(out) + 1
            out.append(_child(base, parent, child_item, product, line, variant))
    return out


def _priced(price: Decimal, qty: int) -> dict[str, Any]:
    row = price * qty
    return {
        "price": money(price),
        "base_price": money(price),
        "original_price": money(price),
        "price_incl_tax": money(price * (1 + TAX_RATE)),
        "row_total": money(row),
        "base_row_total": money(row),
        "row_total_incl_tax": money(row * (1 + TAX_RATE)),
        "tax_percent": float(TAX_RATE * 100),
        "tax_amount": money(row * TAX_RATE),
        "discount_amount": 0,
    }


def _child(
    base: dict[str, Any],
    parent: dict[str, Any],
    item_id: int,
    product: dict[str, Any],
    line: dict[str, Any],
    variant: dict[str, Any],
) -> dict[str, Any]:
    """A parent line's simple child naming its parent: a configurable's carries the quantity and
    SKU but no price; a dynamic-price bundle's selection carries its own price too, which the
    bundle's total already holds (so revenue counts once over the parents either way)."""
    priced = parent["product_type"] == "bundle"
    unpriced = {"price": 0, "base_price": 0, "original_price": 0, "row_total": 0, "base_row_total": 0,
                "tax_amount": 0, "discount_amount": 0}  # fmt: skip
    return base | {
        "item_id": item_id,
        "quote_item_id": item_id,
        "name": f"{product['title']}-{variant['title']}",
        "product_id": child_id(line["product"], line["variant"]),
        "product_type": "simple",
        "parent_item_id": parent["item_id"],
        **(_priced(line["price"], line["quantity"]) if priced else unpriced),
        "parent_item": dict(parent),
    }


def address(rec: Record, data: dict[str, Any], kind: str, customer_id: int | None) -> dict[str, Any]:
    body = {
        "entity_id": rec.id * 2 + (0 if kind == "billing" else 1),
        "parent_id": rec.id,
        "address_type": kind,
        "customer_address_id": customer_id,
        "email": data["email"],
        "firstname": data["first_name"],
        "lastname": data["last_name"],
        "street": [data["address1"]],
        "city": data["city"],
        "region": data["province"],
        "region_code": data["province_code"],
        "region_id": region(data)["region_id"],
        "postcode": data["zip"],
        "country_id": data["country"],
        "telephone": data["phone"],
    }
    return body


def order_json(store: SandboxStore, rec: Record) -> dict[str, Any]:
    o = rec.data
    ds = store.dataset
    who = buyer(ds, o)
    view = store_view(ds, "orders", rec.index)
    customer_id = store.id_of("customers", o["customer"]) if o["customer"] is not None else None
    state, status = state_and_status(o)
    lines = items(store, rec)
    shipping = address(rec, who, "shipping", customer_id)
    body = (
        {
            "entity_id": rec.id,
            "increment_id": increment_id(o["number"]),
            "state": state,
            "status": status,
            "created_at": stamp(rec.created_at),
            "updated_at": stamp(rec.updated_at),
            "store_id": view.id,
            "store_name": f"{view.website_name}\n{view.website_name} Store\n{view.name}",
            "customer_id": customer_id,
            "customer_is_guest": 1 if customer_id is None else 0,
            "customer_email": who["email"],
            "customer_firstname": who["first_name"],
            "customer_lastname": who["last_name"],
            "customer_group_id": 0 if customer_id is None else 1,
            "customer_note_notify": 1,
            "ext_order_id": f"APP-{o['number']}" if o["channel"][1] == "rest-api" else None,
            "remote_ip": None if o["channel"][1] in ("admin", "rest-api") else "203.0.113.7",
        }
        | _totals(o, lines)
        | {
            "items": lines,
            "billing_address": address(rec, who, "billing", customer_id),
            "payment": _payment(rec, o),
            "status_histories": _histories(rec, o, status),
            "extension_attributes": {
                "shipping_assignments": [
                    {
                        "shipping": {
                            "address": shipping,
                            "method": "flatrate_flatrate" if o["shipping"] else "freeshipping_freeshipping",
                            "total": {"shipping_amount": money(o["shipping"])},
                        },
                        "items": lines,
                    }
                ],
            },
        }
    )
    return body


def _totals(o: dict[str, Any], lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Currencies, amounts and counts; units over the parent items, so each line counts once."""
    units = sum(i["qty_ordered"] for i in lines if "parent_item_id" not in i)
    paid = money(o["total"]) if o["paid"] else 0
    return {
        "order_currency_code": o["currency"],
        "base_currency_code": o["currency"],
        "global_currency_code": o["currency"],
        "store_currency_code": o["currency"],
        "subtotal": money(o["subtotal"]),
        "base_subtotal": money(o["subtotal"]),
        "discount_amount": negative(o["discount"]),
        "shipping_amount": money(o["shipping"]),
        "shipping_description": "Flat Rate - Fixed" if o["shipping"] else "Free Shipping - Free",
        "tax_amount": money(o["tax"]),
        "grand_total": money(o["total"]),
        "base_grand_total": money(o["total"]),
        "total_paid": paid,
        "total_invoiced": paid,
        "total_refunded": money(o["refund_amount"]) if o["refunded"] else 0,
        "total_canceled": money(o["total"]) if o["cancelled"] else 0,
        "total_qty_ordered": units,
        "total_item_count": len([i for i in lines if "parent_item_id" not in i]),
        "weight": units,
    }


def _payment(rec: Record, o: dict[str, Any]) -> dict[str, Any]:
    return {
        "entity_id": rec.id,
        "parent_id": rec.id,
        "method": "checkmo" if o["channel"][1] == "admin" else "braintree",
        "amount_ordered": money(o["total"]),
        "base_amount_ordered": money(o["total"]),
        "amount_paid": money(o["total"]) if o["paid"] else None,
        "amount_refunded": money(o["refund_amount"]) if o["refunded"] else None,
        "shipping_amount": money(o["shipping"]),
        "additional_information": [],
        "account_status": None,
        "cc_last4": None,
    }


def _histories(rec: Record, o: dict[str, Any], status: str) -> list[dict[str, Any]]:
    """Newest first, as Magento answers them; one comment per change the order went through."""
    entries = [(rec.created_at, "pending", "Order placed.")]
    if o["paid"]:
        entries.append((rec.created_at + timedelta(minutes=1), "processing", "Captured the payment."))
    if rec.updated_at > rec.created_at + timedelta(minutes=1):
        entries.append((rec.updated_at, status, f"Order {status}."))
    return [
        {
            "entity_id": rec.id * 10 + n,
            "parent_id": rec.id,
            "created_at": stamp(at),
            "status": st,
            "comment": comment,
            "is_customer_notified": 0,
            "is_visible_on_front": 0,
            "entity_name": "order",
        }
        for n, (at, st, comment) in reversed(list(enumerate(entries)))
    ]
