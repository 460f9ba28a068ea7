"""Verifying a Magento delivery before it acts: the signed body must name the topic it is
stored under and carry that topic's record (`data.<entity>` with its id). Deletions are
not taken (the re-sync's id-set diff reconciles them), so nothing needs confirming; sites
that move and the rest are the plain answers of `platforms.plain`.
"""

from __future__ import annotations

from typing import Any

from platforms.magento.webhooks import ENTITY_KEYS, entity_of

ID_FIELD = {
    "observer.customer_save_after_data_object": "id",
    "observer.sales_order_save_after": "entity_id",
    "observer.catalog_product_save_after": "id",
}


def refusal(topic: str, payload: Any, domain: str) -> str | None:
    """Why this body cannot be a `topic` delivery, or None when it fits."""
    if topic not in ENTITY_KEYS:
        return f"{topic[:100]} is not an event taken from Magento"
    if not isinstance(payload, dict) or payload.get("eventName") != topic:
        return f"the body's eventName is not {topic}"
    entity = entity_of(topic, payload)
    if entity is None:
        return f"the body carries no {' or '.join(ENTITY_KEYS[topic])} under data"
    if entity.get(ID_FIELD[topic]) in (None, "", 0):
        return f"the body's record has no {ID_FIELD[topic]}"
    return None
