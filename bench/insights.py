"""Insights stay incremental: the cost of applying 10,000 new orders (with their line
items, contacts, consent and insights) to a store that already holds N orders, at two
store sizes side by side. If insights were recomputed per store, the bigger store
would cost more; they are recomputed only for the contacts the new orders touch.

Usage: python -m bench.insights [--new 10000] [--sizes 20000 200000] [--postgres URL]
Also prints the store-wide RFM scoring (a scheduled job, not on the write path).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from connector.crm import insights
from connector.db import make_engine, upgrade
from connector.write.apply import apply_batch
from platforms.base import Batch
from tests.builders import make_store, order_batch

PAGE = 1000  # orders per batch, as a sync page or a webhook round would bring them
START = datetime(2024, 1, 1, tzinfo=UTC)
TEMPLATE = order_batch(1, created=START, email="template@example.com")


def page(first: int, count: int, people: int) -> Batch:
    """Orders first..first+count, each by one of `people` buyers, two line items each."""
    order, lines = TEMPLATE.rows["orders"][0], TEMPLATE.rows["order_line_items"][:2]
    batch = Batch()
    for n in range(first, first + count):
        at = START + timedelta(minutes=n)
        email = f"buyer{(n * 7919) % people}@example.com"
        batch.rows.setdefault("orders", []).append(
            {
                **order,
                "platform_id": 10_000_000 + n,
                "email": email,
                "email_normalized": email,
                "source_created_at": at,
                "source_updated_at": at,
                "raw": {"id": n},
            }
        )
        for k, line in enumerate(lines):
            batch.rows.setdefault("order_line_items", []).append(
                {**line, "platform_id": 50_000_000 + n * 4 + k, "order_platform_id": 10_000_000 + n}
            )
    return batch


def fill(engine: Engine, store_id: int, first: int, count: int, people: int) -> float:
    start = time.perf_counter()
    for offset in range(first, first + count, PAGE):
        with engine.begin() as conn:
            apply_batch(
                conn, store_id, page(offset, min(PAGE, first + count - offset), people), insights.Rules()
            )
    return time.perf_counter() - start


def measure(engine: Engine, size: int, new: int) -> dict[str, float]:
    upgrade(engine)
    with engine.begin() as conn:
        store_id = make_store(conn, domain=f"bench-{size}.myshopify.com")
    people = max(size // 4, 100)
    fill(engine, store_id, 0, size, people)
    applied = fill(engine, store_id, size, new, people)
    with engine.begin() as conn:
        touched = set(
            conn.execute(
                text("SELECT DISTINCT contact_id FROM orders WHERE platform_id >= :f"),
                {"f": 10_000_000 + size},
            ).scalars()
        )
        t0 = time.perf_counter()
        insights.refresh(conn, touched, insights.Rules())
        refreshed = time.perf_counter() - t0
        t0 = time.perf_counter()
        scored = insights.score(conn, store_id)
        scoring = time.perf_counter() - t0
    return {
        "size": size,
        "apply_s": applied,
        "rate": new / applied,
        "refresh_s": refreshed,
        "contacts": scored,
        "score_s": scoring,
    }


def fresh_postgres(url: str) -> Engine | None:
    admin = make_engine(url)
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("DROP DATABASE IF EXISTS crm_bench_insights"))
            conn.execute(text("CREATE DATABASE crm_bench_insights"))
    except OperationalError:
        return None
    finally:
        admin.dispose()
    return make_engine(make_url(url).set(database="crm_bench_insights").render_as_string(hide_password=False))


def report(label: str, rows: list[dict[str, float]], new: int) -> None:
    print(f"\n{label}: applying {new:,} new orders (2 line items each) in pages of {PAGE}")
    print(
        f"{'store holds':>12} {'apply s':>8} {'orders/s':>9} {'insights s':>11}"
        f" {'contacts':>9} {'score s':>8}"
    )
    for r in rows:
        print(
            f"{int(r['size']):>12,} {r['apply_s']:>8.2f} {r['rate']:>9,.0f} {r['refresh_s']:>11.3f}"
            f" {int(r['contacts']):>9,} {r['score_s']:>8.2f}"
        )
    print(
        f"apply time, bigger store / smaller store: {rows[-1]['apply_s'] / rows[0]['apply_s']:.2f}x "
        f"(store size ratio {rows[-1]['size'] / rows[0]['size']:.0f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--sizes", type=int, nargs=2, default=[20_000, 200_000])
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rows = [
            measure(make_engine(f"sqlite:///{Path(folder) / f's{n}.sqlite3'}"), n, args.new)
            for n in args.sizes
        ]
    report("SQLite", rows, args.new)
    pg_rows: list[dict[str, Any]] = []
    for n in args.sizes:
        engine = fresh_postgres(args.postgres)
        if engine is None:
            print("\nPostgreSQL: not reachable, skipped")
            return
        pg_rows.append(measure(engine, n, args.new))
        engine.dispose()
    report("PostgreSQL", pg_rows, args.new)


if __name__ == "__main__":
    main()
