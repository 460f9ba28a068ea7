"""An order's sales documents as `V1/shipments`, `V1/creditmemos` and `V1/invoices` answer
them: shipments with items and tracks (one per fulfilment), a credit memo for a refund (an
adjustment refund of the refunded amount), an invoice for a paid order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sandbox.magento.orders import items
from sandbox.magento.shapes import store_view
from sandbox.magento.values import increment_id, money, negative, stamp
from sandbox.state import Record, SandboxStore

CARRIER_CODES = {"UPS": "ups", "USPS": "usps", "DHL Express": "dhl", "Royal Mail": "custom"}
DOCUMENTS = ("shipments", "creditmemos", "invoices")


def _parents(store: SandboxStore, rec: Record) -> dict[int, dict[str, Any]]:
    """Line index → the order item that carries it (a configurable line's parent)."""
    parents = [i for i in items(store, rec) if "parent_item_id" not in i]
    return dict(enumerate(parents))


def shipments(store: SandboxStore, rec: Record) -> list[dict[str, Any]]:
    o, out = rec.data, []
    by_line = _parents(store, rec)
    view = store_view(store.dataset, "orders", rec.index)
    for f in o["fulfillments"]:
        sid = rec.id * 4 + f["index"] + 1
        at, updated = stamp(f["shipped_at"]), stamp(f["delivered_at"] or f["shipped_at"])
        shipped = [by_line[n] for n in f["lines"]]
        out.append(
            {
                "entity_id": sid,
                "increment_id": increment_id(sid),
                "order_id": rec.id,
                "customer_id": store.id_of("customers", o["customer"]) if o["customer"] is not None else None,
                "store_id": view.id,
                "created_at": at,
                "updated_at": updated,
                "total_qty": sum(i["qty_ordered"] for i in shipped),
                "billing_address_id": rec.id * 2,
                "shipping_address_id": rec.id * 2 + 1,
                "email_sent": 1,
                "items": [
                    {
                        "entity_id": sid * 16 + k,
                        "parent_id": sid,
                        "order_item_id": i["item_id"],
                        "product_id": i["product_id"],
                        "sku": i["sku"],
                        "name": i["name"],
                        "qty": i["qty_ordered"],
                        "price": i["price"],
                        "weight": 1,
                    }
                    for k, i in enumerate(shipped)
                ],
                "tracks": [
                    {
                        "entity_id": sid,
                        "parent_id": sid,
                        "order_id": rec.id,
                        "track_number": f["tracking_number"],
                        "title": f["carrier"],
                        "carrier_code": CARRIER_CODES[f["carrier"]],
                        "created_at": at,
                        "updated_at": at,
                        "qty": None,
                        "weight": None,
                        "description": None,
                    }
                ],
                "comments": [],
                "packages": [],
            }
        )
    return out


def creditmemos(store: SandboxStore, rec: Record) -> list[dict[str, Any]]:
    o = rec.data
    if not o["refunded"]:
        return []
    at = stamp(rec.created_at + timedelta(days=5))
    amount = money(o["refund_amount"])
    return [
        {
            "entity_id": rec.id,
            "increment_id": increment_id(rec.id),
            "order_id": rec.id,
            "invoice_id": rec.id,
            "store_id": store_view(store.dataset, "orders", rec.index).id,
            "state": 2,  # refunded
            "created_at": at,
            "updated_at": at,
            "order_currency_code": o["currency"],
            "base_currency_code": o["currency"],
            "subtotal": 0,
            "shipping_amount": 0,
            "tax_amount": 0,
            "discount_amount": 0,
            "adjustment_positive": amount,
            "adjustment_negative": 0,
            "adjustment": amount,
            "grand_total": amount,
            "base_grand_total": amount,
            "items": [],
            "comments": [],
        }
    ]


def invoices(store: SandboxStore, rec: Record) -> list[dict[str, Any]]:
    o = rec.data
    if not o["paid"]:
        return []
    at = stamp(rec.created_at + timedelta(minutes=1))
    parents = list(_parents(store, rec).values())
    return [
        {
            "entity_id": rec.id,
            "increment_id": increment_id(rec.id),
            "order_id": rec.id,
            "store_id": store_view(store.dataset, "orders", rec.index).id,
            "state": 2,  # paid
            "created_at": at,
            "updated_at": at,
            "order_currency_code": o["currency"],
            "subtotal": money(o["subtotal"]),
            "discount_amount": negative(o["discount"]),
            "shipping_amount": money(o["shipping"]),
            "tax_amount": money(o["tax"]),
            "grand_total": money(o["total"]),
            "base_grand_total": money(o["total"]),
            "total_qty": sum(i["qty_ordered"] for i in parents),
            "items": [
                {
                    "entity_id": rec.id * 16 + k,
                    "parent_id": rec.id,
                    "order_item_id": i["item_id"],
                    "product_id": i["product_id"],
                    "sku": i["sku"],
                    "name": i["name"],
                    "qty": i["qty_ordered"],
                    "price": i["price"],
                    "row_total": i["row_total"],
                }
                for k, i in enumerate(parents)
            ],
            "comments": [],
        }
    ]


DRAW = {"shipments": shipments, "creditmemos": creditmemos, "invoices": invoices}


def documents(store: SandboxStore, kind: str, order_ids: set[int] | None) -> Iterator[dict[str, Any]]:
    """Every live order's documents of one kind (or only those of `order_ids`)."""
    with store.lock:
        size = store.overlays["orders"].size
        if order_ids is not None:
            indices = sorted(i for i in (store.index_of("orders", o) for o in order_ids) if i is not None)
        else:
            indices = list(range(size))
        live = [i for i in indices if store.exists("orders", i)]
    for i in live:
        yield from DRAW[kind](store, store.get("orders", i))
