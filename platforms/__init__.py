"""Platforms: the registry, the only way the connector reaches a platform.

Each platform is a folder `platforms/<name>/` whose package offers every member of
`platforms.protocol.Platform`, registered by one line in `PLATFORMS` below. Callers ask
`get(name)` or iterate `every()`; no code outside a platform's folder compares its name.
Packages are imported on first use, so `import platforms` loads no platform.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

from platforms.protocol import MEMBERS, Platform

PLATFORMS: dict[str, str] = {
    "shopify": "platforms.shopify",
    "woocommerce": "platforms.woocommerce",
    "magento": "platforms.magento",
}


# package path → its module once checked against the Protocol: the check walks every member
# (typing's runtime Protocol check, ~300 µs), and get() is on every webhook's hot path
_CHECKED: dict[str, object] = {}


class UnknownPlatform(KeyError):
    """No platform is registered under this name."""


def get(name: str) -> Platform:
    """The registered platform `name` (its package, checked against the Protocol)."""
    if name not in PLATFORMS:
        raise UnknownPlatform(f"unknown platform {name!r}; known: {', '.join(sorted(PLATFORMS))}")
    package = PLATFORMS[name]
    module = importlib.import_module(package)
    if _CHECKED.get(package) is not module:
        if not isinstance(module, Platform):
            missing = [m for m in MEMBERS if not hasattr(module, m)]
            raise TypeError(f"{package} is not a platform: it lacks {', '.join(missing)}")
        _CHECKED[package] = module
    return cast(Platform, module)


def names() -> tuple[str, ...]:
    """The registered platforms' names, in registration order."""
    return tuple(PLATFORMS)


def every() -> list[Platform]:
    return [get(name) for name in PLATFORMS]


def register(name: str, package: str) -> None:
    """Add a platform at run time (tests, plugins); `package` is its import path."""
    PLATFORMS[name] = package


if TYPE_CHECKING:  # mypy proves each built-in package satisfies the Protocol
    from platforms import magento, shopify, woocommerce

    _shopify: Platform = shopify
    _woocommerce: Platform = woocommerce
    _magento: Platform = magento
