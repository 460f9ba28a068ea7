"""Clients for the stores a sandbox manifest lists: the `woocommerce` library's API for a
site and the connector's GraphQL client for a shop (benchmarks, tests, the demo)."""

from __future__ import annotations

from typing import Any

from woocommerce import API

from platforms.shopify.client import ShopifyClient

API_VERSION = "2026-07"


def woo_api(site: dict[str, Any], timeout: float = 60) -> API:
    return API(
        url=site["url"],
        consumer_key=site["consumer_key"],
        consumer_secret=site["consumer_secret"],
        version="wc/v3",
        timeout=timeout,
    )


def shopify_client(manifest: dict[str, Any], shop: dict[str, Any]) -> ShopifyClient:
    url = manifest["shopify"]["shop_url_template"].format(shop=shop["domain"])
    return ShopifyClient(url, shop["access_token"], API_VERSION)
