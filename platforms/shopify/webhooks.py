"""Shopify webhook deliveries: signature, the facts in the headers, and what each topic maps to.

The signature is base64 HMAC-SHA256 of the raw body with the app secret (the previous
secret too, for up to an hour after a rotation). The dedup key is X-Shopify-Webhook-Id,
which stays the same across Shopify's retries of one delivery. The headers are not
signed: a Triggered-At in the future is clamped to now (it is used as a version).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from datetime import UTC, datetime

from connector.errors import BadInput
from platforms.base import parse_time
from platforms.protocol import Headers, Mapper, WebhookFacts
from platforms.shopify import mapper

ORDER_TOPICS = (
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "orders/cancelled",
)
MAPPERS: dict[str, Mapper] = {
    "customers/create": mapper.customer_rows,
    "customers/update": mapper.customer_rows,
    "customers/enable": mapper.customer_rows,
    "customers/disable": mapper.customer_rows,
    "customers/delete": mapper.deletion("customers"),
    "customers_email_marketing_consent/update": mapper.consent_rows,
    **dict.fromkeys(ORDER_TOPICS, mapper.order_rows),
    "orders/delete": mapper.deletion("orders"),
    "fulfillments/create": mapper.fulfillment_rows,
    "fulfillments/update": mapper.fulfillment_rows,
    "refunds/create": mapper.refund_rows,
    "products/create": mapper.product_rows,
    "products/update": mapper.product_rows,
    "products/delete": mapper.deletion("products"),
    "checkouts/create": mapper.checkout_rows,
    "checkouts/update": mapper.checkout_rows,
    "checkouts/delete": mapper.deletion("checkouts"),
}
# topics that are acted on rather than mapped to rows
ACTIONS = {
    "app/uninstalled": "uninstall",
    "customers/data_request": "export_customer",
    "customers/redact": "redact_customer",
    "shop/redact": "redact_shop",
    "bulk_operations/finish": "sync",
    "orders/edited": "hint",
}
COMPLIANCE = ("customers/data_request", "customers/redact", "shop/redact")
DELETIONS = ("customers/delete", "orders/delete", "products/delete", "checkouts/delete")
TOPICS = tuple(MAPPERS) + tuple(ACTIONS)
REQUIRED = ("X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id", "X-Shopify-API-Version")


def signature_valid(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    if not signature:
        return False
    for secret in secrets:
        expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        if hmac.compare_digest(expected, signature):
            return True
    return False


def _dedup_key(topic: str, webhook_id: str, body: bytes) -> str:
    """The inbox key: X-Shopify-Webhook-Id; for a deletion, the topic plus a digest of the
    body, so one signed deletion replayed under fresh (unsigned) webhook ids is stored, and
    confirmed with the shop, once (a deletion's body is only the record's id)."""
    if topic in DELETIONS:
        return f"{topic}:{hashlib.sha256(body).hexdigest()[:48]}"
    return webhook_id


def delivery_of(headers: Headers, body: bytes) -> WebhookFacts:
    missing = [h for h in REQUIRED if not headers.get(h)]
    if missing:
        raise BadInput(f"missing header {missing[0]}")
    try:
        triggered = parse_time(headers.get("X-Shopify-Triggered-At"))
    except ValueError:
        triggered = None
    if triggered is not None:  # unsigned, and used as a version: never later than now
        triggered = min(triggered, datetime.now(UTC))
    topic = headers["X-Shopify-Topic"]
    return WebhookFacts(
        topic,
        headers["X-Shopify-Shop-Domain"].lower(),
        _dedup_key(topic, headers["X-Shopify-Webhook-Id"][:200], body),
        triggered,
    )
