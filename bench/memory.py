"""Memory over a large backfill: one store's orders synced into SQLite from a sandbox of
`--orders` orders, the connector process's resident memory printed as it goes.

Usage: python -m bench.memory [--orders 1000000] [--platform shopify|woocommerce]

The sandbox is another process; what is measured is this one, which runs the sync step
exactly as a worker does (`sync.engine.run_step`, GC tuned as `crm-connector worker` tunes it).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.backfill import app_for, sandbox
from bench.sandbox import memory_mb
from connector.runtime.queue import tune_gc_for_batches
from sync.engine import run_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--platform", choices=("shopify", "woocommerce"), default="shopify")
    parser.add_argument("--every", type=int, default=100_000, help="print a line every N orders")
    args = parser.parse_args()
    tune_gc_for_batches()
    print(f"{datetime.now():%Y-%m-%d %H:%M} {args.platform} orders backfill of {args.orders:,} orders")
    with sandbox(args.orders, throttled=False) as manifest:
        app, shop_id, site_id = app_for(None, manifest, Path(tempfile.mkdtemp(prefix="bench-memory-")))
        store_id = shop_id if args.platform == "shopify" else site_id
        started, next_mark = time.perf_counter(), args.every

        def show(done: int, _total: int | None) -> None:
            nonlocal next_mark
            if done >= next_mark:
                rss = memory_mb(os.getpid())
                print(
                    f"  {done:>9,} orders  {time.perf_counter() - started:7.1f} s  "
                    f"RSS {rss['VmRSS']:6.0f} MB  peak {rss['VmHWM']:6.0f} MB",
                    flush=True,
                )
                next_mark = (done // args.every + 1) * args.every

        print(f"  at start: RSS {memory_mb(os.getpid())['VmRSS']:.0f} MB", flush=True)
        with app.app_context():
            result = run_step(app, store_id, "orders", "bench", on_progress=show)
        wall = time.perf_counter() - started
        rss = memory_mb(os.getpid())
        rate = result.records / wall
        print(
            f"  {result.outcome}: {result.records:,} orders in {wall:.0f} s ({rate:,.0f}/s); "
            f"RSS {rss['VmRSS']:.0f} MB, peak {rss['VmHWM']:.0f} MB"
        )


if __name__ == "__main__":
    main()
