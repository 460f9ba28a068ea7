"""Backfill, measured end to end against the sandbox (its own process), in one run.

Usage: python -m bench.backfill [--orders 20000] [--postgres URL] [--changes 2000]

1. Unthrottled: a full orders backfill of one shop (bulk export) and one site (pages of
   100, four at a time) into SQLite and into PostgreSQL; orders/s end to end, and the
   connector's own share (the time its writer was not held waiting for the sandbox's next
   page; the next pages are read while a transaction is written), with line items.
2. Under the sandbox's real limits (Basic plan: 100 points/s): an incremental re-sync of
   `--changes` changed orders through GraphQL pages; wall time against the floor those
   limits allow, (points charged - the bucket) / restore rate.
3. Peak RSS of this process (the connector side; the sandbox is another process).
4. The same stores synced by a straightforward implementation (ShopifyAPI's GraphQL
   client / the `woocommerce` client, one ORM merge per row), and the ratio: once with
   Python's default collector settings (as such an implementation runs) and once with the
   collector tuned as the connector's worker tunes it.
"""

from __future__ import annotations

import argparse
import gc
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import func, make_url, select, text
from sqlalchemy.exc import OperationalError

import sync.engine as engine_module
from bench.baseline import baseline_shopify, baseline_woo
from bench.sandbox import running_sandbox
from connector import create_app
from connector.db import get_engine, make_engine, upgrade
from connector.db.models import Order, OrderLineItem
from connector.runtime.queue import tune_gc_for_batches
from sync.engine import run_step
from tests.rig import connect_pair


@contextmanager
def sandbox(orders: int, *, throttled: bool) -> Iterator[dict[str, Any]]:
    args = ["--orders", str(orders), "--customers", str(max(orders // 10, 10)), "--products", "500"]
    args += ["--plan", "basic"] + ([] if throttled else ["--unthrottled"])
    with running_sandbox(*args) as (_proc, manifest):
        yield manifest


DEFAULT_GC = gc.get_threshold()
COLLECTORS = {  # the baseline runs under each: as such an implementation would, and as ours does
    "default": lambda: gc.set_threshold(*DEFAULT_GC),
    "tuned as ours": tune_gc_for_batches,
}
READERS: list[Any] = []  # each step's reader, for the points its client was charged
_plain_reader_of = engine_module.reader_of


def kept_reader_of(app: Flask, store: Any) -> Any:
    READERS.append(_plain_reader_of(app, store))
    return READERS[-1]


def app_for(database_url: str | None, manifest: dict[str, Any], folder: Path) -> tuple[Flask, int, int]:
    env = {
        "CONNECTOR_INSTANCE_PATH": str(folder),
        "SECRET_KEY": "bench-secret-key-0123456789",
        "CONNECTOR_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "SHOPIFY_API_KEY": manifest["shopify"]["api_key"],
        "SHOPIFY_API_SECRET": manifest["shopify"]["api_secret"],
        "SHOPIFY_SHOP_URL_TEMPLATE": manifest["shopify"]["shop_url_template"],
        "CONNECTOR_LOG_FORMAT": "json",
    }
    if database_url:
        env["DATABASE_URL"] = database_url
    app = create_app(env)
    upgrade(get_engine(app))
    with app.app_context():
        shop, site = connect_pair(
            app, manifest["shopify"]["shops"][0], manifest["woocommerce"]["stores"][0], account="bench"
        )
    return app, shop.id, site.id


def fresh_postgres(url: str) -> str | None:
    try:
        admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS crm_bench_backfill"))
            conn.execute(text("CREATE DATABASE crm_bench_backfill"))
        admin.dispose()
    except OperationalError as exc:
        print(f"  PostgreSQL unreachable, skipped: {exc.__class__.__name__}")
        return None
    return make_url(url).set(database="crm_bench_backfill").render_as_string(hide_password=False)


def backfill(app: Flask, store_id: int) -> dict[str, float]:
    READERS.clear()
    started = time.perf_counter()
    with app.app_context():
        result = run_step(app, store_id, "orders", "bench")
    wall = time.perf_counter() - started
    assert result.outcome == "done", result
    waiting = result.waited_s  # the writer held up by the sandbox (it reads ahead meanwhile)
    with get_engine(app).connect() as conn:
        lines = conn.execute(select(func.count()).where(OrderLineItem.store_id == store_id)).scalar_one()
        orders = conn.execute(select(func.count()).where(Order.store_id == store_id)).scalar_one()
    return {"orders": orders, "lines": lines, "wall": wall, "waiting": waiting}


def print_backfill(label: str, m: dict[str, float]) -> None:
    own = m["wall"] - m["waiting"]
    print(
        f"  {label:34} {m['orders'] / m['wall']:9,.0f} orders/s end to end  "
        f"{m['orders'] / own:9,.0f} orders/s connector side  "
        f"({m['orders']:,.0f} orders, {m['lines']:,.0f} line items, {m['wall']:.1f} s, "
        f"{m['waiting']:.1f} s waiting on the sandbox)"
    )


def throttled_resync(changes: int, folder: Path) -> None:
    with sandbox(max(changes * 2, 5000), throttled=True) as manifest:
        app, shop_id, _site_id = app_for(None, manifest, folder / "throttled")
        backfill(app, shop_id)  # bulk export: no query-cost limits
        shop = manifest["shopify"]["shops"][0]["domain"]
        base = manifest["shopify"]["shop_url_template"].replace("{shop}", shop).split("/shopify/")[0]
        requests.post(f"{base}/_sandbox/faults", json={"webhook_drop": 1}, timeout=30)
        body = {"platform": "shopify", "store": shop, "entity": "orders", "op": "update", "count": changes}
        requests.post(f"{base}/_sandbox/mutate", json=body, timeout=600).raise_for_status()
        time.sleep(2)  # let the bucket refill after the backfill's status polls
        m = backfill(app, shop_id)
        client = READERS[-1].client
        floor = max(client.spent - (client.maximum or 0), 0) / (client.restore_rate or 1)
        stats = requests.get(f"{base}/_sandbox/stats", timeout=30).json()["shops"][shop]
        print(
            f"  Shopify re-sync of {changes:,} changed orders, Basic plan "
            f"({client.restore_rate:.0f} points/s, "
            f"bucket {client.maximum:.0f}): {m['wall']:.1f} s for {client.spent:,.0f} points charged; "
            f"floor {floor:.1f} s; wall/floor {m['wall'] / floor:.2f}; THROTTLED answers {stats['throttled']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=2_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    engine_module.reader_of = kept_reader_of
    tune_gc_for_batches()  # as `crm-connector worker` does
    folder = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    print(f"{datetime.now():%Y-%m-%d %H:%M} orders backfill, {args.orders:,} orders per store")
    with sandbox(args.orders, throttled=False) as manifest:
        measured: dict[str, dict[str, float]] = {}
        for db_label, url in (("SQLite", None), ("PostgreSQL", fresh_postgres(args.postgres))):
            if db_label == "PostgreSQL" and url is None:
                continue
            app, shop_id, site_id = app_for(url, manifest, folder / db_label)
            for platform, store_id in (("Shopify", shop_id), ("WooCommerce", site_id)):
                measured[f"{platform} → {db_label}"] = backfill(app, store_id)
                print_backfill(f"{platform} → {db_label}", measured[f"{platform} → {db_label}"])
            get_engine(app).dispose()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak RSS of the connector process: {peak:,.0f} MB")
        for platform, run in (("Shopify", baseline_shopify), ("WooCommerce", baseline_woo)):
            ours = measured[f"{platform} → SQLite"]
            for collector, set_collector in COLLECTORS.items():
                set_collector()
                rate = run(manifest, folder / f"baseline-{platform}-{collector.split()[0]}", args.orders)
                print(
                    f"  baseline {platform} → SQLite, {collector + ' collector:':24} {rate:9,.0f} orders/s; "
                    f"the connector runs {ours['orders'] / ours['wall'] / rate:.1f}x as fast"
                )
    throttled_resync(args.changes, folder)


if __name__ == "__main__":
    main()
