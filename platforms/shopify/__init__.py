"""Shopify: a public app (OAuth or embedded install, or a custom app's pasted token), read
over the Admin GraphQL API (bulk operations for backfills), told of changes by webhooks
signed with the app's secret. This package is the platform as `platforms.protocol` names it.
"""

from __future__ import annotations

from typing import Final

from connector.config import Settings
from platforms.plain import claimed_source, is_ping, site_refusal
from platforms.protocol import AddOption
from platforms.shopify.client import profile
from platforms.shopify.install import connect_by_hand
from platforms.shopify.reader import ONE_ENTITY_AT_A_TIME, reader_for
from platforms.shopify.subscriptions import SUBSCRIPTIONS, repair_subscriptions, subscriptions
from platforms.shopify.tokens import refreshed
from platforms.shopify.verify import confirmation, cross_store_subject, needs_confirmation, refusal
from platforms.shopify.webhooks import ACTIONS, COMPLIANCE, MAPPERS, TOPICS, delivery_of, signature_valid

NAME = "shopify"
LABEL = "Shopify"
HOW_TO_CONNECT = "install the app on a Shopify shop"
SIGNED_BY: Final = "app"
SIGNATURE_HEADER = "X-Shopify-Hmac-Sha256"
UNKNOWN_STORE = "unknown shop"
TOKENS_EXPIRE = True
INSTALL_BLUEPRINTS = ("connector.web.install.shopify_embedded:bp", "connector.web.install.shopify:bp")
ADD_HELP = """Connect a Shopify shop with an access token (custom-app install), once the shop has
    accepted the token and its scopes."""
ADD_OPTIONS = (
    AddOption("shop", "the shop's <name>.myshopify.com domain"),
    AddOption("token", "an Admin API access token for the shop"),
)
UNCONFIGURED = "Shopify is not configured: set SHOPIFY_API_KEY and SHOPIFY_API_SECRET"


def unconfigured(settings: Settings) -> str | None:
    return None if settings.shopify_configured else UNCONFIGURED


def app_secrets(settings: Settings) -> list[str]:
    """The app's secret, and the previous one for up to an hour after a rotation."""
    return [s for s in (settings.shopify_api_secret, settings.shopify_previous_secret) if s]


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
