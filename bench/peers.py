"""The connector's orders backfill of a WooCommerce site beside airbyte-source-woocommerce's
read of the same site (same seed and sizes, each in its own sandbox process): orders/s, wall.

Usage: python -m bench.peers [--orders 5000]

The connector reads over http with OAuth 1.0a (its path) and writes into SQLite; the peer
reads over https with Basic auth (`--tls --woo-host localhost`, the only way it can) and
writes nothing (records go to /dev/null as JSON lines), so the peer's figure is reading only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.backfill import app_for, backfill
from bench.sandbox import running_sandbox
from tests.peers import airbyte


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=5000)
    n = parser.parse_args().orders
    sizes = ["--orders", str(n), "--customers", str(max(n // 10, 10)), "--products", "200", "--unthrottled"]
    folder = Path(tempfile.mkdtemp(prefix="side-by-side-"))
    with running_sandbox(*sizes) as (_proc, manifest):
        app, _shop_id, site_id = app_for(None, manifest, folder)
        m = backfill(app, site_id)
    line = f"{m['orders'] / m['wall']:8,.0f} orders/s  {m['orders']:,.0f} orders  {m['wall']:.2f} s"
    print(f"  connector (SQLite)         {line}")
    count, wall = peer_read(sizes, folder)
    line = f"{count / wall:8,.0f} orders/s  {count:,} orders  {wall:.2f} s (read only)"
    print(f"  airbyte-source-woocommerce {line}")


def peer_read(sizes: list[str], folder: Path) -> tuple[int, float]:
    """airbyte-source-woocommerce reading every order of a sandbox of these sizes: (orders, wall s)."""
    peer = airbyte.installed("airbyte-source-woocommerce", "0.4.12", "source-woocommerce")
    with running_sandbox(*sizes, "--tls", "--woo-host", "localhost") as (_proc, manifest):
        airbyte.trust(peer, manifest["tls"]["ca_pem"])
        site = manifest["woocommerce"]["stores"][0]
        start = (datetime.now(UTC) - timedelta(days=800)).date().isoformat()
        config = {
            "api_key": site["consumer_key"],
            "api_secret": site["consumer_secret"],
            "shop": site["host_url"].removeprefix("https://"),
            "start_date": start,
        }
        chosen = airbyte.catalog(airbyte.run(peer, folder, "discover", {}, config=config), ["orders"])
        began = time.perf_counter()
        read = airbyte.run(peer, folder, "read", {}, config=config, catalog=chosen)
        wall = time.perf_counter() - began
    count = len(read.ids("orders"))
    assert sorted(read.ids("orders")) == sorted(set(read.ids("orders"))) and count == site["counts"]["orders"]
    return count, wall


if __name__ == "__main__":
    main()
