"""Which records a WooCommerce list request answers, in which order: every documented
filter of the customers, orders and products endpoints and their default orders
(customers by name ascending, orders and products by date descending).

Plain requests (no filter but the modified window and the trash, ordered by id or a
date) page a store's sorted view directly, at any size. A request with other filters
or orders walks the store's members (fine at the sizes such requests are made at).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.state import Record, SandboxStore
from sandbox.woocommerce import shapes
from sandbox.woocommerce.params import Params

ORDERBY = {
    "orders": ("date", "id", "include", "title", "slug", "modified"),
    "products": (
        "date",
        "id",
        "include",
        "title",
        "slug",
        "modified",
        "price",
        "popularity",
        "rating",
        "menu_order",
    ),
    "customers": ("id", "include", "name", "registered_date"),
}
DEFAULT_ORDER = {"customers": ("name", "asc"), "orders": ("date", "desc"), "products": ("date", "desc")}
STATUSES = {
    "orders": (
        "any",
        "trash",
        "pending",
        "processing",
        "on-hold",
        "completed",
        "cancelled",
        "refunded",
        "failed",
        "checkout-draft",
    ),
    "products": ("any", "future", "trash", "draft", "pending", "private", "publish"),
}
ROLES = ("all", "administrator", "editor", "author", "contributor", "subscriber", "customer", "shop_manager")
VIEW_SORT = {"id": "id", "date": "created", "modified": "updated", "registered_date": "created"}


@dataclass
class ListQuery:
    resource: str
    page: int
    per_page: int
    offset: int | None
    orderby: str
    descending: bool
    filters: dict[str, Any]  # name → parsed value, only those given
    modified_after: datetime | None
    modified_before: datetime | None
    status: set[str]

    @property
    def plain(self) -> bool:
        """Answerable from the sorted view: no filter beyond the modified window and the trash."""
        return not self.filters and self.orderby in VIEW_SORT and self.status in ({"any"}, {"trash"})

    @property
    def start(self) -> int:
        return self.offset if self.offset is not None else (self.page - 1) * self.per_page


def parse(resource: str, args: Params) -> ListQuery:
    default_by, default_order = DEFAULT_ORDER[resource]
    orderby = args.choice("orderby", ORDERBY[resource], default_by)
    order = args.choice("order", ("asc", "desc"), default_order)
    offset = args.integer("offset", minimum=0)
    if resource == "customers" and not offset:  # the customers controller: `! empty( offset )`
        offset = None
    filters: dict[str, Any] = {}
    for name in ("include", "exclude"):
        if (ids := args.ids(name)) is not None:
            filters[name] = ids
    if (term := args.text("search")) is not None:
        filters["search"] = term
    status = {"any"}
    if resource == "customers":
        role = args.choice("role", ROLES, "customer")
        if role not in ("all", "customer"):
            filters["role"] = role
        if (email := args.email("email")) is not None:
            filters["email"] = email.lower()
    else:
        status = args.choices("status", STATUSES[resource], "any")
        for name in ("after", "before"):
            if (at := args.date(name)) is not None:
                filters[name] = at
        _entity_filters(resource, args, filters)
    page = args.integer("page", 1, minimum=1)
    assert page is not None
    return ListQuery(
        resource,
        page,
        args.per_page(),
        offset,
        orderby,
        order == "desc" and orderby != "include",  # the list's own order, as WP_Query's post__in
        filters,
        None if resource == "customers" else args.date("modified_after"),  # customers: not a parameter
        None if resource == "customers" else args.date("modified_before"),
        status,
    )


def _entity_filters(resource: str, args: Params, filters: dict[str, Any]) -> None:
    if resource == "orders":
        for name in ("customer", "product"):
            if (value := args.integer(name, minimum=0)) is not None:
                filters[name] = value
    else:
        if (sku := args.text("sku")) is not None:
            filters["sku"] = {s.strip() for s in sku.split(",") if s.strip()}
        if (slug := args.text("slug")) is not None:
            filters["slug"] = slug
        if args.has("type"):
            filters["type"] = args.choice("type", ("simple", "grouped", "external", "variable"), "simple")


def select(store: SandboxStore, q: ListQuery) -> tuple[int, list[Record] | list[tuple[Any, int]]]:
    """(total, the page): view keys on the plain path, else records."""
    if q.plain:
        view = store.view(
            q.resource,
            VIEW_SORT[q.orderby],
            updated_after=q.modified_after,
            updated_before=q.modified_before,
            only_trash=q.status == {"trash"},
        )
        return len(view), list(view.keys(q.start, q.start + q.per_page, q.descending))
    members = [r for r in _members(store, q) if _passes(store, q, r)]
    members.sort(key=_sort_key(store, q), reverse=q.descending)
    return len(members), members[q.start : q.start + q.per_page]


def _members(store: SandboxStore, q: ListQuery) -> list[Record]:
    trash = "trash" in q.status
    view = store.view(
        q.resource,
        "id",
        updated_after=q.modified_after,
        updated_before=q.modified_before,
        include_trash=trash,
    )
    return store.records(q.resource, view.keys(0, len(view)))


def status_of(store: SandboxStore, record: Record) -> str:
    if record.entity == "orders":
        return shapes.order_status(record.data, record.trashed)
    if record.entity == "products":
        return "trash" if record.trashed else shapes.PRODUCT_STATUS[record.data["status"]]
    return "customer"


def _passes(store: SandboxStore, q: ListQuery, r: Record) -> bool:
    if "any" in q.status:
        if r.trashed and "trash" not in q.status:
            return False
    elif status_of(store, r) not in q.status:
        return False
    f = q.filters
    if ("include" in f and r.id not in f["include"]) or ("exclude" in f and r.id in f["exclude"]):
        return False
    if ("after" in f and not r.created_at > f["after"]) or ("before" in f and not r.created_at < f["before"]):
        return False
    checks: dict[str, Callable[[Any], bool]] = {
        "search": lambda term: _matches(store, r, term.lower()),
        "role": lambda _role: False,  # every sandbox customer has the role customer
        "email": lambda email: r.data["email"].lower() == email,
        "customer": lambda cid: _customer_id(store, r) == cid,
        "product": lambda pid: any(store.id_of("products", ln["product"]) == pid for ln in r.data["lines"]),
        "sku": lambda skus: _product_sku(r) in skus,
        "slug": lambda slug: r.data["handle"] == slug,
        "type": lambda kind: ("variable" if len(r.data["variants"]) > 1 else "simple") == kind,
    }
    return all(check(f[name]) for name, check in checks.items() if name in f)


def _customer_id(store: SandboxStore, r: Record) -> int:
    c = r.data["customer"]
    return 0 if c is None else store.id_of("customers", c)


def _product_sku(r: Record) -> str:
    variants = r.data["variants"]
    return "" if len(variants) > 1 else variants[0]["sku"]


def display_name(c: dict[str, Any]) -> str:
    return f"{c['first_name']} {c['last_name']}"


def _matches(store: SandboxStore, r: Record, term: str) -> bool:
    """WordPress's searches: users by login, email, nicename and display name (`*term*`; with
    an @ the email alone); products by title and content; orders by id, address and items."""
    d = r.data
    if r.entity == "customers":
        login = d["email"].split("@")[0]
        fields = [d["email"]] if "@" in term else [login, d["email"], display_name(d)]
        return term == str(r.id) or any(term in f.lower() for f in fields)
    if r.entity == "products":
        return term in d["title"].lower() or term in f"{d['title']} by {d['vendor']}.".lower()
    if term == str(r.id):
        return True
    from sandbox import generator

    buyer = generator.buyer(store.dataset, d)
    fields = [buyer["first_name"], buyer["last_name"], buyer["email"], buyer["address1"], buyer["city"]]
    fields += [store.dataset.product(ln["product"])["title"] for ln in d["lines"]]
    return any(term in str(f).lower() for f in fields)


def _sort_key(store: SandboxStore, q: ListQuery) -> Callable[[Record], tuple[Any, int]]:
    include = {rid: n for n, rid in enumerate(q.filters.get("include", []))}
    by: dict[str, Callable[[Record], Any]] = {
        "id": lambda r: 0,
        "include": lambda r: include.get(r.id, len(include)),
        "date": lambda r: r.created_at,
        "registered_date": lambda r: r.created_at,
        "modified": lambda r: r.updated_at,
        "name": lambda r: display_name(r.data).lower(),
        "title": lambda r: r.data["title"].lower() if r.entity == "products" else r.created_at,
        "slug": lambda r: r.data["handle"] if r.entity == "products" else r.created_at,
        "price": lambda r: min(v["price"] for v in r.data["variants"]),
        "popularity": lambda r: 0,  # total_sales is 0 on every sandbox product
        "rating": lambda r: 0,
        "menu_order": lambda r: 0,
    }
    primary = by[q.orderby]
    return lambda r: (primary(r), r.id)
