"""WooCommerce webhook deliveries: the creation ping, the signature, and what each topic maps to.

The signature is base64 HMAC-SHA256 of the body as sent, with the webhook's own secret.
X-WC-Webhook-Delivery-ID changes on every attempt, so the dedup key is the topic plus a
digest of the body: the same state delivered twice is one delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from platforms.base import Batch, MapContext
from platforms.woocommerce import mapper

Mapper = Callable[[dict[str, Any], MapContext], Batch]
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


def signature_valid(body: bytes, signature: str | None, secret: str) -> bool:
    if not signature or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


def dedup_key(topic: str, body: bytes) -> str:
    return f"{topic}:{hashlib.sha256(body).hexdigest()[:48]}"
