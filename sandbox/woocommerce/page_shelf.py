"""A WooCommerce page of orders from the render cache: each base order nothing has touched is
copied from its shelf (rendered and shelved the first time it is asked for); an order the
overlay changed, trashed or created is rendered live. An order's JSON reads only its own
record and the base catalogue, so nothing else can make a shelved one stale.
"""

from __future__ import annotations

from typing import Any

import orjson

from sandbox.render_cache import RenderCache, store_key
from sandbox.woocommerce import shapes
from sandbox.world import WooSite

SHELVED = ("orders",)


def page(cache: RenderCache | None, site: WooSite, resource: str, keys: list[Any], base: str) -> bytes | None:
    """The page's JSON array (the bytes `as_json` would give), or None if it is not shelved."""
    if cache is None or resource not in SHELVED or not all(isinstance(k, tuple) for k in keys):
        return None
    store = site.store
    key = store_key(store) | {"render": "woocommerce-rest", "entity": resource, "base": base}
    with store.lock:
        ov = store.overlays[resource]
        shelf = cache.shelf(key, ov.base_n)
        touched = set(ov.revisions) | ov.trashed | set(ov.deleted)
    if shelf is None:
        return None
    parts: list[bytes] = []
    for _value, rec_id in keys:
        index = store.index_of(resource, rec_id)
        assert index is not None
        fresh = index < ov.base_n and index not in touched
        hit = shelf.get(index) if fresh else None
        if hit is not None:
            parts.append(hit)
            continue
        body = orjson.dumps(
            shapes.order_json(store, store.get(resource, index), base),
            option=orjson.OPT_NON_STR_KEYS,
            default=str,
        )
        if fresh:
            shelf.put(index, (body, b"", b""), 0)
        parts.append(body)
    return b"[" + b",".join(parts) + b"]"
