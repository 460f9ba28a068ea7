"""Shopify bulk-operation output → whole nodes, streamed.

Bulk JSONL puts every node of a nested connection on a line of its own with `__parentId`,
after its parent. `assemble` re-nests them (under the connection they came from, named
by the child's type) and yields one complete root node at a time, so a file of any size
is mapped in bounded memory by the same mappers as paged GraphQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

CONNECTIONS = {
    "LineItem": "lineItems",
    "ProductVariant": "variants",
    "Collection": "collections",
    "InventoryLevel": "inventoryLevels",
    "MailingAddress": "addresses",
}


def _kind(gid: str) -> str:
    return gid.split("/")[3] if gid.startswith("gid://shopify/") else ""


def assemble(lines: Iterable[str | bytes]) -> Iterator[dict[str, Any]]:
    root: dict[str, Any] | None = None
    by_id: dict[str, dict[str, Any]] = {}
    for line in lines:
        if not line.strip():
            continue
        node: dict[str, Any] = orjson.loads(line)
        parent_id = node.pop("__parentId", None)
        if parent_id is None:
            if root is not None:
                yield root
            root, by_id = node, {}
        else:
            parent = by_id.get(parent_id) or (root if root and root.get("id") == parent_id else None)
            if parent is None:
                raise ValueError(f"bulk line for {node.get('id')} names an unknown parent {parent_id}")
            field = CONNECTIONS.get(_kind(str(node.get("id", ""))), "children")
            parent.setdefault(field, {"nodes": []})["nodes"].append(node)
        if node.get("id"):
            by_id[str(node["id"])] = node
    if root is not None:
        yield root
