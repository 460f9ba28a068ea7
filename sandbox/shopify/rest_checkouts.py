"""REST `checkouts.json`: a shop's abandoned checkouts (the ones GraphQL's `abandonedCheckouts`
serves: same ids, same values), with `status` (open, the default, or closed: recovered, or
any), the time filters, `since_id`, `order` and the same `page_info` paging as the other lists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, request

from sandbox import generator
from sandbox.shopify import rest_paging as paging
from sandbox.shopify import shapes as s
from sandbox.world import Shop

FILTERS = {"status", "since_id", "order", *paging.TIME_FILTERS}


def checkout_body(shop: Shop, c: dict[str, Any]) -> dict[str, Any]:
    store, cur = shop.store, c["currency"]
    checkout_id = s.child_id(store, "checkout", c["index"], per=1)
    person = store.dataset.customer(c["customer"]) if c["customer"] is not None else None
    lines = [
        {
            "key": f"{checkout_id:x}-{ln['index']}",
            "product_id": store.id_of("products", ln["product"]),
            "variant_id": s.child_id(store, "variant", ln["product"], ln["variant"], 4),
            "title": store.dataset.product(ln["product"])["title"],
            "quantity": ln["quantity"],
            "price": s.money(ln["price"]),
            "line_price": s.money(ln["price"] * ln["quantity"]),
            "requires_shipping": True,
            "taxable": True,
            "fulfillment_service": "manual",
        }
        for ln in c["lines"]
    ]
    customer = None
    if c["customer"] is not None and store.exists("customers", c["customer"]):
        crec = store.get("customers", c["customer"])
        customer = {k: v for k, v in s.customer_rest(store, crec).items() if k != "addresses"}
    return {
        "id": checkout_id,
        "admin_graphql_api_id": s.gid("AbandonedCheckout", checkout_id),
        "token": f"{checkout_id:032x}",
        "cart_token": f"{checkout_id:024x}",
        "name": f"#{checkout_id}",
        "email": person["email"] if person else None,
        "phone": None,
        "gateway": None,
        "buyer_accepts_marketing": False,
        "created_at": s.rest_time(c["created_at"]),
        "updated_at": s.rest_time(c["updated_at"]),
        "completed_at": s.rest_time(c["completed_at"]),
        "closed_at": None,
        "landing_site": "/",
        "referring_site": None,
        "note": "",
        "note_attributes": [],
        "currency": cur,
        "presentment_currency": cur,
        "customer_locale": "en",
        "source_name": "web",
        "abandoned_checkout_url": f"https://{shop.domain}/checkouts/{checkout_id}/recover",
        "discount_codes": [],
        "tax_lines": [],
        "taxes_included": False,
        "shipping_lines": [],
        "line_items": lines,
        "total_discounts": "0.00",
        "total_line_items_price": s.money(c["total"]),
        "subtotal_price": s.money(c["total"]),
        "total_tax": "0.00",
        "total_price": s.money(c["total"]),
        "total_weight": 0,
        "billing_address": s.rest_address(person) if person else None,
        "shipping_address": s.rest_address(person) if person else None,
        "customer": customer,
    }


def _query(args: dict[str, str]) -> dict[str, Any]:
    if "page_info" in args:
        extra = sorted(set(args) - paging.PAGING_ONLY)
        if extra:
            raise paging.BadRequest(f"{extra[0]} cannot be passed when page_info is present")
        return paging._decode(args["page_info"])
    filters = {k: v for k, v in args.items() if k in FILTERS and k != "order"}
    for name in paging.TIME_FILTERS:
        if name in filters:
            paging.parse_time(name, filters[name])
    if "since_id" in filters and not filters["since_id"].isdigit():
        raise paging.BadRequest({"since_id": ["is not a number"]})
    if filters.get("status", "open") not in ("open", "closed", "any"):
        raise paging.BadRequest({"status": [f"is not a valid status: {filters['status']}"]})
    column, _, direction = (args.get("order") or "id asc").strip().partition(" ")
    if column not in ("id", "created_at", "updated_at") or direction.lower() not in ("", "asc", "desc"):
        raise paging.BadRequest({"order": [f"is not a valid order: {args.get('order')}"]})
    return {"f": filters, "o": [column, (direction or "asc").lower()], "k": None, "d": "next"}


def _matching(shop: Shop, query: dict[str, Any]) -> list[tuple[list[Any], dict[str, Any]]]:
    """(sort key, checkout) of those passing the filters, in the query's order."""
    filters, (column, direction) = query["f"], query["o"]
    bounds = {n: paging.parse_time(n, filters[n]) for n in paging.TIME_FILTERS if n in filters}
    status, since = filters.get("status", "open"), int(filters.get("since_id") or 0)
    found = []
    ds = shop.store.dataset
    for i in range(generator.checkout_count(ds)):
        c = generator.checkout(ds, i)
        checkout_id = s.child_id(shop.store, "checkout", i, per=1)
        closed = c["completed_at"] is not None
        if (status == "open" and closed) or (status == "closed" and not closed) or checkout_id <= since:
            continue
        if not _within(c, bounds):
            continue
        value = checkout_id if column == "id" else c[column].isoformat()
        found.append(([value, checkout_id], c))
    found.sort(key=lambda pair: (pair[0][0], pair[0][1]), reverse=direction == "desc")
    return found


def _within(c: dict[str, Any], bounds: dict[str, datetime]) -> bool:
    for name, at in bounds.items():
        value = c["created_at" if name.startswith("created") else "updated_at"]
        if (name.endswith("_min") and value < at) or (name.endswith("_max") and value > at):
            return False
    return True


def listing(shop: Shop, version: str, answer: Callable[..., Response], links: Any) -> Response:
    args = request.args.to_dict()
    limit, fields = paging.limit_of(args), paging.fields_of(args)
    query = _query(args)
    found = _matching(shop, query)
    descending = query["o"][1] == "desc"
    key = query["k"]

    def beyond(k: list[Any]) -> bool:  # after the token's key in the listing's order
        return (tuple(k) < tuple(key)) if descending else (tuple(k) > tuple(key))

    if query["d"] == "next":
        after = [pair for pair in found if key is None or beyond(pair[0])]
        chosen, more_after, more_before = after[:limit], len(after) > limit, key is not None
    else:
        before = [pair for pair in found if not beyond(pair[0]) and pair[0] != key]
        chosen, more_after, more_before = before[-limit:], True, len(before) > limit
    nxt = paging._encode({**query, "k": chosen[-1][0], "d": "next"}) if more_after and chosen else None
    prev = paging._encode({**query, "k": chosen[0][0], "d": "prev"}) if more_before and chosen else None
    bodies = [checkout_body(shop, c) for _k, c in chosen]
    body = {"checkouts": [{k: b[k] for k in fields if k in b} if fields else b for b in bodies]}
    return answer(body, headers=links(shop, version, "checkouts", limit, fields, prev, nxt))


def counting(shop: Shop, answer: Callable[..., Response]) -> Response:
    args = {k: v for k, v in request.args.to_dict().items() if k in FILTERS}
    return answer({"count": len(_matching(shop, _query(args)))})
