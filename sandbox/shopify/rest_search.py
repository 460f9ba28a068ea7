"""REST `customers/search.json`: the customers matching a `query` in the search syntax the
GraphQL `customers(query:)` reads (field terms, comparisons, AND/OR/NOT, free text by prefix),
in `order` (default `last_order_date DESC`, customers without orders last), paged by
`page_info` tokens that carry the query, the order and the last key seen.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from graphql import GraphQLError

from sandbox.shopify import rest_paging as paging
from sandbox.shopify import rest_shapes as shapes
from sandbox.shopify import searchable
from sandbox.state import Record
from sandbox.world import Shop

ORDERS = ("last_order_date", "updated_at", "created_at", "id")
DEFAULT_ORDER = "last_order_date DESC"
NEVER = datetime.min.isoformat()  # the sort value of a customer without orders
Key = tuple[str, int]  # (the sort value as text, the id)


def request_of(args: dict[str, str]) -> dict[str, Any]:
    """The search's query and order, from its `page_info` token when it carries one."""
    if "page_info" in args:
        extra = sorted(set(args) - paging.PAGING_ONLY)
        if extra:
            raise paging.BadRequest(f"{extra[0]} cannot be passed when page_info is present")
        return _decode(args["page_info"])
    text = args.get("query", "")
    try:
        searchable.parse("customers", text)
    except GraphQLError as exc:
        raise paging.BadRequest({"query": [exc.message]}) from None
    column, _, direction = (args.get("order") or DEFAULT_ORDER).strip().partition(" ")
    if column not in ORDERS or direction.lower() not in ("", "asc", "desc"):
        raise paging.BadRequest({"order": [f"is not a valid order: {args.get('order')}"]})
    return {"q": text, "o": [column, (direction or "asc").lower()], "k": None, "d": "next"}


def page(shop: Shop, wanted: dict[str, Any], limit: int) -> paging.Page:
    """Up to `limit` matching customers after (or before) the token's key, in its order."""
    column, direction = wanted["o"]
    ranked = _ranked(shop, wanted["q"], column, descending=direction == "desc")
    if wanted["d"] == "prev":
        ranked.reverse()
    key = tuple(wanted["k"]) if wanted["k"] is not None else None
    start = 0 if key is None else next((i + 1 for i, (k, _r) in enumerate(ranked) if k == key), len(ranked))
    chosen = ranked[start : start + limit]
    more = start + limit < len(ranked)
    if wanted["d"] == "prev":
        chosen.reverse()
    has_next = more if wanted["d"] == "next" else key is not None
    has_previous = key is not None if wanted["d"] == "next" else more
    first, last = (chosen[0][0], chosen[-1][0]) if chosen else (None, None)
    return paging.Page(
        [r for _k, r in chosen],
        _encode({**wanted, "k": last, "d": "next"}) if has_next and chosen else None,
        _encode({**wanted, "k": first, "d": "prev"}) if has_previous and chosen else None,
        limit,
    )


def _ranked(shop: Shop, text: str, column: str, descending: bool) -> list[tuple[Key, Record]]:
    """Every customer the query matches, with its key, in the order asked (ties by id)."""
    store = shop.store
    test = searchable.matcher(shop, "customers", searchable.parse("customers", text))
    view = store.view("customers", "id")
    records = store.records("customers", view.keys(0, len(view)))
    last = shapes.last_orders(shop)
    found = [(_sort_value(shop, r, column, last), r.id, r) for r in records if test is None or test(r)]
    found.sort(key=lambda row: (row[0], row[1]), reverse=descending)
    return [((value, rid), r) for value, rid, r in found]


def _sort_value(shop: Shop, rec: Record, column: str, last: dict[int, int]) -> str:
    if column == "id":
        return f"{rec.id:020d}"
    if column == "last_order_date":
        index = last.get(rec.index)
        return NEVER if index is None else shop.store.get("orders", index).created_at.isoformat()
    at = rec.updated_at if column == "updated_at" else rec.created_at
    return at.isoformat()


def _encode(wanted: dict[str, Any]) -> str:
    text = json.dumps(wanted, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    try:
        wanted: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        assert isinstance(wanted, dict) and {"q", "o", "k", "d"} <= set(wanted)
        assert isinstance(wanted["q"], str) and wanted["o"][0] in ORDERS and wanted["d"] in ("next", "prev")
        assert wanted["o"][1] in ("asc", "desc")
        key = wanted["k"]
        assert key is None or (isinstance(key[0], str) and isinstance(key[1], int) and len(key) == 2)
        searchable.parse("customers", wanted["q"])
    except (ValueError, AssertionError, TypeError, IndexError, KeyError, GraphQLError):
        raise paging.BadRequest({"page_info": ["Invalid value."]}) from None
    return wanted
