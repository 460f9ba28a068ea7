"""Single settings read on their own, before an app exists and without making the instance
folder: how to reach a shop's Admin API (a credential check must write nothing) and the web
server's concurrency (a CLI option's default). Declared, like every setting, in `config.py`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from connector.config import _given, _value


@dataclasses.dataclass(frozen=True)
class ShopifyApi:
    shop_url_template: str
    version: str
    scopes: str


def shopify_api_settings(environ: Mapping[str, str] | None = None) -> ShopifyApi:
    """How to reach a shop's Admin API, read without making the instance folder (the
    credential check before a store is saved must write nothing)."""
    env = _given(environ)
    return ShopifyApi(
        _value(env, "shopify_shop_url_template"),
        _value(env, "shopify_api_version"),
        _value(env, "shopify_scopes"),
    )


def web_concurrency(environ: Mapping[str, str] | None = None) -> int:
    """WEB_CONCURRENCY alone (the default of `serve --workers`)."""
    workers: int = _value(_given(environ), "web_concurrency")
    return workers
