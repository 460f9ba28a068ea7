"""The mappers alone, per order: what mapping a platform's order costs before any write.

Usage: python -m bench.mapping [--orders 20000]

Maps the real order fixtures (WooCommerce's REST order, Shopify's orders/updated webhook)
again and again through the webhook mappers, the same pure functions a sync chunk uses, and
prints the best of three runs in microseconds per order.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from platforms.base import MapContext
from platforms.shopify import webhooks as shopify
from platforms.woocommerce import webhooks as woocommerce

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
CASES: list[tuple[str, Callable[..., Any], str]] = [
    ("woocommerce order.updated", woocommerce.MAPPERS["order.updated"], "woocommerce/rest-order.json"),
    ("shopify orders/updated", shopify.MAPPERS["orders/updated"], "shopify/webhook-orders-updated.json"),
]


def per_order_us(mapper: Callable[..., Any], payload: dict[str, Any], orders: int) -> float:
    ctx = MapContext(country="US", received_at=datetime(2026, 12, 1, tzinfo=UTC))
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(orders):
            mapper(payload, ctx)
        runs.append((time.perf_counter() - started) / orders * 1e6)
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    args = parser.parse_args()
    for name, mapper, fixture in CASES:
        payload = json.loads((FIXTURES / fixture).read_text())
        us = per_order_us(mapper, payload, args.orders)
        print(f"{name:<28} {us:7.1f} µs per order (best of 3 x {args.orders:,})")


if __name__ == "__main__":
    main()
