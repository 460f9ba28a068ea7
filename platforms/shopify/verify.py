"""Verifying a Shopify delivery: its body fits its topic and shop, and what to confirm.

One app secret signs every shop's deliveries, so a body captured from one shop verifies
under another's header: compliance and uninstall bodies must name their shop, a record
already held for another shop is confirmed with this one (`cross_store_subject`), and
deletions and uninstalls are confirmed with the shop before they act (`confirmation`).
"""

from __future__ import annotations

from typing import Any

from connector.config import Settings
from platforms.base import MAX_ID
from platforms.bodies import deletion_refusal, positive_id, record_refusal
from platforms.protocol import Credentials, Question
from platforms.shopify import client as shopify_client
from platforms.shopify.webhooks import COMPLIANCE, MAPPERS

# deletions: topic → the GraphQL kind read back by id (checkouts have no read by id)
DELETIONS: dict[str, str | None] = {
    "customers/delete": "Customer",
    "orders/delete": "Order",
    "products/delete": "Product",
    "checkouts/delete": None,
}
DELETION_KEYS = {"id", "admin_graphql_api_id"}
KINDS = {"customers": "Customer", "orders": "Order", "products": "Product"}
NOT_A_SHOP = ("line_items", "variants", "first_name", "shop_domain")  # keys a shop object lacks


def refusal(topic: str, payload: Any, domain: str) -> str | None:
    """Why this body cannot be what its headers say, or None when it fits."""
    if not isinstance(payload, dict):
        return f"a {topic} body is a JSON object"
    if topic in COMPLIANCE:
        return _compliance_refusal(topic, payload, domain)
    if topic == "app/uninstalled":
        named = payload.get("myshopify_domain")
        if named is not None and str(named).lower() != domain.lower():
            return f"the body names the shop {str(named)[:100]!r}, not {domain}"
        if any(k in payload for k in NOT_A_SHOP):
            return "the body is not a shop object"
        return None
    if topic in DELETIONS:
        allowed = DELETION_KEYS | ({"tax_exemptions"} if topic == "customers/delete" else set())
        return deletion_refusal(topic, payload, allowed) or _kind_refusal(topic, payload)
    if topic not in MAPPERS:
        return None  # sync hints (bulk_operations/finish, orders/edited) change no record
    return _kind_refusal(topic, payload) or record_refusal(topic, payload)


def _compliance_refusal(topic: str, payload: dict[str, Any], domain: str) -> str | None:
    named = payload.get("shop_domain")
    if not isinstance(named, str) or named.lower() != domain.lower():
        return f"{topic} names the shop {str(named)[:100]!r}, not {domain}, the shop it came from"
    customer = payload.get("customer")
    if topic != "shop/redact" and not (isinstance(customer, dict) and positive_id(customer.get("id"))):
        return f"{topic} carries no customer id"
    return None


def _kind_refusal(topic: str, payload: dict[str, Any]) -> str | None:
    kind = KINDS.get(topic.split("/")[0])
    gid = payload.get("admin_graphql_api_id")
    if kind and gid is not None and not str(gid).startswith(f"gid://shopify/{kind}/"):
        return f"a {topic} body is a {kind}; this one is {str(gid)[:100]!r}"
    return None


def cross_store_subject(topic: str, payload: Any) -> tuple[str, int] | None:
    """The record a delivery writes (entity, id), for the cross-shop check: Shopify's ids
    are the platform's own, never two shops', so a record already held for another shop
    is confirmed with this one before it is written."""
    if not isinstance(payload, dict) or topic not in MAPPERS:
        return None
    entity = topic.split("/")[0]
    key = {"fulfillments": "order_id", "refunds": "order_id"}.get(entity, "id")
    if entity == "customers_email_marketing_consent":
        entity, key = "customers", "customer_id"
    elif entity in ("fulfillments", "refunds"):
        entity = "orders"
    if entity not in KINDS or topic in DELETIONS or not positive_id(payload.get(key)):
        return None
    if payload[key] > MAX_ID:
        return None  # not a storable id: the mapper refuses the delivery in words
    return entity, int(payload[key])


def needs_confirmation(topic: str) -> bool:
    """Deletions (but checkouts', which cannot be read back) and uninstalls."""
    return topic == "app/uninstalled" or DELETIONS.get(topic) is not None


def confirmation(
    settings: Settings,
    credentials: Credentials,
    domain: str,
    topic: str,
    payload: dict[str, Any],
    timeout: float,
) -> Question | None:
    """What to ask the shop before this delivery acts (None: nothing to ask)."""
    shop = shopify_client.client_for(settings, credentials, domain)
    shop.timeout = timeout
    if topic == "app/uninstalled":
        if not credentials:
            return None  # nothing left to revoke
        return Question(lambda: shopify_client.token_revoked(shop), "still accepts the app's token")
    held = cross_store_subject(topic, payload)
    if held is not None:  # a record another shop holds: written only if this shop has it too
        return Question(
            lambda: shopify_client.record_exists(shop, KINDS[held[0]], held[1]),
            "does not have this record: its id is another shop's",
        )
    kind = DELETIONS[topic]
    assert kind is not None
    return Question(
        lambda: not shopify_client.record_exists(shop, kind, payload["id"]), "still has this record"
    )
