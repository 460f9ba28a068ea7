"""REST `events.json`: what happened to a shop's customers, orders and products since it was
generated (records created, updated and deleted through the control API), newest ids
last, with the documented filters (`filter`, `verb`, `created_at_min/max`, `since_id`)
and the same `page_info` paging as the other lists.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, request

from sandbox.shopify import rest_paging as paging
from sandbox.shopify.shapes import gid, rest_time
from sandbox.world import Shop

EVENT_BASE = 164_000_000_000_000_000
SUBJECTS = {"customers": "Customer", "orders": "Order", "products": "Product"}
FILTERS = {"filter", "verb", "created_at_min", "created_at_max", "since_id"}
WORDS = {"create": "created", "update": "updated", "destroy": "deleted"}


def events(shop: Shop) -> list[dict[str, Any]]:
    """Every event of the shop, by id (ids rise with time: second, then order within it)."""
    store = shop.store
    found: list[tuple[datetime, str, int, str, str]] = []
    with store.lock:
        for entity, subject in SUBJECTS.items():
            ov = store.overlays[entity]
            happened = [(at, "create", i) for i, at in ov.created.items()]
            happened += [(at, "update", i) for i, (_rev, at) in ov.revisions.items()]
            happened += [(at, "destroy", i) for i, at in ov.deleted.items()]
            for at, verb, index in happened:
                found.append((at.replace(microsecond=0), subject, store.id_of(entity, index), verb, entity))
    found.sort()
    out, second, seq = [], None, 0
    for at, subject, subject_id, verb, entity in found:
        seq = seq + 1 if at == second else 0
        second = at
        event_id = EVENT_BASE + store.number * 10**15 + int(at.timestamp()) * 1000 + seq
        out.append(_event(shop, event_id, at, subject, subject_id, verb, entity))
    return out


def _event(
    shop: Shop, event_id: int, at: datetime, subject: str, subject_id: int, verb: str, entity: str
) -> dict[str, Any]:
    index = shop.store.index_of(entity, subject_id)
    assert index is not None
    data = getattr(shop.store.dataset, entity[:-1])(index, 0)
    title = data.get("title") or (f"#{data['number']}" if "number" in data else None)
    title = title or f"{data.get('first_name', '')} {data.get('last_name', '')}".strip()
    path = f"/admin/{entity}/{subject_id}"
    return {
        "id": event_id,
        "subject_id": subject_id,
        "created_at": rest_time(at),
        "subject_type": subject,
        "verb": verb,
        "arguments": [title],
        "body": None,
        "message": f'{subject} was {WORDS[verb]}: <a href="{path}">{title}</a>.',
        "author": "Shopify",
        "description": f"{subject} was {WORDS[verb]}: {title}.",
        "path": path,
        "admin_graphql_api_id": gid("BasicEvent", event_id),
    }


def _matching(shop: Shop, filters: dict[str, str]) -> list[dict[str, Any]]:
    kinds = {k.strip() for k in filters["filter"].split(",")} if filters.get("filter") else None
    verbs = {v.strip() for v in filters["verb"].split(",")} if filters.get("verb") else None
    low = (
        paging.parse_time("created_at_min", filters["created_at_min"])
        if "created_at_min" in filters
        else None
    )
    high = (
        paging.parse_time("created_at_max", filters["created_at_max"])
        if "created_at_max" in filters
        else None
    )
    since = int(filters.get("since_id") or 0)
    out = []
    for event in events(shop):
        at = datetime.fromisoformat(event["created_at"])
        if (kinds is not None and event["subject_type"] not in kinds) or (
            verbs is not None and event["verb"] not in verbs
        ):
            continue
        if (low is not None and at < low) or (high is not None and at > high) or event["id"] <= since:
            continue
        out.append(event)
    return out


def _query(args: dict[str, str]) -> dict[str, Any]:
    if "page_info" in args:
        extra = sorted(set(args) - paging.PAGING_ONLY)
        if extra:
            raise paging.BadRequest(f"{extra[0]} cannot be passed when page_info is present")
        return paging._decode(args["page_info"])
    filters = {k: v for k, v in args.items() if k in FILTERS}
    if "since_id" in filters and not filters["since_id"].isdigit():
        raise paging.BadRequest({"since_id": ["is not a number"]})
    return {"f": filters, "o": ["id", "asc"], "k": None, "d": "next"}


def listing(
    shop_domain: str, version: str, call: Callable[..., Any], answer: Callable[..., Response], links: Any
) -> Response:
    shop, _scopes = call(shop_domain)
    args = request.args.to_dict()
    limit, fields = paging.limit_of(args), paging.fields_of(args)
    query = _query(args)
    found = _matching(shop, query["f"])
    key = query["k"]
    if query["d"] == "next":
        after = [e for e in found if key is None or e["id"] > key]
        chosen, more_after, more_before = after[:limit], len(after) > limit, key is not None
    else:
        before = [e for e in found if e["id"] < key]
        chosen, more_after, more_before = before[-limit:], True, len(before) > limit
    encode = paging._encode
    nxt = encode({**query, "k": chosen[-1]["id"], "d": "next"}) if more_after and chosen else None
    prev = encode({**query, "k": chosen[0]["id"], "d": "prev"}) if more_before and chosen else None
    body = {"events": [{k: e[k] for k in fields if k in e} if fields else e for e in chosen]}
    return answer(body, headers=links(shop, version, "events", limit, fields, prev, nxt))


def counting(shop_domain: str, call: Callable[..., Any], answer: Callable[..., Response]) -> Response:
    shop, _scopes = call(shop_domain)
    return answer(
        {"count": len(_matching(shop, _query({k: v for k, v in request.args.items() if k in FILTERS})["f"]))}
    )
