"""Orders and spend per customer (Customer.numberOfOrders, amountSpent, the orders_count and
total_spent search fields), computed once per shop and kept up to date as orders change."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.world import Shop


def customer_stats(shop: Shop) -> dict[int, tuple[int, Decimal]]:
    """Orders and spend per customer, computed once per store and kept up to date on change."""
    stats: dict[int, tuple[int, Decimal]] | None = getattr(shop, "_customer_stats", None)
    if stats is None:
        stats = {}
        store = shop.store
        for i in range(store.overlays["orders"].size):
            if store.exists("orders", i):
                add_order_to_stats(stats, store.dataset.order(i), +1)
        shop._customer_stats = stats  # type: ignore[attr-defined]
    return stats


def add_order_to_stats(stats: dict[int, tuple[int, Decimal]], order: dict[str, Any], sign: int) -> None:
    if order["customer"] is None or order["cancelled"]:
        return
    count, spent = stats.get(order["customer"], (0, Decimal("0.00")))
    stats[order["customer"]] = (count + sign, spent + sign * (order["total"] - order["refund_amount"]))
