"""Verifying a delivery before it deletes, uninstalls, erases or crosses records.

A webhook's signature covers its body only: the topic, shop and time headers of a replayed
body are the sender's word. So a body must fit the topic it came under and the shop it
names (`refusal`, pure), and deletions and uninstalls are confirmed with the platform
before they act (`confirmation`: the record is gone, the token answers 401). A refusal is
recorded on the delivery and nothing is applied; an unreachable platform means retry later.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from connector.config import Settings
from connector.crypto import Vault
from connector.errors import ConnectorError, FailPermanently, Reauthorize, SkipRecord
from platforms.base import MAX_ID
from platforms.shopify import client as shopify_client
from platforms.shopify.webhooks import MAPPERS as MAPPED
from platforms.woocommerce import client as woo_client

# Shopify deletions: topic → the GraphQL kind read back by id (checkouts have no read by id)
SHOPIFY_DELETIONS: dict[str, str | None] = {
    "customers/delete": "Customer",
    "orders/delete": "Order",
    "products/delete": "Product",
    "checkouts/delete": None,
}
DELETION_KEYS = {"id", "admin_graphql_api_id"}
KINDS = {"customers": "Customer", "orders": "Order", "products": "Product"}
COMPLIANCE = ("customers/data_request", "customers/redact", "shop/redact")
NOT_A_SHOP = ("line_items", "variants", "first_name", "shop_domain")  # keys a shop object lacks
CONFIRM_TIMEOUT_S = 10.0
MAX_URL = 255  # stores.domain and stores.pending_url


def refusal(platform: str, topic: str, payload: Any, domain: str) -> str | None:
    """Why this body cannot be what its headers say (another topic's or another shop's
    body), or None when it fits."""
    if not isinstance(payload, dict):
        return f"a {topic} body is a JSON object"
    if platform == "woocommerce":
        return _woo_refusal(topic, payload)
    if topic in COMPLIANCE:
        return _compliance_refusal(topic, payload, domain)
    if topic == "app/uninstalled":
        named = payload.get("myshopify_domain")
        if named is not None and str(named).lower() != domain.lower():
            return f"the body names the shop {str(named)[:100]!r}, not {domain}"
        if any(k in payload for k in NOT_A_SHOP):
            return "the body is not a shop object"
        return None
    if topic in SHOPIFY_DELETIONS:
        allowed = DELETION_KEYS | ({"tax_exemptions"} if topic == "customers/delete" else set())
        return _deletion_refusal(topic, payload, allowed) or _kind_refusal(topic, payload)
    if topic not in MAPPED:
        return None  # sync hints (bulk_operations/finish, orders/edited) change no record
    return _kind_refusal(topic, payload) or _record_refusal(topic, payload)


def _compliance_refusal(topic: str, payload: dict[str, Any], domain: str) -> str | None:
    named = payload.get("shop_domain")
    if not isinstance(named, str) or named.lower() != domain.lower():
        return f"{topic} names the shop {str(named)[:100]!r}, not {domain}, the shop it came from"
    customer = payload.get("customer")
    if topic != "shop/redact" and not (isinstance(customer, dict) and _positive_id(customer.get("id"))):
        return f"{topic} carries no customer id"
    return None


def _deletion_refusal(topic: str, payload: dict[str, Any], allowed: set[str]) -> str | None:
    if not _positive_id(payload.get("id")):
        return f"a {topic} body carries the record's id"
    extra = sorted(set(payload) - allowed)
    if extra:
        return f"a {topic} body is only the record's id; this one has {', '.join(extra[:5])}"
    return None


def _kind_refusal(topic: str, payload: dict[str, Any]) -> str | None:
    kind = KINDS.get(topic.split("/")[0])
    gid = payload.get("admin_graphql_api_id")
    if kind and gid is not None and not str(gid).startswith(f"gid://shopify/{kind}/"):
        return f"a {topic} body is a {kind}; this one is {str(gid)[:100]!r}"
    return None


def _record_refusal(topic: str, payload: dict[str, Any]) -> str | None:
    """Another record type's body under this topic: an order without line items, or a
    customer or product with them (or a customer with variants). A record's own fields are
    the mapper's to check; legacy bodies wrapped in their resource's name are unwrapped."""
    resource = topic.split("/")[0].split(".")[0].rstrip("s")
    wrapped = payload.get(resource)
    body: dict[str, Any] = wrapped if isinstance(wrapped, dict) else payload
    if resource == "order" and not isinstance(body.get("line_items"), list):
        return f"a {topic} body is an order (it has line_items)"
    if resource in ("customer", "product") and "line_items" in body:
        return f"a {topic} body is a {resource}, not an order"
    if resource == "customer" and "variants" in body:
        return f"a {topic} body is a customer, not a product"
    return None


def _woo_refusal(topic: str, payload: dict[str, Any]) -> str | None:
    if topic.endswith(".deleted"):
        return _deletion_refusal(topic, payload, {"id"})
    return _record_refusal(topic, payload)


def _positive_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def subject(platform: str, topic: str, payload: Any) -> tuple[str, int] | None:
    """The record a Shopify delivery writes (entity, id), for the cross-shop check: one app's
    secret signs every shop's deliveries, so a body captured from one shop verifies under
    another's header, while Shopify's ids are the platform's own, never two shops' (a
    record already held for another shop is confirmed with this one before it is written).
    WooCommerce signs with a secret per site, so its bodies cannot cross stores."""
    if platform != "shopify" or not isinstance(payload, dict) or topic not in MAPPED:
        return None
    entity = topic.split("/")[0]
    key = {"fulfillments": "order_id", "refunds": "order_id"}.get(entity, "id")
    if entity == "customers_email_marketing_consent":
        entity, key = "customers", "customer_id"
    elif entity in ("fulfillments", "refunds"):
        entity = "orders"
    if entity not in KINDS or topic in SHOPIFY_DELETIONS or not _positive_id(payload.get(key)):
        return None
    if payload[key] > MAX_ID:
        return None  # not a storable id: the mapper refuses the delivery in words
    return entity, int(payload[key])


def needs_confirmation(platform: str, topic: str) -> bool:
    """Deletions and uninstalls act only once the platform confirms them."""
    if platform == "woocommerce":
        return topic.endswith(".deleted")
    return topic == "app/uninstalled" or SHOPIFY_DELETIONS.get(topic) is not None


def confirmation(
    settings: Settings, vault: Vault, store: Any, topic: str, payload: dict[str, Any]
) -> str | None:
    """Ask the platform: None when it confirms the event, else why it is refused. Raises
    RetryLater while the platform cannot be reached (the delivery waits, pending)."""
    credentials = vault.open(store.credentials) if store.credentials else {}
    if store.platform == "woocommerce":
        client = woo_client.client_for(store.domain, credentials, concurrency=1)
        resource = f"{topic.split('.')[0]}s"
        return _asked(
            lambda: woo_client.record_gone(client, resource, payload["id"]), "still has this record"
        )
    shop = shopify_client.client_for(settings, credentials, store.domain)
    shop.timeout = CONFIRM_TIMEOUT_S
    if topic == "app/uninstalled":
        if not credentials:
            return None  # nothing left to revoke
        return _asked(lambda: shopify_client.token_revoked(shop), "still accepts the app's token")
    held = subject(store.platform, topic, payload)
    if held is not None:  # a record another shop holds: written only if this shop has it too
        return _asked(
            lambda: shopify_client.record_exists(shop, KINDS[held[0]], held[1]),
            "does not have this record: its id is another shop's",
        )
    kind = SHOPIFY_DELETIONS[topic]
    assert kind is not None
    return _asked(
        lambda: not shopify_client.record_exists(shop, kind, payload["id"]), "still has this record"
    )


def _asked(confirmed: Callable[[], bool], otherwise: str) -> str | None:
    try:
        if confirmed():
            return None
    except (Reauthorize, FailPermanently, SkipRecord) as exc:  # asking again would not help
        return f"could not be confirmed: {exc.reason}; a re-sync reconciles it"
    return f"not confirmed: the platform {otherwise}"


def site_confirmation(store: Any, vault: Vault, source: str, known: tuple[int, str] | None) -> str | None:
    """A WooCommerce site's new URL: None when the site there accepts the store's keys,
    reports itself as that URL and, given `known` (an order id and its order_key from the
    store's records), holds that order, else why it is refused. An unreachable URL is
    refused too (anyone can forge the header, so waiting on it would stall the inbox)."""
    if not source.lower().startswith(("https://", "http://")) or not urlparse(source).hostname:
        return f"{source[:100]!r} is not a web address"
    if len(source) > MAX_URL:
        return f"{source[:100]}… is longer than a site URL may be"
    if _private(source) and urlparse(source).hostname != urlparse(store.domain).hostname:
        return f"{source[:100]} is not a public address (only the store's own host may be private)"
    credentials = vault.open(store.credentials) if store.credentials else {}
    try:
        if not woo_client.site_answers_as(source, credentials, CONFIRM_TIMEOUT_S):
            return f"the site at {source[:100]} does not answer with this store's keys as that site"
        if known is not None and not woo_client.site_holds(source, credentials, *known, CONFIRM_TIMEOUT_S):
            return f"the site at {source[:100]} does not hold this store's orders"
    except ConnectorError as exc:  # unreachable, or answering errors: the move is not confirmed
        return f"the site at {source[:100]} could not be asked ({exc.reason})"
    return None


def _private(url: str) -> bool:
    """Whether the URL's host is (or resolves to) a loopback, private, link-local or reserved
    address: a forged source must not make the connector call inside its own network."""
    host = urlparse(url).hostname or ""
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (OSError, UnicodeError):
        return False  # it will not be reachable either
    for address in found:
        ip = ipaddress.ip_address(str(address).split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            return True
    return False
