"""Shopify install: what a valid shop address and a pasted access token look like.

A shop is named by its permanent `<name>.myshopify.com` domain; anything else (a
custom domain, `x.myshopify.com.evil.com`, a path or a port) is refused before any
outbound request is made.
"""

from __future__ import annotations

import re

from connector.errors import BadInput

SHOP_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*\.myshopify\.com")
ACCESS_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,255}")


def normalize_shop_domain(value: str) -> str:
    """`Example-Shop.myshopify.com` or `https://example-shop.myshopify.com/` → the bare lowercase domain."""
    shop = value.strip().lower()
    shop = re.sub(r"^https?://", "", shop).rstrip("/")
    if not SHOP_DOMAIN.fullmatch(shop):
        raise BadInput(f"{value!r} is not a Shopify shop domain; expected <name>.myshopify.com")
    return shop


def check_access_token(token: str) -> str:
    if not ACCESS_TOKEN.fullmatch(token or ""):
        raise BadInput("the access token should be 16 or more letters, digits, '_' or '-' (e.g. shpat_…)")
    return token
