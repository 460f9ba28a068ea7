"""What a poll of a bulk operation sees (`node(id:)`, `currentBulkOperation`): an export still
CREATED is RUNNING from the first poll on, and a poll of a running one lets it be revealed
finished (sandbox/shopify/bulk_ops.py). Apart so the GraphQL resolvers need not import it."""

from __future__ import annotations

from typing import Any

from sandbox.world import Shop


def observed(shop: Shop, op: dict[str, Any] | None) -> dict[str, Any] | None:
    """What a poll (`node(id:)`, `currentBulkOperation`) sees: a CREATED export is RUNNING now,
    and, once a poll has seen it run, the next may see it finished (a copy: this poll's view)."""
    if op is None:
        return None
    with shop.store.lock:
        if op["status"] == "CREATED":
            op["status"] = "RUNNING"
        if op["status"] in ("RUNNING", "CANCELING"):
            op["_shown"].set()
        return dict(op)
