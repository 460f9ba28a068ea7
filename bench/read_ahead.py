"""Reading ahead, on and off, in one run: one sandbox, then rounds that alternate the two
settings, each backfilling a fresh SQLite store, so a noisy machine weighs on both alike.

Usage: python -m bench.read_ahead [--orders 20000] [--rounds 3] [--depth 10] [--latency-ms 0]
       [--platforms shopify,woocommerce]

`--latency-ms` sets the sandbox's per-request latency fault (a site slow to answer).
Prints each backfill's wall time and how long the writer waited for the platform.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import requests

from bench.backfill import app_for, backfill, sandbox
from connector.db import get_engine
from connector.runtime.queue import tune_gc_for_batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--depth", default="10")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--platforms", default="shopify,woocommerce")
    args = parser.parse_args()
    tune_gc_for_batches()
    folder = Path(tempfile.mkdtemp(prefix="bench-read-ahead-"))
    with sandbox(args.orders, throttled=False) as manifest:
        base = manifest["shopify"]["shop_url_template"].split("/shopify/")[0]
        faults = {"latency_ms": args.latency_ms}
        requests.post(f"{base}/_sandbox/faults", json=faults, timeout=30).raise_for_status()
        for round_number in range(args.rounds):
            for depth in ("0", args.depth):
                os.environ["CONNECTOR_SYNC_READ_AHEAD"] = depth
                app, shop_id, site_id = app_for(None, manifest, folder / f"{round_number}-{depth}")
                for platform, store_id in (("shopify", shop_id), ("woocommerce", site_id)):
                    if platform in args.platforms.split(","):
                        m = backfill(app, store_id)
                        print(
                            f"read-ahead {depth:>2} {platform:11} {m['orders']:,.0f} orders "
                            f"wall {m['wall']:6.2f} s  writer waited {m['waiting']:5.2f} s "
                            f"(latency {args.latency_ms} ms)",
                            flush=True,
                        )
                get_engine(app).dispose()


if __name__ == "__main__":
    main()
