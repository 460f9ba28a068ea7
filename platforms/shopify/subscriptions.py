"""Shopify's webhook subscriptions (Admin GraphQL): the topics needed, what the shop has at
our address, and creating what is missing. Shopify deletes a subscription after 8 failed
deliveries, so a missing one is the only unhealthy state.
"""

from __future__ import annotations

from connector.config import Settings
from connector.errors import FailPermanently
from platforms.protocol import Credentials, SubscriptionState
from platforms.shopify.client import ShopifyClient, client_for

SUBSCRIPTIONS = (
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
LIST_SUBSCRIPTIONS = """query($after: String) { webhookSubscriptions(first: 100, after: $after) {
  nodes { id topic uri } pageInfo { hasNextPage endCursor } } }"""
CREATE = """mutation($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id } userErrors { message } } }"""


def subscriptions(
    settings: Settings, credentials: Credentials, domain: str, address: str
) -> SubscriptionState:
    return _state(client_for(settings, credentials, domain), address)


def repair_subscriptions(
    settings: Settings, credentials: Credentials, domain: str, address: str, secret: str | None
) -> None:
    """Create the missing subscriptions (Shopify signs with the app's secret: `secret` is unused)."""
    client = client_for(settings, credentials, domain)
    for topic in _state(client, address).missing:
        answer = client.graphql(CREATE, {"topic": topic, "uri": address})
        errors = answer["data"]["webhookSubscriptionCreate"]["userErrors"]
        if errors:
            raise FailPermanently(f"Shopify refused the {topic} subscription: {errors[0]['message']}")


def _state(client: ShopifyClient, address: str) -> SubscriptionState:
    present: set[str] = set()
    after = None
    while True:
        conn = client.graphql(LIST_SUBSCRIPTIONS, {"after": after})["data"]["webhookSubscriptions"]
        present |= {n["topic"] for n in conn["nodes"] if n["uri"] == address}
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    healthy = [t for t in SUBSCRIPTIONS if t in present]
    return SubscriptionState(healthy, [t for t in SUBSCRIPTIONS if t not in present], [])
