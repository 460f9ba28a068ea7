"""Webhook subscriptions: which the connector needs on each store, whether the platform
still has them, and the repair that makes it so.

Shopify deletes an Admin-API subscription after 8 failed deliveries and WooCommerce
disables a webhook after its 7th, silently; `check` compares the platform's list with
what we expect, and `repair` creates what is missing and replaces what is disabled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from connector import db, logs
from connector.accounts.stores import needs_reauthorisation, webhook_secret
from connector.config import Settings
from connector.context import settings_of, vault_of
from connector.crypto import Vault
from connector.db.models import Store
from connector.errors import ConnectorError, FailPermanently, Reauthorize
from platforms.shopify.client import ShopifyClient
from platforms.shopify.client import client_for as shopify_client
from platforms.woocommerce.client import WooClient
from platforms.woocommerce.client import client_for as woo_client

log = logs.get(__name__)
SHOPIFY_TOPICS = (
    "APP_UNINSTALLED",
    "BULK_OPERATIONS_FINISH",
    "CUSTOMERS_CREATE",
    "CUSTOMERS_UPDATE",
    "CUSTOMERS_DELETE",
    "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE",
    "ORDERS_CREATE",
    "ORDERS_UPDATED",
    "ORDERS_DELETE",
    "ORDERS_PAID",
    "ORDERS_FULFILLED",
    "ORDERS_PARTIALLY_FULFILLED",
    "ORDERS_CANCELLED",
    "FULFILLMENTS_CREATE",
    "FULFILLMENTS_UPDATE",
    "REFUNDS_CREATE",
    "PRODUCTS_CREATE",
    "PRODUCTS_UPDATE",
    "PRODUCTS_DELETE",
    "CHECKOUTS_CREATE",
    "CHECKOUTS_UPDATE",
    "CHECKOUTS_DELETE",
)
WOO_TOPICS = tuple(
    f"{r}.{e}"
    for r in ("customer", "order", "product")
    for e in ("created", "updated", "deleted", "restored")
)
LIST_SUBSCRIPTIONS = """query($after: String) { webhookSubscriptions(first: 100, after: $after) {
  nodes { id topic uri } pageInfo { hasNextPage endCursor } } }"""
CREATE = """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id } userErrors { message } } }"""


@dataclass
class Health:
    store_id: int
    address: str
    healthy: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.disabled

    def as_dict(self) -> dict[str, Any]:
        return {
            "store_id": self.store_id,
            "address": self.address,
            "ok": self.ok,
            "healthy": self.healthy,
            "missing": self.missing,
            "disabled": self.disabled,
        }


def address(settings: Settings, store: Store) -> str:
    if store.platform == "shopify":
        return f"{settings.app_url}/webhooks/shopify"
    return f"{settings.app_url}/webhooks/woocommerce/{store.store_key}"


def check(settings: Settings, vault: Vault, store: Store) -> Health:
    if store.platform == "shopify":
        return _shopify_health(settings, store, _shopify(settings, vault, store))
    return _woo_health(settings, store, _woo(vault, store))


def repair(settings: Settings, vault: Vault, store: Store) -> Health:
    """Make the platform's subscriptions what they should be; returns the health afterwards.
    Creates the store's webhook secret if it has none (the caller commits the store)."""
    if store.platform == "shopify":
        client = _shopify(settings, vault, store)
        health = _shopify_health(settings, store, client)
        for topic in health.missing:
            answer = client.graphql(CREATE, {"topic": topic, "uri": health.address})
            errors = answer["data"]["webhookSubscriptionCreate"]["userErrors"]
            if errors:
                raise FailPermanently(f"Shopify refused the {topic} subscription: {errors[0]['message']}")
        return _shopify_health(settings, store, client)
    woo = _woo(vault, store)
    health = _woo_health(settings, store, woo)
    secret = webhook_secret(vault, store)
    for hook in woo.get("webhooks", per_page=100):
        if hook["delivery_url"] == health.address and hook["topic"] in health.disabled:
            woo.delete(f"webhooks/{hook['id']}", force="true")
    for topic in health.missing + health.disabled:
        woo.post(
            "webhooks",
            {
                "name": f"crm-connector {topic}",
                "topic": topic,
                "delivery_url": health.address,
                "secret": secret,
                "status": "active",
            },
        )
    return _woo_health(settings, store, woo)


def _shopify(settings: Settings, vault: Vault, store: Store) -> ShopifyClient:
    return shopify_client(settings, vault.open(store.credentials) if store.credentials else {}, store.domain)


def _woo(vault: Vault, store: Store) -> WooClient:
    return woo_client(store.domain, vault.open(store.credentials) if store.credentials else {})


def _shopify_health(settings: Settings, store: Store, client: ShopifyClient) -> Health:
    health = Health(store.id, address(settings, store))
    present: set[str] = set()
    after = None
    while True:
        conn = client.graphql(LIST_SUBSCRIPTIONS, {"after": after})["data"]["webhookSubscriptions"]
        present |= {n["topic"] for n in conn["nodes"] if n["uri"] == health.address}
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    health.healthy = [t for t in SHOPIFY_TOPICS if t in present]
    health.missing = [t for t in SHOPIFY_TOPICS if t not in present]
    return health


def _woo_health(settings: Settings, store: Store, woo: WooClient) -> Health:
    health = Health(store.id, address(settings, store))
    hooks = [h for h in woo.get("webhooks", per_page=100) if h["delivery_url"] == health.address]
    status = {h["topic"]: h["status"] for h in hooks}
    health.healthy = [t for t in WOO_TOPICS if status.get(t) == "active"]
    health.disabled = [t for t in WOO_TOPICS if t in status and status[t] != "active"]
    health.missing = [t for t in WOO_TOPICS if t not in status]
    return health


def register_after_install(app: Flask, store_id: int) -> Health | None:
    """Register a newly installed store's webhooks; a failure leaves the install standing
    (the store's webhook health shows what is missing, and `repair` fixes it)."""
    try:
        with db.session(app) as s, s.begin():
            store = s.get(Store, store_id)
            if store is None:
                return None
            return repair(settings_of(app), vault_of(app), store)
    except Reauthorize as exc:
        with db.session(app) as s, s.begin():
            store = s.get(Store, store_id)
            if store is not None:
                needs_reauthorisation(s, store, exc.reason)
        return None
    except ConnectorError as exc:
        log.warning("webhook registration failed", extra={"store_id": store_id, "reason": exc.reason})
        return None
