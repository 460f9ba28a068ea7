"""WooCommerce webhook deliveries: the creation ping, the signature, and what each topic maps to.

The signature is base64 HMAC-SHA256 of the body as sent, with the webhook's own secret.
X-WC-Webhook-Delivery-ID changes on every attempt, so the dedup key is the topic plus a
digest of the body: the same state delivered twice is one delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence

from connector.errors import BadInput
from platforms.protocol import Headers, Mapper, WebhookFacts
from platforms.woocommerce import mapper

MAPPERS: dict[str, Mapper] = {
    **dict.fromkeys(("customer.created", "customer.updated", "customer.restored"), mapper.customer_rows),
    "customer.deleted": mapper.deletion("customers"),
    **dict.fromkeys(("order.created", "order.updated", "order.restored"), mapper.order_rows),
    "order.deleted": mapper.deletion("orders"),
    **dict.fromkeys(
        ("product.created", "product.updated", "product.restored", "product.published"), mapper.product_rows
    ),
    "product.deleted": mapper.deletion("products"),
}
TOPICS = tuple(MAPPERS)


def signature_valid(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    """`secrets` is the store's one webhook secret (none: nothing verifies)."""
    if not signature:
        return False
    for secret in (s for s in secrets if s):
        expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        if hmac.compare_digest(expected, signature):
            return True
    return False


def is_ping(headers: Headers, mimetype: str, form: Callable[[], Mapping[str, str]]) -> bool:
    """The creation ping: unsigned, form-encoded, with no topic, before anything else."""
    return (
        headers.get("X-WC-Webhook-Topic") is None
        and mimetype == "application/x-www-form-urlencoded"
        and bool(form().get("webhook_id"))
    )


def delivery_of(headers: Headers, body: bytes) -> WebhookFacts:
    """The topic from its header; the site is known by its URL key, so no domain is named.
    The dedup key is the topic plus a digest of the body (the delivery id changes on every
    attempt): the same state delivered twice is one delivery."""
    topic = headers.get("X-WC-Webhook-Topic")
    if not topic:
        raise BadInput("missing header X-WC-Webhook-Topic")
    return WebhookFacts(topic, "", f"{topic}:{hashlib.sha256(body).hexdigest()[:48]}", None)
