"""The sandbox at scale: pages/s for both platforms and the server's memory, 1M orders.

Usage: python -m bench.sandbox [--orders 1000000] [--pages 200]
Starts `crm-connector sandbox --unthrottled` as its own process, walks WooCommerce pages
(sequential, then deep offsets) with the `woocommerce` client and Shopify GraphQL pages
with cursors, runs a bulk export over the newest tenth of the orders, and reads the
server's resident memory (VmRSS now, VmHWM peak) from /proc.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from sandbox.clients import woo_api

GRAPHQL_PAGE = """query($after: String) { orders(first: 100, after: $after, sortKey: UPDATED_AT) {
  nodes { id updatedAt totalPriceSet { shopMoney { amount } } lineItems(first: 3) { nodes { sku quantity } } }
  pageInfo { hasNextPage endCursor } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_sandbox(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """`crm-connector sandbox` as its own process on a free port, with its manifest."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector.cli", "sandbox", "--port", str(free_port()), *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc, json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def memory_mb(pid: int) -> dict[str, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}


def rate(count: int, started: float) -> float:
    return count / (time.perf_counter() - started)


def woo_pages(manifest: dict[str, Any], pages: int, total_orders: int) -> dict[str, float]:
    site = manifest["woocommerce"]["stores"][0]
    wc = woo_api(site)
    started = time.perf_counter()
    for page in range(1, pages + 1):
        assert len(
            wc.get("orders", params={"per_page": 100, "page": page, "orderby": "id", "order": "asc"}).json()
        )
    sequential = rate(pages, started)
    rng = random.Random(1)
    started = time.perf_counter()
    for _ in range(pages // 4):
        page = rng.randrange(1, total_orders // 100)
        assert wc.get("orders", params={"per_page": 100, "page": page}).status_code == 200
    return {
        "woo pages/s (100 orders, first pages)": sequential,
        "woo pages/s (100 orders, random deep pages)": rate(pages // 4, started),
    }


def shopify_pages(manifest: dict[str, Any], pages: int) -> dict[str, float]:
    shop = manifest["shopify"]["shops"][0]
    url = (
        manifest["shopify"]["shop_url_template"].format(shop=shop["domain"])
        + "/admin/api/2026-07/graphql.json"
    )
    session = requests.Session()
    session.headers["X-Shopify-Access-Token"] = shop["access_token"]
    after = None
    started = time.perf_counter()
    for _ in range(pages):
        answer = session.post(
            url, json={"query": GRAPHQL_PAGE, "variables": {"after": after}}, timeout=60
        ).json()
        after = answer["data"]["orders"]["pageInfo"]["endCursor"]
    return {"shopify GraphQL pages/s (100 orders + line items)": rate(pages, started)}


def shopify_bulk(manifest: dict[str, Any]) -> dict[str, float]:
    shop = manifest["shopify"]["shops"][0]
    url = (
        manifest["shopify"]["shop_url_template"].format(shop=shop["domain"])
        + "/admin/api/2026-07/graphql.json"
    )
    headers = {"X-Shopify-Access-Token": shop["access_token"]}
    query = (
        'mutation { bulkOperationRunQuery(query: """{ orders(sortKey: CREATED_AT) { edges { node {'
        " id name createdAt totalPriceSet { shopMoney { amount } }"
        ' lineItems { edges { node { sku quantity } } } } } } }""")'
        " { bulkOperation { id } userErrors { message } } }"
    )
    started = time.perf_counter()
    session_query(url, headers, query)
    while True:
        op = session_query(url, headers, "{ currentBulkOperation { status objectCount rootObjectCount } }")[
            "currentBulkOperation"
        ]
        if op["status"] in ("COMPLETED", "FAILED"):
            break
        time.sleep(0.5)
    return {
        "shopify bulk export, root objects/s": rate(int(op["rootObjectCount"]), started),
        "shopify bulk export, JSONL lines/s": int(op["objectCount"]) / (time.perf_counter() - started),
    }


def session_query(url: str, headers: dict[str, str], query: str) -> dict[str, Any]:
    data: dict[str, Any] = requests.post(url, json={"query": query}, headers=headers, timeout=60).json()[
        "data"
    ]
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--bulk-orders", type=int, default=100_000, help="store size for the bulk export run")
    args = parser.parse_args()
    results: dict[str, float] = {}
    memory: dict[str, dict[str, float]] = {}
    for label, orders in (("pages", args.orders), ("bulk", args.bulk_orders)):
        sizes = ["--orders", str(orders), "--customers", str(orders // 10), "--products", "2000"]
        with running_sandbox(*sizes, "--unthrottled") as (proc, manifest):
            memory[f"{label}: at start ({orders:,} orders)"] = memory_mb(proc.pid)
            if label == "pages":
                results |= woo_pages(manifest, args.pages, orders)
                results |= shopify_pages(manifest, args.pages)
            else:
                results |= shopify_bulk(manifest)
            memory[f"{label}: after the run"] = memory_mb(proc.pid)
    print(
        f"sandbox with {args.orders:,} orders ({args.orders // 10:,} customers, 2,000 products), unthrottled"
    )
    for name, value in results.items():
        print(f"  {name:52} {value:10,.1f}")
    for name, mem in memory.items():
        print(f"  RSS {name:48} {mem['VmRSS']:8.1f} MB (peak {mem['VmHWM']:.1f} MB)")


if __name__ == "__main__":
    main()
