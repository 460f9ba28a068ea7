"""Side by side in one command: the connector, the baseline and the real peers, on the same store.

Usage: python -m bench.side_by_side [--orders 5000] [--peers woocommerce,shopify,tap-shopify]

Every run reads a sandbox started with the same seed and sizes (so the same orders): the
connector's backfill into SQLite (reading and writing), the straightforward baseline
(bench/baseline.py: the platforms' own clients, one ORM merge per row), and each peer in
its own virtual environment (reading only; its records go to /dev/null). Prints orders/s,
wall time and the connector's ratio to each, per platform.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import peers, peers_shopify, peers_tap_shopify
from bench.backfill import app_for, backfill
from bench.baseline import baseline_shopify, baseline_woo
from bench.sandbox import running_sandbox
from connector.runtime.queue import tune_gc_for_batches

PeerRead = Callable[[list[str], Path], tuple[int, float]]
PEERS: dict[str, tuple[str, str, PeerRead]] = {  # name → (platform, label, its read)
    "woocommerce": ("WooCommerce", "airbyte-source-woocommerce 0.4.12", peers.peer_read),
    "shopify": ("Shopify", "airbyte-source-shopify 4.3.0 (REST)", peers_shopify.peer_read),
    "tap-shopify": ("Shopify", "tap-shopify 3.13.0 (bulk, 60 s polls)", peers_tap_shopify.peer_read),
}
Row = tuple[str, str, int, float]  # platform, who, orders, wall s


def ours_and_baseline(sizes: list[str], n: int, folder: Path) -> list[Row]:
    """The connector's backfill of each platform, then the baseline's, from one sandbox."""
    rows: list[Row] = []
    with running_sandbox(*sizes) as (_proc, manifest):
        app, shop_id, site_id = app_for(None, manifest, folder / "connector")
        for platform, store_id in (("Shopify", shop_id), ("WooCommerce", site_id)):
            m = backfill(app, store_id)
            rows.append((platform, "connector (SQLite, writes)", int(m["orders"]), m["wall"]))
        for platform, run in (("Shopify", baseline_shopify), ("WooCommerce", baseline_woo)):
            rate = run(manifest, folder / f"baseline-{platform}", n)
            rows.append((platform, "baseline (SQLite, ORM merge)", n, n / rate))
    return rows


def print_table(rows: list[Row]) -> None:
    ours = {platform: wall for platform, who, _n, wall in rows if who.startswith("connector")}
    print(f"\n  {'platform':12} {'who':50} {'orders':>7} {'orders/s':>9} {'wall s':>8}  connector is")
    for platform, who, n, wall in rows:
        ratio = "" if who.startswith("connector") else f"{wall / ours[platform]:.2f}x as fast"
        print(f"  {platform:12} {who:50} {n:7,} {n / wall:9,.0f} {wall:8.2f}  {ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated: " + ", ".join(PEERS))
    args = parser.parse_args()
    chosen = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in PEERS]
    if unknown or args.orders < 1:
        parser.error(
            f"--peers: unknown {unknown}; choose from {list(PEERS)}" if unknown else "--orders: >= 1"
        )
    n = args.orders
    sizes = ["--orders", str(n), "--customers", str(max(n // 10, 10)), "--products", "200", "--unthrottled"]
    folder = Path(tempfile.mkdtemp(prefix="side-by-side-"))
    tune_gc_for_batches()  # as `crm-connector worker` does
    rows = ours_and_baseline(sizes, n, folder)
    print_table(rows)
    for name in chosen:
        platform, label, read = PEERS[name]
        count, wall = read(sizes, folder)
        rows.append((platform, f"{label}, read only", count, wall))
        print_table(rows)


if __name__ == "__main__":
    main()
