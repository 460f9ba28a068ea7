"""The connector's orders backfill of a Shopify shop beside tap-shopify 3.13.0's orders stream
on the same shop (same seed and sizes, each in its own sandbox process): orders/s, wall.

Usage: python -m bench.peers_tap_shopify [--orders 5000]

Both read orders with a bulk operation. The connector reads over http and writes into SQLite;
the tap reads `https://acme.myshopify.com` through the sandbox's CONNECT proxy (`--tls
--proxy-port 0 --shop-domain acme`, the only way it can) and writes nothing (its records
are parsed and counted), so its figure is reading only, its own polling sleeps included.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.backfill import app_for, backfill
from bench.sandbox import running_sandbox
from tests.peers import airbyte, singer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=5000)
    n = parser.parse_args().orders
    sizes = ["--orders", str(n), "--customers", str(max(n // 10, 10)), "--products", "200", "--unthrottled"]
    folder = Path(tempfile.mkdtemp(prefix="side-by-side-shopify-"))
    with running_sandbox(*sizes) as (_proc, manifest):
        app, shop_id, _site_id = app_for(None, manifest, folder)
        m = backfill(app, shop_id)
    line = f"{m['orders'] / m['wall']:8,.0f} orders/s  {m['orders']:,.0f} orders  {m['wall']:.2f} s"
    print(f"  connector (SQLite)  {line}")
    count, wall = peer_read(sizes, folder)
    line = f"{count / wall:8,.0f} orders/s  {count:,} orders  {wall:.2f} s (read only)"
    print(f"  tap-shopify 3.13.0  {line}")


def peer_read(sizes: list[str], folder: Path) -> tuple[int, float]:
    """tap-shopify's orders stream over a sandbox of these sizes: (orders, wall s)."""
    peer = airbyte.installed("tap-shopify", "3.13.0", "tap-shopify")
    with running_sandbox(*sizes, "--tls", "--proxy-port", "0", "--shop-domain", "acme") as (_proc, manifest):
        ca = manifest["tls"]["ca_file"]
        airbyte.trust(peer, manifest["tls"]["ca_pem"])
        env = {"HTTPS_PROXY": manifest["proxy"], "SSL_CERT_FILE": ca, "REQUESTS_CA_BUNDLE": ca}
        shop = manifest["shopify"]["shops"][0]
        config = {
            "shop": "acme",
            "access_token": shop["access_token"],
            "start_date": (datetime.now(UTC) - timedelta(days=800)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "date_window_size": 1000,
        }
        catalog = singer.select(singer.discover(peer, folder, env, config), ["orders"])
        began = time.perf_counter()
        read = singer.sync(peer, folder, env, config, catalog)
        wall = time.perf_counter() - began
    ids = read.ids("orders")
    assert len(ids) == len(set(ids)) == shop["counts"]["orders"], (len(ids), shop["counts"])
    return len(ids), wall


if __name__ == "__main__":
    main()
