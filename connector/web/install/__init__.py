"""Install flows: a Shopify app (OAuth and the embedded token exchange), a WooCommerce
site's app keys, and the onboarding that starts a store's first sync.

The views need Flask and the database, so they live here, not in platforms/; each
platform names its own by import path (INSTALL_BLUEPRINTS) and the app registers those.
"""

from __future__ import annotations

import importlib

from flask import Blueprint

import platforms


def install_blueprints() -> list[Blueprint]:
    """Every registered platform's install blueprints, in registry order."""
    found: list[Blueprint] = []
    for platform in platforms.every():
        for path in platform.INSTALL_BLUEPRINTS:
            module, _, name = path.partition(":")
            blueprint = getattr(importlib.import_module(module), name)
            if not isinstance(blueprint, Blueprint):
                raise TypeError(f"{platform.NAME}'s install blueprint {path} is not a Flask Blueprint")
            found.append(blueprint)
    return found
