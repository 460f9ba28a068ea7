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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connector.errors import BadInput
from platforms.base import Batch, MapContext, parse_time
from platforms.shopify import mapper

Mapper = Callable[[dict[str, Any], MapContext], Batch]
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
    "customers/data_request": "privacy",
    "customers/redact": "privacy",
    "shop/redact": "privacy",
    "bulk_operations/finish": "sync",
    "orders/edited": "hint",
}
COMPLIANCE = ("customers/data_request", "customers/redact", "shop/redact")
DELETIONS = ("customers/delete", "orders/delete", "products/delete", "checkouts/delete")
TOPICS = tuple(MAPPERS) + tuple(ACTIONS)
REQUIRED = ("X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id", "X-Shopify-API-Version")


@dataclass(frozen=True)
class Delivery:
    topic: str
    shop_domain: str
    dedup_key: str
    triggered_at: datetime | None


def signature_valid(body: bytes, signature: str | None, secrets: list[str]) -> bool:
    if not signature:
        return False
    for secret in secrets:
        expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        if hmac.compare_digest(expected, signature):
            return True
    return False


def dedup_key(delivery: Delivery, body: bytes) -> str:
    """The inbox key: X-Shopify-Webhook-Id; for a deletion, the topic plus a digest of the
    body, so one signed deletion replayed under fresh (unsigned) webhook ids is stored, and
    confirmed with the shop, once (a deletion's body is only the record's id)."""
    if delivery.topic in DELETIONS:
        return f"{delivery.topic}:{hashlib.sha256(body).hexdigest()[:48]}"
    return delivery.dedup_key


def delivery_of(headers: Any) -> Delivery:
    missing = [h for h in REQUIRED if not headers.get(h)]
    if missing:
        raise BadInput(f"missing header {missing[0]}")
    try:
        triggered = parse_time(headers.get("X-Shopify-Triggered-At"))
    except ValueError:
        triggered = None
    if triggered is not None:  # unsigned, and used as a version: never later than now
        triggered = min(triggered, datetime.now(UTC))
    return Delivery(
        headers["X-Shopify-Topic"],
        headers["X-Shopify-Shop-Domain"].lower(),
        headers["X-Shopify-Webhook-Id"][:200],
        triggered,
    )
