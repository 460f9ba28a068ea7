"""Which records of a bulk export may come from the render cache, and the shelf they are on.

Base orders and customers that nothing since the world was built has touched, directly or
through a customer: an order shows its customer, and a customer shows its orders' count,
spend and latest order, so a changed, created or deleted order makes its customer (and every
order showing that customer) render live. Products are always rendered live.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from graphql import FragmentDefinitionNode, GraphQLError, SelectionSetNode, print_ast

from sandbox.render_cache import RenderCache, Shelf, store_key
from sandbox.shopify import search
from sandbox.world import Shop

SHELVED = ("orders", "customers")
TIME_FIELDS = frozenset({"updated_at", "created_at"})
NO_CUSTOMER = -1  # an order's tag when it has no customer


@dataclass
class Shelved:
    shelf: Shelf
    entity: str
    base_n: int
    touched: set[int]  # indices of the entity the overlay changed, trashed or deleted
    touched_customers: set[int]  # customers changed, or whose orders changed

    def may_hold(self, index: int) -> bool:
        """Whether the record's base render is still its render (before its tag is known)."""
        if index >= self.base_n or index in self.touched:
            return False
        return self.entity != "customers" or index not in self.touched_customers

    def still_fresh(self, tag: int) -> bool:
        """Whether the customer an order shows (its tag) is unchanged."""
        return self.entity != "orders" or tag == NO_CUSTOMER or tag not in self.touched_customers


def shelved(
    cache: RenderCache | None,
    shop: Shop,
    entity: str,
    selection: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    group: bool,
) -> Shelved | None:
    if cache is None or entity not in SHELVED:
        return None
    shape = print_ast(selection) + "".join(print_ast(f) for f in fragments.values())
    key = store_key(shop.store) | {"render": "shopify-bulk", "entity": entity, "shape": shape, "group": group}
    if "lifetimeDuration" in shape:  # reads today's date
        key["day"] = datetime.now(UTC).date().isoformat()
    store = shop.store
    with store.lock:
        base_n = store.overlays[entity].base_n
        shelf = cache.shelf(key, base_n)
        if shelf is None:
            return None
        ov = store.overlays[entity]
        touched = set(ov.revisions) | ov.trashed | set(ov.deleted)
        return Shelved(shelf, entity, base_n, touched, _touched_customers(shop))


def _touched_customers(shop: Shop) -> set[int]:
    store = shop.store
    customers, orders = store.overlays["customers"], store.overlays["orders"]
    out = set(customers.revisions) | customers.trashed | set(customers.deleted)
    for index in set(orders.revisions) | set(orders.created) | set(orders.deleted) | orders.trashed:
        rev = orders.revisions.get(index, (0, None))[0]
        owners = {store.dataset.order(index)["customer"], store.dataset.order(index, rev)["customer"]}
        out |= {owner for owner in owners if owner is not None}
    return out


def time_test(found: search.Search) -> Callable[[int, int], bool] | None:
    """The search as a test of a record's (created, updated) times in epoch seconds, as
    search.evaluate reads them; None if it reads anything else."""
    if found.root is None:
        return lambda _created, _updated: True
    try:
        return _compiled(found.root)
    except _ReadsMore:
        return None


class _ReadsMore(Exception):
    pass


def _compiled(node: search.Node) -> Callable[[int, int], bool]:
    if isinstance(node, search.Term):
        return _term(node)
    if isinstance(node, search.Not):
        part = _compiled(node.part)
        return lambda c, u: not part(c, u)
    parts = [_compiled(p) for p in node.parts]
    if isinstance(node, search.All):
        return lambda c, u: all(p(c, u) for p in parts)
    return lambda c, u: any(p(c, u) for p in parts)


def _term(term: search.Term) -> Callable[[int, int], bool]:
    if term.field not in TIME_FIELDS or term.op not in (":", ":<", ":<=", ":>", ":>="):
        raise _ReadsMore
    pick: Callable[[int, int], int] = (lambda c, _u: c) if term.field == "created_at" else (lambda _c, u: u)
    if term.value == "*" and term.op == ":":  # a time is always there
        return lambda _c, _u: True
    try:
        at_time, whole_day = search.to_time(term.value)
    except GraphQLError:  # refused where the search reads it, as ever
        raise _ReadsMore from None
    at = at_time.timestamp()
    if whole_day:  # a date alone stands for its whole day (search._compare_time)
        end = at + 86_400
        day: dict[str, Callable[[float], bool]] = {
            ":": lambda v: at <= v < end,
            ":<": lambda v: v < at,
            ":<=": lambda v: v < end,
            ":>": lambda v: v >= end,
            ":>=": lambda v: v >= at,
        }
        test = day[term.op]
    else:
        test = {
            ":": lambda v: v == at,
            ":<": lambda v: v < at,
            ":<=": lambda v: v <= at,
            ":>": lambda v: v > at,
            ":>=": lambda v: v >= at,
        }[term.op]
    return lambda c, u: test(pick(c, u))
