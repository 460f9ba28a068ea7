"""Sales per product per region and inventory cover, against the generator's truth:
units and revenue per product and shipping region, stock per product across locations,
and a low-stock list that holds exactly the products whose cover is under two weeks."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from connector.crm import reports
from connector.db import get_engine
from connector.db.models import Order
from sandbox.generator import buyer
from tests.crm.conftest import created_at, sandbox_store, truth_order
from tests.rig import Rig

pytestmark = pytest.mark.slow
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def test_sales_by_product_and_region_equal_the_generated_lines(synced: Rig) -> None:
    now = datetime.now(UTC) + timedelta(days=1)
    with get_engine(synced.app).connect() as conn:
        rows = reports.sales_by_region(conn, [synced.shop.id, synced.site.id], EPOCH, now, period="month")
        held = conn.execute(select(Order.store_id, Order.platform_id)).all()
    got: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for r in rows:
        entry = got[(r["store_id"], r["product_id"], r["country"], r["region"])]
        entry[0] += r["units"]
        entry[1] += Decimal(r["revenue"])
    expected: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for store_id, platform_id in held:
        t = truth_order(synced, store_id, platform_id)
        if t["cancelled"]:
            continue
        store = sandbox_store(synced, store_id)
        who = buyer(store.dataset, t)
        for line in t["lines"]:
            key = (store_id, store.id_of("products", line["product"]), who["country"], who["province_code"])
            expected[key][0] += line["quantity"]
            expected[key][1] += line["price"] * line["quantity"]
    assert dict(got) == dict(expected)
    assert {r["period"][:4] for r in rows} >= {str(now.year - 1), str(now.year)}


def test_inventory_cover_and_the_low_stock_list(synced: Rig) -> None:
    now = datetime.now(UTC) + timedelta(hours=1)
    store_id = synced.shop.id
    store = sandbox_store(synced, store_id)
    with get_engine(synced.app).connect() as conn:
        cover = reports.inventory_cover(conn, store_id, now, window_days=30)
        default_low = reports.low_stock(conn, store_id, now, window_days=30)
        # a two-year shop of 30 products sells slowly: take the median cover as the threshold
        selling = sorted(c.cover_days for c in cover if c.cover_days is not None)
        threshold = selling[len(selling) // 2]
        low = reports.low_stock(conn, store_id, now, window_days=30, below_days=threshold)
        held = conn.execute(
            select(Order.platform_id, Order.source_created_at).where(Order.store_id == store_id)
        ).all()
    sold: dict[int, int] = defaultdict(int)
    for platform_id, created in held:
        t = truth_order(synced, store_id, platform_id)
        if not t["cancelled"] and created_at(created) >= now - timedelta(days=30):
            for line in t["lines"]:
                sold[store.id_of("products", line["product"])] += line["quantity"]
    by_id = {c.product_id: c for c in cover}
    assert len(by_id) == store.live_count("products")
    for index in range(store.live_count("products")):
        product = store.get("products", index)
        stock = sum(sum(v["inventory"]) for v in product.data["variants"])
        c = by_id[product.id]
        assert (c.stock, c.units_sold) == (stock, sold[product.id])
        assert c.cover_days == (pytest.approx(stock / (sold[product.id] / 30)) if sold[product.id] else None)
    assert [c.product_id for c in low] == [
        c.product_id for c in cover if c.cover_days and c.cover_days < threshold
    ]
    assert 0 < len(low) <= len(selling) // 2  # ties with the median stay out
    days = [c.cover_days for c in low]
    assert all(d is not None for d in days) and days == sorted(d or 0 for d in days)
    assert all(c.cover_days is not None and c.cover_days < 14 for c in default_low)
