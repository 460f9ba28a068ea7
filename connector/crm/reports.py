"""Sales and stock reports: units and revenue per product per shipping region per period,
and inventory cover (stock on hand divided by average daily units sold over a window)
with the low-stock list.

Line item revenue is its total (price x quantity where the platform gives no total) of
orders that count (live, not cancelled); periods are calendar days, ISO weeks or months
of the order's creation time in UTC.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, type_coerce
from sqlalchemy.engine import Connection

from connector.crm.insights import counted
from connector.db.models import InventoryLevel, Order, OrderLineItem, Product, ProductVariant
from connector.db.types import Money

PERIODS = {
    "day": lambda at: at.strftime("%Y-%m-%d"),
    "week": lambda at: "{}-W{:02d}".format(*at.isocalendar()[:2]),
    "month": lambda at: at.strftime("%Y-%m"),
}


def sales_by_region(
    conn: Connection, store_ids: list[int], since: datetime, until: datetime, period: str = "month"
) -> list[dict[str, Any]]:
    """One row per store, product, country, region and period: units and revenue."""
    bucket = PERIODS[period]
    o, li = Order.__table__, OrderLineItem.__table__
    joined = li.join(o, and_(o.c.store_id == li.c.store_id, o.c.platform_id == li.c.order_platform_id))
    rows = conn.execute(
        select(
            li.c.store_id,
            li.c.product_platform_id,
            li.c.title,
            o.c.shipping_country,
            o.c.shipping_region,
            o.c.source_created_at,
            o.c.currency,
            li.c.quantity,
            type_coerce(func.coalesce(li.c.total, li.c.price * li.c.quantity), Money()),
        )
        .select_from(joined)
        .where(
            li.c.store_id.in_(store_ids),
            li.c.deleted_at.is_(None),
            counted(o),
            o.c.source_created_at >= since,
            o.c.source_created_at < until,
        )
    )
    sums: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [None, 0, Decimal("0.00")])
    for store_id, product, title, country, region, at, currency, quantity, revenue in rows:
        entry = sums[(store_id, product, country, region, bucket(at), currency)]
        entry[0] = entry[0] or title
        entry[1] += quantity or 0
        entry[2] += Decimal(revenue or 0)
    return [
        {
            "store_id": k[0],
            "product_id": k[1],
            "title": v[0],
            "country": k[2],
            "region": k[3],
            "period": k[4],
            "currency": k[5],
            "units": v[1],
            "revenue": str(v[2].quantize(Decimal("0.01"))),
        }
        for k, v in sorted(sums.items(), key=lambda kv: tuple(str(x) for x in kv[0]))
    ]


@dataclass
class Cover:
    store_id: int
    product_id: int
    title: str | None
    stock: int
    units_sold: int
    daily_units: float
    cover_days: float | None  # None: nothing sold in the window, the stock lasts indefinitely


LOW_STOCK_DAYS = 14.0


def inventory_cover(conn: Connection, store_id: int, now: datetime, window_days: int = 30) -> list[Cover]:
    """Per live product: stock (inventory levels where the platform has locations, the
    variants' quantities otherwise) and how many days it lasts at the window's sales rate."""
    stock = _stock(conn, store_id)
    sold = _units_sold(conn, store_id, now - timedelta(days=window_days), now)
    products = conn.execute(
        select(Product.platform_id, Product.title).where(
            Product.store_id == store_id, Product.deleted_at.is_(None)
        )
    ).all()
    out = []
    for product_id, title in products:
        units = sold.get(product_id, 0)
        daily = units / window_days
        on_hand = max(stock.get(product_id, 0), 0)
        out.append(
            Cover(store_id, product_id, title, on_hand, units, daily, on_hand / daily if daily else None)
        )
    return sorted(out, key=lambda c: (c.cover_days is None, c.cover_days or 0.0, c.product_id))


def low_stock(
    conn: Connection, store_id: int, now: datetime, window_days: int = 30, below_days: float = LOW_STOCK_DAYS
) -> list[Cover]:
    """Products that sell and will run out within `below_days` at the window's rate."""
    covers = inventory_cover(conn, store_id, now, window_days)
    return [c for c in covers if c.cover_days is not None and c.cover_days < below_days]


def _stock(conn: Connection, store_id: int) -> dict[int, int]:
    v, lv = ProductVariant.__table__, InventoryLevel.__table__
    live = and_(v.c.store_id == store_id, v.c.deleted_at.is_(None))
    by_levels = dict(
        conn.execute(
            select(v.c.product_platform_id, func.sum(lv.c.available))
            .select_from(
                v.join(lv, and_(lv.c.store_id == v.c.store_id, lv.c.platform_id == v.c.inventory_item_id))
            )
            .where(live, lv.c.deleted_at.is_(None))
            .group_by(v.c.product_platform_id)
        ).all()
    )
    by_variants = dict(
        conn.execute(
            select(v.c.product_platform_id, func.sum(v.c.inventory_quantity))
            .where(live)
            .group_by(v.c.product_platform_id)
        ).all()
    )
    return {p: int(by_levels.get(p, by_variants.get(p)) or 0) for p in by_levels.keys() | by_variants.keys()}


def _units_sold(conn: Connection, store_id: int, since: datetime, until: datetime) -> dict[int, int]:
    o, li = Order.__table__, OrderLineItem.__table__
    return {
        int(p): int(n or 0)
        for p, n in conn.execute(
            select(li.c.product_platform_id, func.sum(li.c.quantity))
            .select_from(
                li.join(o, and_(o.c.store_id == li.c.store_id, o.c.platform_id == li.c.order_platform_id))
            )
            .where(
                li.c.store_id == store_id,
                li.c.deleted_at.is_(None),
                li.c.product_platform_id.is_not(None),
                counted(o),
                o.c.source_created_at >= since,
                o.c.source_created_at < until,
            )
            .group_by(li.c.product_platform_id)
        )
    }
