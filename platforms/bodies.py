"""What a webhook body must look like to be what its topic says: the checks platforms share.

A signature covers the body only, so a body captured under one topic can be replayed
under another; these pure checks say, in words, why a body does not fit (None: it fits).
"""

from __future__ import annotations

from typing import Any


def positive_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def deletion_refusal(topic: str, payload: dict[str, Any], allowed: set[str]) -> str | None:
    """A deletion's body is the record's id and nothing else (beyond `allowed` keys)."""
    if not positive_id(payload.get("id")):
        return f"a {topic} body carries the record's id"
    extra = sorted(set(payload) - allowed)
    if extra:
        return f"a {topic} body is only the record's id; this one has {', '.join(extra[:5])}"
    return None


def record_refusal(topic: str, payload: dict[str, Any]) -> str | None:
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
