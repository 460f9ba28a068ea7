"""Platforms: each is a folder with fixed file names, registered by one line below.

A platform folder holds `install.py` (address validation, install flows) and, as the
sync and webhook work lands, `client.py`, `mapper.py` and `webhooks.py`. Nothing is
imported for its side effects: the registry names modules, and callers import them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

PLATFORMS: dict[str, str] = {
    "shopify": "platforms.shopify",
    "woocommerce": "platforms.woocommerce",
}
# what each platform's reader syncs: the three core entities everywhere, and Shopify's
# abandoned checkouts (WooCommerce's checkout drafts arrive as order webhooks)
CORE_ENTITIES = ("customers", "products", "orders")
SYNCED: dict[str, tuple[str, ...]] = {"shopify": (*CORE_ENTITIES, "checkouts"), "woocommerce": CORE_ENTITIES}


def platform_module(platform: str, part: str) -> ModuleType:
    """The `part` module (install, client, mapper, …) of a registered platform."""
    if platform not in PLATFORMS:
        raise KeyError(f"unknown platform {platform!r}; known: {', '.join(sorted(PLATFORMS))}")
    return importlib.import_module(f"{PLATFORMS[platform]}.{part}")
