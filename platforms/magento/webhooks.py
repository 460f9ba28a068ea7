"""Magento webhook deliveries: none are taken yet. Magento Open Source sends no outbound
webhooks at all; Adobe Commerce's webhooks module signs its requests, but taking them is
for a later round, so every Magento store is kept current by the scheduled re-sync alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from connector.errors import BadInput
from platforms.protocol import Headers, Mapper, WebhookFacts

MAPPERS: dict[str, Mapper] = {}
TOPICS: tuple[str, ...] = ()
NOT_TAKEN = "Magento webhook deliveries are not taken: the scheduled re-sync keeps Magento stores current"


def signature_valid(body: bytes, signature: str | None, secrets: Sequence[str]) -> bool:
    """Nothing verifies: no Magento delivery is taken."""
    return False


def delivery_of(headers: Headers, body: bytes) -> WebhookFacts:
    raise BadInput(NOT_TAKEN)
