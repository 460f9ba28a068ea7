"""Orders as the API shows them: a page of the account's orders, one order with its line
items, and the shipments (fulfilments with tracking) of any orders, which the contact's
360° view shows too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from connector.db.models import Fulfillment, Order, OrderLineItem
from connector.web.queries.common import Page, keyset_page, plain, store_ids, whole_number

SUMMARY_FIELDS = (
    "id", "store_id", "platform_id", "name", "contact_id", "email", "currency", "total_price",
    "total_refunded", "financial_status", "fulfillment_status", "channel", "utm_source", "utm_medium",
    "utm_campaign", "referrer_domain", "landing_page", "shipping_country", "shipping_region",
    "source_created_at", "cancelled_at",
)  # fmt: skip


def orders(conn: Connection, account_id: int, args: Any) -> tuple[list[dict[str, Any]], str | None]:
    page = Page.of(args)
    where: list[Any] = [Order.store_id.in_(store_ids(conn, account_id)), Order.deleted_at.is_(None)]
    if args.get("store_id"):
        where.append(Order.store_id == whole_number(args, "store_id"))
    rows, cursor = keyset_page(conn, Order, where, page)
    return [order_summary(o) for o in rows], cursor


def order_summary(o: Any) -> dict[str, Any]:
    return {f: plain(getattr(o, f)) for f in SUMMARY_FIELDS}


def order_detail(conn: Connection, account_id: int, order_id: int) -> dict[str, Any] | None:
    o = conn.execute(
        select(Order).where(Order.id == order_id, Order.store_id.in_(store_ids(conn, account_id)))
    ).first()
    if o is None:
        return None
    lines = conn.execute(
        select(OrderLineItem).where(
            OrderLineItem.store_id == o.store_id, OrderLineItem.order_platform_id == o.platform_id
        )
    ).all()
    return {
        **order_summary(o),
        "deleted_at": plain(o.deleted_at),
        "line_items": [
            plain(
                {
                    "product_id": li.product_platform_id,
                    "sku": li.sku,
                    "title": li.title,
                    "quantity": li.quantity,
                    "price": li.price,
                    "total": li.total,
                }
            )
            for li in lines
        ],
        "shipments": shipments(conn, [(o.store_id, o.platform_id)]).get((o.store_id, o.platform_id), []),
    }


def shipments(conn: Connection, keys: list[tuple[int, int]]) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """The live fulfilments of the orders (store id, order platform id), per order."""
    out: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for store_id in {s for s, _ in keys}:
        ids = [p for s, p in keys if s == store_id]
        for f in conn.execute(
            select(Fulfillment).where(
                Fulfillment.store_id == store_id,
                Fulfillment.order_platform_id.in_(ids),
                Fulfillment.deleted_at.is_(None),
            )
        ):
            out.setdefault((store_id, f.order_platform_id), []).append(
                plain(
                    {
                        "status": f.shipment_status or f.status,
                        "carrier": f.carrier,
                        "tracking_number": f.tracking_number,
                        "tracking_url": f.tracking_url,
                        "shipped_at": f.shipped_at,
                        "delivered_at": f.delivered_at,
                    }
                )
            )
    return out
