"""The sandbox's WooCommerce endpoints beyond customers, orders and products: coupons,
product categories, tags and reviews, order notes and refunds, `system_status` and
`system_status/tools`, and WordPress's JSON `rest_no_route` for any other /wp-json path.

These collections are small, so each request builds its list, filters, sorts and pages it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from sandbox.http import as_json
from sandbox.woocommerce import catalog
from sandbox.woocommerce.common import (
    authed,
    base_of,
    collection_headers,
    error,
    find,
    invalid,
    no_route,
    site_of,
)
from sandbox.woocommerce.params import InvalidParam, Params

bp = Blueprint("sandbox_woo_extras", __name__, url_prefix="/woo/<site_name>")
WC_VERSION, WP_VERSION = "9.4.2", "6.7.1"
TOOLS = (  # the tools a fresh WooCommerce lists (ids and names as WC_REST_System_Status_Tools_V2_Controller)
    ("clear_transients", "WooCommerce transients", "Clear transients"),
    ("clear_expired_transients", "Expired transients", "Clear transients"),
    ("delete_orphaned_variations", "Orphaned variations", "Delete orphaned variations"),
    ("clear_expired_download_permissions", "Used-up download permissions", "Clean up download permissions"),
    ("regenerate_product_lookup_tables", "Product lookup tables", "Regenerate"),
    ("recount_terms", "Term counts", "Recount terms"),
    ("reset_roles", "Capabilities", "Reset capabilities"),
    ("clear_sessions", "Clear customer sessions", "Clear"),
    ("clear_template_cache", "Clear template cache", "Clear"),
    ("install_pages", "Create default WooCommerce pages", "Create pages"),
    ("delete_taxes", "Delete WooCommerce tax rates", "Delete tax rates"),
    ("regenerate_thumbnails", "Regenerate shop thumbnails", "Regenerate"),
    ("db_update_routine", "Update database", "Update database"),
)


@dataclass
class Collection:
    """How one small collection is listed: its orders (default first) and date filters."""

    orderby: dict[str, Callable[[dict[str, Any]], Any]]
    default: tuple[str, str]
    dates: dict[str, tuple[str, str]] = field(default_factory=dict)  # param → (field, "after"|"before")
    search: tuple[str, ...] = ()
    paged: bool = True


def _by(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda item: item[name]


POSTS = {"date": _by("date_created_gmt"), "id": _by("id"), "modified": _by("date_modified_gmt")}
POST_DATES = {
    "after": ("date_created_gmt", "after"),
    "before": ("date_created_gmt", "before"),
    "modified_after": ("date_modified_gmt", "after"),
    "modified_before": ("date_modified_gmt", "before"),
}
TERMS = Collection(
    {"name": lambda t: t["name"].lower(), "id": _by("id"), "slug": _by("slug"), "count": _by("count")},
    ("name", "asc"),
    search=("name",),
)
COLLECTIONS = {
    "coupons": Collection(
        {**POSTS, "title": _by("code"), "slug": _by("code"), "include": _by("id")},
        ("date", "desc"),
        POST_DATES,
        ("code", "description"),
    ),
    "products/categories": TERMS,
    "products/tags": TERMS,
    "products/reviews": Collection(
        {
            "date_gmt": _by("date_created_gmt"),
            "date": _by("date_created_gmt"),
            "id": _by("id"),
            "product": _by("product_id"),
            "include": _by("id"),
        },
        ("date_gmt", "desc"),
        {"after": ("date_created_gmt", "after"), "before": ("date_created_gmt", "before")},
        ("review", "reviewer", "reviewer_email"),
    ),
    "refunds": Collection(
        {"date": _by("date_created_gmt"), "id": _by("id"), "include": _by("id")},
        ("date", "desc"),
        {"after": ("date_created_gmt", "after"), "before": ("date_created_gmt", "before")},
    ),
}


def listed(site_name: str, path: str, items: list[dict[str, Any]], spec: Collection) -> Response:
    """Filter, order and page `items` as WordPress would for this request's parameters."""
    try:
        args = Params(request.args)
        by = args.choice("orderby", list(spec.orderby), spec.default[0])
        descending = args.choice("order", ("asc", "desc"), spec.default[1]) == "desc" and by != "include"
        per_page, page = args.per_page(), args.integer("page", 1, minimum=1) or 1
        offset = args.integer("offset", minimum=0)
        chosen = _filtered(items, args, spec)
    except InvalidParam as exc:
        return invalid(exc)
    if by == "include":
        order = {i: n for n, i in enumerate(Params(request.args).ids("include") or [])}
        chosen.sort(key=lambda item: order.get(item["id"], len(order)))
    else:
        chosen.sort(key=lambda item: (spec.orderby[by](item), item.get("id", 0)), reverse=descending)
    start = offset if offset is not None else (page - 1) * per_page
    headers = collection_headers(len(chosen), per_page)
    pages = int(headers["X-WP-TotalPages"])
    url = f"{base_of(site_name)}/wp-json/wc/v3/{path}"
    query = {k: v for k, v in request.args.items() if k not in ("consumer_key", "consumer_secret")}
    links = [f'<{url}?{urlencode({**query, "page": page - 1})}>; rel="prev"'] if 1 < page <= pages + 1 else []
    links += [f'<{url}?{urlencode({**query, "page": page + 1})}>; rel="next"'] if page < pages else []
    if links:
        headers["Link"] = ", ".join(links)
    return as_json(chosen[start : start + per_page], headers=headers)


def _filtered(items: list[dict[str, Any]], args: Params, spec: Collection) -> list[dict[str, Any]]:
    include, exclude = args.ids("include"), args.ids("exclude")
    out = [
        i for i in items if (include is None or i["id"] in include) and not (exclude and i["id"] in exclude)
    ]
    for name, (key, side) in spec.dates.items():
        if (at := args.date(name)) is not None:
            stamp = at.strftime("%Y-%m-%dT%H:%M:%S")
            out = [i for i in out if (i[key] > stamp if side == "after" else i[key] < stamp)]
    if (term := args.text("search")) is not None and spec.search:
        out = [i for i in out if any(term.lower() in str(i[f]).lower() for f in spec.search)]
    for name in ("code", "slug", "reviewer_email"):
        if (value := args.text(name)) is not None and items and name in items[0]:
            out = [i for i in out if str(i[name]).lower() == value.lower()]
    if (products := args.ids("product")) is not None and items and "product_id" in items[0]:
        out = [i for i in out if i["product_id"] in products]
    if args.has("status") and items and "rating" in items[0]:  # reviews: approved | all | hold | spam | trash
        status = args.choice("status", ("all", "hold", "approved", "spam", "trash"), "approved")
        out = out if status in ("all", "approved") else []
    if args.boolean("hide_empty") and items and "count" in items[0]:
        out = [i for i in out if i["count"]]
    return out


def _site_or_denied(site_name: str) -> Any:
    site = site_of(site_name)
    return authed(site) or site


@bp.get("/wp-json/wc/v3/coupons")
def list_coupons(site_name: str) -> Response:
    site = _site_or_denied(site_name)
    if isinstance(site, Response):
        return site
    items = catalog.coupons(site.store.dataset, base_of(site_name))
    return listed(site_name, "coupons", items, COLLECTIONS["coupons"])


@bp.get("/wp-json/wc/v3/coupons/<int:coupon_id>")
def get_coupon(site_name: str, coupon_id: int) -> Response:
    site = _site_or_denied(site_name)
    if isinstance(site, Response):
        return site
    found = [c for c in catalog.coupons(site.store.dataset, base_of(site_name)) if c["id"] == coupon_id]
    return (
        as_json(found[0]) if found else error("woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.", 404)
    )


@bp.get("/wp-json/wc/v3/products/<any(categories, tags, reviews):kind>")
def list_terms_or_reviews(site_name: str, kind: str) -> Response:
    site = _site_or_denied(site_name)
    if isinstance(site, Response):
        return site
    base = base_of(site_name)
    build = {"categories": catalog.categories, "tags": catalog.tags, "reviews": catalog.all_reviews}
    return listed(
        site_name, f"products/{kind}", build[kind](site.store, base), COLLECTIONS[f"products/{kind}"]
    )


@bp.get("/wp-json/wc/v3/orders/<int:order_id>/<any(notes, refunds):kind>")
def order_children(site_name: str, order_id: int, kind: str) -> Response:
    site = _site_or_denied(site_name)
    if isinstance(site, Response):
        return site
    order = find(site, "orders", order_id)
    if order is None:
        return error("woocommerce_rest_order_invalid_id", "Invalid order ID.", 404)
    base = base_of(site_name)
    if kind == "refunds":
        return listed(
            site_name, f"orders/{order_id}/refunds", catalog.refunds_of(order, base), COLLECTIONS["refunds"]
        )
    try:
        wanted = Params(request.args).choice("type", ("any", "customer", "internal"), "any")
    except InvalidParam as exc:
        return invalid(exc)
    notes = [
        n
        for n in catalog.notes_of(order, base)
        if wanted == "any" or n["customer_note"] == (wanted == "customer")
    ]
    return as_json(notes)  # not paged: every note, newest first, as wc_get_order_notes answers


@bp.get("/wp-json/wc/v3/system_status")
def system_status(site_name: str) -> Response:
    """Who the site is, for a caller holding its keys: `environment.home_url` and
    `site_url` as WooCommerce reports them (the real report has many more sections)."""
    site = _site_or_denied(site_name)
    if isinstance(site, Response):
        return site
    home = f"{base_of(site_name)}/"
    environment = {"home_url": home, "site_url": home, "version": WC_VERSION, "wp_version": WP_VERSION}
    settings = {"currency": site.store.dataset.currency}  # WooCommerce's general settings section
    return as_json({"environment": environment | {"language": SITE_LOCALE}, "settings": settings})


@bp.get("/wp-json/wc/v3/system_status/tools")
def system_status_tools(site_name: str) -> Response:
    site = _site_or_denied(site_name)
    if isinstance(site, Response):
        return site
    base = base_of(site_name)
    tools = [
        {
            "id": tool_id,
            "name": name,
            "action": action,
            "description": f"{name}.",
            "_links": {
                "item": [{"href": f"{base}/wp-json/wc/v3/system_status/tools/{tool_id}", "embeddable": True}]
            },
        }
        for tool_id, name, action in TOOLS
    ]
    return as_json(tools)  # every tool, not paged, as the real controller answers


@bp.route(
    "/wp-json/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
)
@bp.route("/wp-json/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
def unknown_route(site_name: str, rest: str) -> Response:
    site_of(site_name)
    if rest == "" and request.method == "GET":
        return site_index(site_name)
    return no_route()


SITE_LOCALE, SITE_TIME_ZONE = "en_US", "Europe/Berlin"


def site_index(site_name: str) -> Response:
    """WordPress's REST index (`/wp-json/`, public): the site's name, address and time zone
    (WP_REST_Server::get_index; the real one also lists every route)."""
    home = base_of(site_name)
    return as_json(
        {
            "name": site_name.replace("-", " ").title(),
            "description": "",
            "url": home,
            "home": home,
            "gmt_offset": 1,
            "timezone_string": SITE_TIME_ZONE,
            "namespaces": ["wc/v3", "wp/v2"],
            "authentication": [],
        }
    )
