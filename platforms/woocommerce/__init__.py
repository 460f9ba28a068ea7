"""WooCommerce: a site connected by its REST API keys (the merchant approves them on the
site, or pastes them), read over REST, told of changes by webhooks signed with a secret per
site. This package is the platform as `platforms.protocol` names it.
"""

from __future__ import annotations

from typing import Final

from connector.config import Settings
from platforms.plain import app_secrets, cross_store_subject, refreshed, unconfigured
from platforms.protocol import AddOption, Credentials, StoreProfile
from platforms.woocommerce import client
from platforms.woocommerce.install import connect_by_hand
from platforms.woocommerce.reader import ONE_ENTITY_AT_A_TIME, reader_for
from platforms.woocommerce.subscriptions import SUBSCRIPTIONS, repair_subscriptions, subscriptions
from platforms.woocommerce.verify import (
    claimed_source,
    confirmation,
    needs_confirmation,
    refusal,
    site_refusal,
)
from platforms.woocommerce.webhooks import MAPPERS, TOPICS, delivery_of, is_ping, signature_valid

NAME = "woocommerce"
LABEL = "WooCommerce"
HOW_TO_CONNECT = "connect a WooCommerce site at /woocommerce/connect"
SIGNED_BY: Final = "store"
SIGNATURE_HEADER = "X-WC-Webhook-Signature"
UNKNOWN_STORE = "unknown store"
ACTIONS: dict[str, str] = {}
COMPLIANCE: tuple[str, ...] = ()
TOKENS_EXPIRE = False
INSTALL_BLUEPRINTS = ("connector.web.install.woocommerce:bp",)
ADD_HELP = """Connect a WooCommerce site with REST API keys pasted by hand, once the site has
    accepted them."""
ADD_OPTIONS = (
    AddOption("url", "the site's URL, e.g. https://shop.example.com"),
    AddOption("key", "REST API consumer key (ck_…)"),
    AddOption("secret", "REST API consumer secret (cs_…)"),
)


def profile(settings: Settings, credentials: Credentials, domain: str) -> StoreProfile:
    return client.profile(domain, credentials)


__all__ = [
    "ACTIONS",
    "ADD_HELP",
    "ADD_OPTIONS",
    "COMPLIANCE",
    "HOW_TO_CONNECT",
    "INSTALL_BLUEPRINTS",
    "LABEL",
    "MAPPERS",
    "NAME",
    "ONE_ENTITY_AT_A_TIME",
    "SIGNATURE_HEADER",
    "SIGNED_BY",
    "SUBSCRIPTIONS",
    "TOKENS_EXPIRE",
    "TOPICS",
    "UNKNOWN_STORE",
    "app_secrets",
    "claimed_source",
    "confirmation",
    "connect_by_hand",
    "cross_store_subject",
    "delivery_of",
    "is_ping",
    "needs_confirmation",
    "profile",
    "reader_for",
    "refreshed",
    "refusal",
    "repair_subscriptions",
    "signature_valid",
    "site_refusal",
    "subscriptions",
    "unconfigured",
]
