"""Platform clients against the sandbox: transient failures are retried, the rest become actions."""

from __future__ import annotations

import random

import pytest
import requests

from connector.errors import Reauthorize
from platforms.shopify.client import ShopifyClient
from platforms.woocommerce.client import WooClient
from sandbox.server import SandboxServer
from tests.conftest_sandbox import SIZES

QUERY = "{ customersCount { count } }"


def clients(sandbox: SandboxServer) -> tuple[ShopifyClient, WooClient]:
    manifest = sandbox.world.manifest()
    shop, site = manifest["shopify"]["shops"][0], manifest["woocommerce"]["stores"][0]
    url = manifest["shopify"]["shop_url_template"].format(shop=shop["domain"])
    return (
        ShopifyClient(url, shop["access_token"], "2026-07"),
        WooClient(site["url"], site["consumer_key"], site["consumer_secret"]),
    )


def test_429_and_5xx_storms_are_ridden_out(sandbox: SandboxServer) -> None:
    shopify, woo = clients(sandbox)
    requests.post(f"{sandbox.url}/_sandbox/faults", json={"rate_429": 0.2, "rate_5xx": 0.1}, timeout=5)
    for _ in range(5):
        assert shopify.graphql(QUERY)["data"]["customersCount"]["count"] == SIZES.customers
        assert len(woo.get("customers", per_page=5)) == 5
    assert sandbox.world.injected_429 + sandbox.world.injected_5xx > 0  # the storm really happened


def test_revoked_credentials_ask_for_reauthorisation(sandbox: SandboxServer) -> None:
    shopify, woo = clients(sandbox)
    for store in ("sandbox-shop-1.myshopify.com", "site-1"):
        requests.post(f"{sandbox.url}/_sandbox/faults", json={"revoke": store}, timeout=5)
    with pytest.raises(Reauthorize):
        shopify.graphql(QUERY)
    with pytest.raises(Reauthorize):
        woo.get("orders")


def test_woocommerce_pages_are_fetched_concurrently_and_completely(sandbox: SandboxServer) -> None:
    from platforms.woocommerce.client import all_pages

    _shopify, woo = clients(sandbox)
    requests.post(f"{sandbox.url}/_sandbox/faults", json={"latency_ms": 50}, timeout=5)
    sandbox.world.max_in_flight = 0
    pages = list(all_pages(woo, "orders", {"orderby": "id", "order": "asc"}, concurrency=3))
    ids = [o["id"] for page in pages for o in page]
    assert len(ids) == len(set(ids)) == SIZES.orders and len(pages) == 7  # 700 orders in pages of 100
    assert ids == sorted(ids)  # page order is kept although pages are fetched concurrently
    assert 2 <= sandbox.world.max_in_flight <= 3  # concurrent, and never past the per-store limit


def test_woocommerce_nonces_do_not_repeat_when_the_random_module_is_reseeded(sandbox: SandboxServer) -> None:
    """Hypothesis (and anything else) may reseed `random`; the site refuses a nonce it has seen
    in the last 15 minutes, so a nonce drawn from `random` would fail the second request."""
    _shopify, woo = clients(sandbox)
    for _ in range(3):
        random.seed(1234)
        assert len(woo.get("customers", per_page=2)) == 2
