"""Verifying a WooCommerce delivery: its body fits its topic, deletions are confirmed with
the site, and a site that says it moved must prove it is the store.

WooCommerce signs with a secret per site, so its bodies cannot cross stores; but the
X-WC-Webhook-Source header is the sender's word, so a new site URL is believed only once
the site there answers with the store's keys as that URL and holds one of its orders.
"""

from __future__ import annotations

from typing import Any

from connector.config import Settings
from platforms.bodies import deletion_refusal, record_refusal
from platforms.protocol import Credentials, Headers, Question
from platforms.woocommerce import client as woo_client


def refusal(topic: str, payload: Any, domain: str) -> str | None:
    """Why this body cannot be what its topic says, or None when it fits."""
    if not isinstance(payload, dict):
        return f"a {topic} body is a JSON object"
    if topic.endswith(".deleted"):
        return deletion_refusal(topic, payload, {"id"})
    return record_refusal(topic, payload)


def needs_confirmation(topic: str) -> bool:
    return topic.endswith(".deleted")


def confirmation(
    settings: Settings,
    credentials: Credentials,
    domain: str,
    topic: str,
    payload: dict[str, Any],
    timeout: float,
) -> Question | None:
    """A deletion is confirmed once the site no longer has the record live."""
    client = woo_client.client_for(domain, credentials, concurrency=1)
    resource = f"{topic.split('.')[0]}s"
    return Question(lambda: woo_client.record_gone(client, resource, payload["id"]), "still has this record")


def claimed_source(headers: Headers) -> str | None:
    """The site URL a delivery says it came from (None when it says nothing)."""
    return (headers.get("X-WC-Webhook-Source") or "").strip().rstrip("/") or None


def site_refusal(
    source: str, credentials: Credentials, known: tuple[int, str] | None, timeout: float
) -> str | None:
    """None when the site at `source` answers with the store's keys as that URL and, given
    `known` (an order id and its order_key), holds that order; else why not. Raises a
    ConnectorError when the site cannot be asked."""
    if not woo_client.site_answers_as(source, credentials, timeout):
        return f"the site at {source[:100]} does not answer with this store's keys as that site"
    if known is not None and not woo_client.site_holds(source, credentials, *known, timeout):
        return f"the site at {source[:100]} does not hold this store's orders"
    return None
