"""What the `query:` of customers, orders and products searches over: each entity's search
fields (as listed in the Admin API reference for its connection), read from a sandbox record,
and a store's view narrowed by a query's time terms so a page reads only what can match.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox import generator
from sandbox.shopify import search
from sandbox.shopify import shapes as s
from sandbox.shopify.stats import customer_stats
from sandbox.state import Record
from sandbox.view import View
from sandbox.world import Shop

Field = Callable[[Shop, Record], Any]
_FF = {"fulfilled": ["fulfilled", "shipped"], "partial": ["partial"], None: ["unfulfilled", "unshipped"]}


def _stats(shop: Shop, rec: Record) -> tuple[int, Decimal]:
    return customer_stats(shop).get(rec.index, (0, Decimal("0.00")))


def _tags(rec: Record) -> list[str]:
    return [t for t in rec.data["tags"].split(",") if t]


COMMON: dict[str, Field] = {
    "id": lambda _s, r: r.id,
    "created_at": lambda _s, r: r.created_at,
    "updated_at": lambda _s, r: r.updated_at,
}
CUSTOMER: dict[str, Field] = {
    **COMMON,
    "customer_date": lambda _s, r: r.created_at,
    "email": lambda _s, r: r.data["email"],
    "first_name": lambda _s, r: r.data["first_name"],
    "last_name": lambda _s, r: r.data["last_name"],
    "phone": lambda _s, r: r.data["phone"],
    "state": lambda _s, r: r.data["state"],
    "tag": lambda _s, r: _tags(r),
    "country": lambda _s, r: [r.data["country"], s.COUNTRY_NAMES[r.data["country"]]],
    "accepts_marketing": lambda _s, r: r.data["email_consent"] == "subscribed",
    "orders_count": lambda sh, r: _stats(sh, r)[0],
    "total_spent": lambda sh, r: _stats(sh, r)[1],
}
ORDER: dict[str, Field] = {
    **COMMON,
    "processed_at": lambda _s, r: r.created_at,
    "name": lambda _s, r: [f"#{r.data['number']}", str(r.data["number"])],
    "email": lambda sh, r: generator.buyer(sh.store.dataset, r.data)["email"],
    "customer_id": lambda sh, r: (
        None if r.data["customer"] is None else sh.store.id_of("customers", r.data["customer"])
    ),
    "financial_status": lambda _s, r: s.financial_status(r.data),
    "fulfillment_status": lambda _s, r: _FF[s.fulfillment_status(r.data)],
    "status": lambda _s, r: ["any", "cancelled" if r.data["cancelled"] else "open"],
    "source_name": lambda _s, r: r.data["channel"][0],
    "test": lambda _s, _r: False,
    "tag": lambda _s, _r: [],
    "sku": lambda sh, r: [
        sh.store.dataset.product(ln["product"])["variants"][ln["variant"]]["sku"] for ln in r.data["lines"]
    ],
}
PRODUCT: dict[str, Field] = {
    **COMMON,
    "title": lambda _s, r: r.data["title"],
    "handle": lambda _s, r: r.data["handle"],
    "vendor": lambda _s, r: r.data["vendor"],
    "product_type": lambda _s, r: r.data["product_type"],
    "status": lambda _s, r: r.data["status"],
    "tag": lambda _s, r: _tags(r),
    "sku": lambda _s, r: [v["sku"] for v in r.data["variants"]],
    "published_status": lambda _s, r: ["any", "published" if r.data["published"] else "unpublished"],
    "published_at": lambda _s, r: r.created_at if r.data["published"] else None,
    "inventory_total": lambda _s, r: sum(sum(v["inventory"]) for v in r.data["variants"]),
    "gift_card": lambda _s, _r: False,
}
FIELDS = {"customers": CUSTOMER, "orders": ORDER, "products": PRODUCT}
CHECKOUT = frozenset({"id", "created_at", "updated_at", "status"})
FREE_TEXT = {  # what a term without a field searches
    "customers": ("first_name", "last_name", "email", "phone", "tag"),
    "orders": ("name", "email", "sku"),
    "products": ("title", "vendor", "product_type", "tag", "sku"),
}


def parse(entity: str, query: str | None) -> search.Search:
    return search.parse(query, frozenset(FIELDS[entity]))


def getter(shop: Shop, entity: str, rec: Record) -> search.Getter:
    fields = FIELDS[entity]

    def get(name: str) -> Any:
        if name:
            return fields[name](shop, rec)
        words: list[str] = []
        for f in FREE_TEXT[entity]:
            value = fields[f](shop, rec)
            for v in value if isinstance(value, list) else [value]:
                words += [v, *str(v or "").split()]
        return [w for w in words if w]

    return get


def free_text(term: search.Term) -> search.Term:
    """Free text matches a word of the default fields by its beginning, as a prefix search does."""
    return term if term.value.endswith("*") else search.Term(None, ":", term.value + "*", term.quoted)


def matcher(shop: Shop, entity: str, found: search.Search) -> Callable[[Record], bool] | None:
    """A record test for the query, or None when the query matches everything."""
    if found.root is None:
        return None
    root = _prefix_free_text(found.root)
    return lambda rec: search.evaluate(root, getter(shop, entity, rec))


def _prefix_free_text(node: search.Node) -> search.Node:
    if isinstance(node, search.Term):
        return free_text(node) if node.field is None else node
    if isinstance(node, search.Not):
        return search.Not(_prefix_free_text(node.part))
    return type(node)(tuple(_prefix_free_text(p) for p in node.parts))


def narrowed(shop: Shop, entity: str, sort: str, found: search.Search, floor: datetime | None) -> View:
    """The store's view in `sort` order, cut to the query's top-level updated_at / created_at
    bounds (every record outside them fails the query; those inside are still tested)."""
    upd_after, upd_before = search.time_bounds(found, "updated_at")
    created_after, _ = search.time_bounds(found, "created_at")
    if floor is not None:
        created_after = max(created_after, floor) if created_after else floor
    return shop.store.view(
        entity, sort, updated_after=upd_after, created_after=created_after, updated_before=upd_before
    )


def matching(
    shop: Shop, entity: str, keys: Iterator[tuple[Any, int]], test: Callable[[Record], bool] | None
) -> Iterator[tuple[Any, int]]:
    """Those of `keys` (in their order) whose records pass `test`."""
    for key in keys:
        if test is None or test(shop.store.records(entity, iter([key]))[0]):
            yield key


def parse_checkouts(query: str | None) -> search.Search:
    return search.parse(query, CHECKOUT)


def checkout_getter(shop: Shop, c: dict[str, Any]) -> search.Getter:
    """An abandoned checkout's search fields (free text: none the sandbox models)."""
    values = {
        "id": s.child_id(shop.store, "checkout", c["index"], per=1),
        "created_at": c["created_at"],
        "updated_at": c["updated_at"],
        "status": "closed" if c["completed_at"] else "open",
        "": [],
    }
    return values.__getitem__
