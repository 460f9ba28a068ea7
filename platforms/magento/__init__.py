"""Magento 2 (Magento Open Source, Adobe Commerce): a store connected by an integration's
access token (pasted by hand, or received by the integration's activation), read over REST
with `searchCriteria`, kept current by the scheduled re-sync and, on Adobe Commerce, by its
signed webhooks (customer, order and product saves). This package is the platform as
`platforms.protocol` names it.
"""

from __future__ import annotations

from typing import Final

from connector.config import Settings
from platforms.magento import client
from platforms.magento.install import connect_by_hand
from platforms.magento.reader import ONE_ENTITY_AT_A_TIME, reader_for
from platforms.magento.subscriptions import SUBSCRIPTIONS, repair_subscriptions, subscriptions
from platforms.magento.verify import refusal
from platforms.magento.webhooks import MAPPERS, TOPICS, delivery_of, signature_valid
from platforms.plain import (
    app_secrets,
    claimed_source,
    confirmation,
    cross_store_subject,
    is_ping,
    needs_confirmation,
    refreshed,
    site_refusal,
    unconfigured,
)
from platforms.protocol import AddOption, Credentials, StoreProfile

NAME = "magento"
LABEL = "Magento"
HOW_TO_CONNECT = "connect a Magento store with `crm-connector stores add-magento --url U --token T`"
SIGNED_BY: Final = "store"
SIGNATURE_HEADER = "X-Adobe-Commerce-Webhook-Signature"
UNKNOWN_STORE = "unknown store"
ACTIONS: dict[str, str] = {}
COMPLIANCE: tuple[str, ...] = ()
TOKENS_EXPIRE = False  # an integration's access token lasts until the integration is reset
INSTALL_BLUEPRINTS = ("connector.web.install.magento:bp",)  # the integration activation
ADD_HELP = """Connect a Magento 2 store with an integration's access token pasted by hand, once
    the store has accepted it (System → Extensions → Integrations → Activate)."""
ADD_OPTIONS = (
    AddOption("url", "the store's base URL, e.g. https://shop.example.com"),
    AddOption("token", "the integration's Access Token"),
    AddOption(
        "store-view",
        "a store view code to sync (repeatable); without it, every store view is synced",
        multiple=True,
    ),
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
