"""The sandbox's render cache: orders/s served cold (rendering and shelving) and warm (from the
shelf), against the sandbox without it, in one run.

Usage: python -m bench.render_cache [--orders 20000] [--rounds 2]
Each sandbox is its own process (`crm-connector sandbox --unthrottled`, with a fresh
`--render-cache` folder or `--no-render-cache`). Shopify: the connector's own bulk query for
orders (platforms/shopify/queries.py), from bulkOperationRunQuery until the JSONL file is
downloaded, polled every 10 ms. WooCommerce: every page of 100 orders by id, sequentially,
with the `woocommerce` client (OAuth 1.0a signing per request).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

import requests

from bench.sandbox import running_sandbox
from platforms.shopify.queries import bulk_query
from sandbox.clients import woo_api


def shopify_export(manifest: dict[str, Any]) -> tuple[int, int, float]:
    """(root objects, bytes, seconds) of one bulk export of every order, download included."""
    shop = manifest["shopify"]["shops"][0]
    url = (
        manifest["shopify"]["shop_url_template"].format(shop=shop["domain"])
        + "/admin/api/2026-07/graphql.json"
    )
    session = requests.Session()
    session.headers["X-Shopify-Access-Token"] = shop["access_token"]
    start = (
        "mutation($q: String!) { bulkOperationRunQuery(query: $q)"
        " { bulkOperation { id } userErrors { message } } }"
    )
    poll = "{ currentBulkOperation { status rootObjectCount url } }"
    started = time.perf_counter()
    session.post(url, json={"query": start, "variables": {"q": bulk_query("orders", None)}}, timeout=60)
    while True:
        op = session.post(url, json={"query": poll}, timeout=60).json()["data"]["currentBulkOperation"]
        if op["status"] in ("COMPLETED", "FAILED", "CANCELED"):
            break
        time.sleep(0.01)
    assert op["status"] == "COMPLETED", op
    size = len(requests.get(op["url"], timeout=600).content)
    return int(op["rootObjectCount"]), size, time.perf_counter() - started


def woo_pages(manifest: dict[str, Any], orders: int) -> tuple[int, float]:
    """(orders, seconds) of reading every page of 100 orders by id."""
    wc = woo_api(manifest["woocommerce"]["stores"][0])
    started, seen = time.perf_counter(), 0
    for page in range(1, -(-orders // 100) + 1):
        answer = wc.get("orders", params={"per_page": 100, "page": page, "orderby": "id", "order": "asc"})
        seen += len(answer.json())
    return seen, time.perf_counter() - started


def measure(orders: int, rounds: int, cache: list[str]) -> list[str]:
    sizes = ["--orders", str(orders), "--customers", str(orders // 10), "--products", "500"]
    lines = []
    with running_sandbox(*sizes, "--unthrottled", *cache) as (_proc, manifest):
        for n in range(rounds):
            roots, size, seconds = shopify_export(manifest)
            lines.append(
                f"shopify bulk export, round {n + 1}: {roots / seconds:10,.0f} orders/s "
                f"({roots:,} orders, {size / 1e6:.1f} MB, {seconds:.2f} s)"
            )
            seen, seconds = woo_pages(manifest, orders)
            lines.append(
                f"woocommerce pages of 100, round {n + 1}: {seen / seconds:7,.0f} orders/s "
                f"({seen:,} orders, {seconds:.2f} s)"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for label, cache in (
            ("render cache (round 1 cold, then warm)", ["--render-cache", folder]),
            ("no render cache", ["--no-render-cache"]),
        ):
            print(label)
            for line in measure(args.orders, args.rounds, cache):
                print("  " + line, flush=True)


if __name__ == "__main__":
    main()
