"""Platforms: each is a folder with fixed file names, registered by one line below.

A platform folder holds `install.py` (address validation, install flows) and, as the
sync and webhook work lands, `client.py`, `mapper.py` and `webhooks.py`. Nothing is
imported for its side effects: the registry names modules, and callers import them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from platforms.entities import synced_by

PLATFORMS: dict[str, str] = {
    "shopify": "platforms.shopify",
    "woocommerce": "platforms.woocommerce",
}
# what each platform's reader syncs, from the one table of entities (platforms/entities.py)
SYNCED: dict[str, tuple[str, ...]] = {platform: synced_by(platform) for platform in PLATFORMS}


def platform_module(platform: str, part: str) -> ModuleType:
    """The `part` module (install, client, mapper, …) of a registered platform."""
    if platform not in PLATFORMS:
        raise KeyError(f"unknown platform {platform!r}; known: {', '.join(sorted(PLATFORMS))}")
    return importlib.import_module(f"{PLATFORMS[platform]}.{part}")
