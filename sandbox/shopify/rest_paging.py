"""REST Admin list requests: the documented filters, `order`, and cursor paging by `page_info`.

A first request names its filters; every later page is asked for with only `page_info`
(and `limit`, `fields`), the opaque token carrying the filters, the order and the last key
seen, as Shopify's does, so a deleted or changed record never shifts a page.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sandbox.shopify.shapes import SHOP_TZ
from sandbox.state import Record
from sandbox.world import Shop

DEFAULT_LIMIT, MAX_LIMIT = 50, 250
PAGING_ONLY = {"page_info", "limit", "fields"}
TIME_FILTERS = ("created_at_min", "created_at_max", "updated_at_min", "updated_at_max")
FILTERS = {
    "customers": {"ids", "since_id", *TIME_FILTERS, "order"},
    "orders": {
        "ids",
        "since_id",
        *TIME_FILTERS,
        "processed_at_min",
        "processed_at_max",
        "status",
        "financial_status",
        "fulfillment_status",
        "order",
        "attribution_app_id",
        "name",
    },
    "products": {"ids", "since_id", *TIME_FILTERS, "status", "published_status", "order", "handle", "vendor"},
}
SORTS = {"id": "id", "updated_at": "updated", "created_at": "created", "processed_at": "created"}


class BadRequest(Exception):
    """A parameter Shopify would refuse (400); the message is the body's `errors`."""

    def __init__(self, errors: Any) -> None:
        super().__init__(str(errors))
        self.errors = errors


@dataclass
class Page:
    records: list[Record]
    next_token: str | None
    previous_token: str | None
    limit: int
    fields: list[str] | None = field(default=None)


def parse_time(name: str, raw: str) -> datetime:
    """ISO 8601 with or without a zone (then the shop's), or a bare date (midnight, shop's zone)."""
    text = raw.strip().replace(" ", "+", 1) if raw.count(" ") == 1 and "T" in raw else raw.strip()
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest({name: [f"is not a valid date: {raw}"]}) from None
    if len(text) == 10:
        at = datetime.combine(at.date(), time(), SHOP_TZ)
    return at if at.tzinfo else at.replace(tzinfo=SHOP_TZ)


def limit_of(args: dict[str, str]) -> int:
    raw = args.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest({"limit": [f"must be between 1 and {MAX_LIMIT}"]})
    return int(raw)


def fields_of(args: dict[str, str]) -> list[str] | None:
    raw = args.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def query_of(entity: str, args: dict[str, str]) -> dict[str, Any]:
    """The request's filters and order; from its `page_info` when it carries one."""
    if "page_info" in args:
        extra = sorted(set(args) - PAGING_ONLY)
        if extra:
            raise BadRequest(f"{extra[0]} cannot be passed when page_info is present")
        return _decode(args["page_info"])
    allowed = FILTERS[entity] | {"limit", "fields"}
    unknown = sorted(set(args) - allowed)
    if unknown:  # Shopify ignores parameters it does not know; so does the sandbox
        args = {k: v for k, v in args.items() if k not in unknown}
    filters = {k: v for k, v in args.items() if k in FILTERS[entity] and k != "order"}
    for name in (*TIME_FILTERS, "processed_at_min", "processed_at_max"):
        if name in filters:
            parse_time(name, filters[name])
    if "since_id" in filters and not filters["since_id"].isdigit():
        raise BadRequest({"since_id": ["is not a number"]})
    order = args.get("order") or ("id asc")
    column, _, direction = order.strip().partition(" ")
    if column not in SORTS or direction.lower() not in ("", "asc", "desc"):
        raise BadRequest({"order": [f"is not a valid order: {order}"]})
    return {"f": filters, "o": [column, (direction or "asc").lower()], "k": None, "d": "next"}


def _encode(query: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(query, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    try:
        query: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        assert isinstance(query, dict) and {"f", "o", "k", "d"} <= set(query)
    except (ValueError, AssertionError, TypeError):
        raise BadRequest({"page_info": ["Invalid value."]}) from None
    return query


def page(
    shop: Shop,
    entity: str,
    query: dict[str, Any],
    limit: int,
    keep: Callable[[Record], bool],
    created_floor: datetime | None,
) -> Page:
    """Up to `limit` records after (or before) the token's key, in the query's order."""
    column, direction = query["o"]
    sort = SORTS[column]
    filters = query["f"]
    bounds = {name: parse_time(name, filters[name]) for name in TIME_FILTERS if name in filters}
    floor = bounds.get("created_at_min")
    if created_floor is not None:
        floor = max(floor, created_floor) if floor else created_floor
    tick = timedelta(microseconds=1)  # the view's bounds are exclusive, the filters' inclusive
    since = bounds.get("updated_at_min")
    view = shop.store.view(
        entity,
        sort,
        updated_after=since - tick if since else None,
        created_after=floor - tick if floor else None,
    )
    descending = (direction == "desc") != (query["d"] == "prev")
    key = _key(query["k"], sort)
    found: list[tuple[Any, Record]] = []
    more = False
    for k, record in _walk(shop, entity, view, key, descending):
        if not _passes(record, filters, bounds, floor) or not keep(record):
            continue
        if len(found) == limit:
            more = True
            break
        found.append((k, record))
    if query["d"] == "prev":
        found.reverse()
    first, last = (found[0][0], found[-1][0]) if found else (None, None)
    has_next = more if query["d"] == "next" else query["k"] is not None
    has_previous = query["k"] is not None if query["d"] == "next" else more
    return Page(
        [r for _k, r in found],
        _encode({**query, "k": _raw(last), "d": "next"}) if has_next and found else None,
        _encode({**query, "k": _raw(first), "d": "prev"}) if has_previous and found else None,
        limit,
    )


def _walk(shop: Shop, entity: str, view: Any, key: Any, descending: bool) -> Iterator[tuple[Any, Record]]:
    n = len(view)
    if descending:
        stop = view.rank((key[0], key[1] - 1)) if key is not None else n
        position = stop
        while position > 0:
            start = max(0, position - 250)
            keys = list(view.keys(start, position))[::-1]
            position = start
            yield from zip(keys, shop.store.records(entity, iter(keys)), strict=True)
        return
    position = view.rank(key) if key is not None else 0
    while position < n:
        keys = list(view.keys(position, min(position + 250, n)))
        position += len(keys)
        yield from zip(keys, shop.store.records(entity, iter(keys)), strict=True)


def _raw(key: Any) -> Any:
    if key is None:
        return None
    value = key[0].isoformat() if isinstance(key[0], datetime) else key[0]
    return [value, key[1]]


def _key(raw: Any, sort: str) -> Any:
    if raw is None:
        return None
    value = datetime.fromisoformat(raw[0]) if sort != "id" else int(raw[0])
    return (value, int(raw[1]))


def _passes(
    record: Record, filters: dict[str, str], bounds: dict[str, datetime], floor: datetime | None
) -> bool:
    if "ids" in filters and str(record.id) not in {i.strip() for i in filters["ids"].split(",")}:
        return False
    if "since_id" in filters and record.id <= int(filters["since_id"]):
        return False
    if floor is not None and record.created_at < floor:
        return False
    if "created_at_max" in bounds and record.created_at > bounds["created_at_max"]:
        return False
    if "updated_at_min" in bounds and record.updated_at < bounds["updated_at_min"]:
        return False
    return not ("updated_at_max" in bounds and record.updated_at > bounds["updated_at_max"])


def count(
    shop: Shop,
    entity: str,
    filters: dict[str, str],
    keep: Callable[[Record], bool],
    created_floor: datetime | None,
) -> int:
    query = {"f": filters, "o": ["id", "asc"], "k": None, "d": "next"}
    return len(page(shop, entity, query, 10**9, keep, created_floor).records)
