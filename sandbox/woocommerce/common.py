"""What every WooCommerce endpoint of the sandbox shares: the site a request is for, its
authentication, WordPress's JSON error bodies and the base URL built from the request's origin."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, request

from sandbox.addressing import woo_base
from sandbox.faults import injected
from sandbox.http import as_json, current_world
from sandbox.state import Record
from sandbox.woocommerce import shapes
from sandbox.woocommerce.auth import AuthError, authenticate, authorize
from sandbox.woocommerce.params import InvalidParam
from sandbox.world import WooSite

world = current_world
NO_ROUTE = "No route was found matching the URL and request method."


def site_of(name: str) -> WooSite:
    site = world().woo.get(name)
    if site is None:
        abort(404)
    return site


def error(code: str, message: str, status: int) -> Response:
    return as_json({"code": code, "message": message, "data": {"status": status}}, status)


def no_route() -> Response:
    return error("rest_no_route", NO_ROUTE, 404)


def invalid(exc: InvalidParam) -> Response:
    return as_json(exc.body(), 400)


def base_of(name: str) -> str:
    """The site's base URL as this request addressed it (its own host, or /woo/<name>)."""
    return woo_base(name, world().woo_url(name))


def authed(site: WooSite) -> Response | None:
    if (fault := injected(world())) is not None:
        return fault
    try:
        authorize(authenticate(site, request), request.method)
    except AuthError as exc:
        return error("woocommerce_rest_authentication_error", exc.message, exc.status)
    return None


def render(site_name: str, resource: str, record: Record, base: str | None = None) -> dict[str, Any]:
    draw = {"customers": shapes.customer_json, "orders": shapes.order_json, "products": shapes.product_json}
    return draw[resource](site_of(site_name).store, record, base or base_of(site_name))


def find(site: WooSite, resource: str, record_id: int) -> Record | None:
    if resource not in ("customers", "orders", "products"):
        return None
    index = site.store.index_of(resource, record_id)
    if index is None or not site.store.exists(resource, index):
        return None
    return site.store.get(resource, index)


def collection_headers(total: int, per_page: int) -> dict[str, str]:
    pages = -(-total // per_page) if total else 0
    return {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
