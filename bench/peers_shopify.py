"""The connector's orders backfill of a Shopify shop beside airbyte-source-shopify's read of the
same shop's orders (same seed and sizes, each in its own sandbox process): orders/s, wall.

Usage: python -m bench.peers_shopify [--orders 5000]

The connector reads by GraphQL bulk exports over http and writes into SQLite; the peer reads
the REST `orders.json` (250 a page, `status=any`) over https through the sandbox's CONNECT
proxy (`--tls --proxy-port 0`, the only way it can reach `<shop>.myshopify.com`) and writes
nothing (records go to /dev/null as JSON lines), so the peer's figure is reading only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.backfill import app_for, backfill
from bench.sandbox import running_sandbox
from tests.peers import airbyte


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
    print(f"  connector (SQLite, bulk)   {line}")
    count, wall = peer_read(sizes, folder)
    line = f"{count / wall:8,.0f} orders/s  {count:,} orders  {wall:.2f} s (read only, REST)"
    print(f"  airbyte-source-shopify     {line}")


def peer_read(sizes: list[str], folder: Path) -> tuple[int, float]:
    """airbyte-source-shopify reading every order of a sandbox of these sizes: (orders, wall s)."""
    peer = airbyte.installed("airbyte-source-shopify", "4.3.0", "source-shopify")
    with running_sandbox(*sizes, "--tls", "--proxy-port", "0") as (_proc, manifest):
        airbyte.trust(peer, manifest["tls"]["ca_pem"])
        shop = manifest["shopify"]["shops"][0]
        ca = manifest["tls"]["ca_file"]
        env = {"HTTPS_PROXY": manifest["proxy"], "https_proxy": manifest["proxy"], "REQUESTS_CA_BUNDLE": ca}
        config = {
            "shop": shop["domain"].split(".")[0],
            "credentials": {"auth_method": "api_password", "api_password": shop["access_token"]},
            "start_date": "2020-01-01",
        }
        chosen = airbyte.catalog(airbyte.run(peer, folder, "discover", env, config=config), ["orders"])
        began = time.perf_counter()
        read = airbyte.run(peer, folder, "read", env, config=config, catalog=chosen)
        wall = time.perf_counter() - began
    count = len(read.ids("orders"))
    assert len(set(read.ids("orders"))) == count == shop["counts"]["orders"]
    return count, wall


if __name__ == "__main__":
    main()
