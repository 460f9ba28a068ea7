"""The Shopify REST Admin API of the sandbox (legacy, still served and widely used):
shop, access scopes, customers (and their search), orders, products, abandoned checkouts and
events, with counts and single records, cursor paging by `Link` headers, and the call-limit
leaky bucket.

Every request is charged one call from the app's bucket for the shop (40 calls, leaking
at the plan's rate); a full bucket answers 429 with `Retry-After`. Errors have Shopify's
REST shape (`{"errors": …}`); URLs are built from the origin the client used.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, request

from sandbox.faults import injected
from sandbox.http import as_json, current_world
from sandbox.shopify import rest_checkouts as rest_checkouts
from sandbox.shopify import rest_events as rest_events
from sandbox.shopify import rest_paging as paging
from sandbox.shopify import rest_search as rest_search
from sandbox.shopify import rest_shapes as shapes
from sandbox.shopify.shapes import financial_status, fulfillment_status
from sandbox.shopify.urls import shop_base
from sandbox.state import Record
from sandbox.world import Shop

bp = Blueprint("sandbox_shopify_rest", __name__, url_prefix="/shopify/<shop_domain>")
BUCKET = 40
LEAK = {"basic": 2.0, "advanced": 4.0, "plus": 20.0}  # calls per second
SCOPE = {"customers": "read_customers", "orders": "read_orders", "products": "read_products"}
ROOT_KEY = {"customers": "customer", "orders": "order", "products": "product"}
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
ORDERS_WITHOUT_READ_ALL = timedelta(days=60)


class Refusal(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _call(shop_domain: str, entity: str | None = None) -> tuple[Shop, set[str]]:
    """Authenticate and charge one call; raise Refusal with Shopify's answer otherwise."""
    w = current_world()
    shop = w.shops.get(shop_domain)
    if shop is None:
        raise Refusal(as_json({"errors": "Not Found"}, 404))
    if (fault := injected(w)) is not None:
        raise Refusal(fault)
    grant = shop.tokens.get(request.headers.get("X-Shopify-Access-Token", ""))
    if grant is None or not shop.installed or (grant["expires_at"] and grant["expires_at"] < time.time()):
        raise Refusal(as_json({"errors": INVALID_TOKEN}, 401))
    used = _charge(shop, throttle=w.throttle)
    if used is None:
        leak = LEAK.get(shop.plan, 2.0)
        body = {
            "errors": f"Exceeded {leak:g} calls per second for api client. "
            "Reduce request rates to resume uninterrupted service."
        }
        headers = {"Retry-After": f"{math.ceil(1 / leak * 10) / 10:.1f}", **_limit_header(BUCKET)}
        raise Refusal(as_json(body, 429, headers))
    request.environ["sandbox.rest_calls"] = used
    scopes = set(grant["scope"].split(","))
    needed = SCOPE.get(entity or "")
    if needed and needed not in scopes and not (needed == "read_orders" and "read_all_orders" in scopes):
        raise Refusal(
            as_json({"errors": f"[API] This action requires merchant approval for {needed} scope."}, 403)
        )
    return shop, scopes


def _charge(shop: Shop, *, throttle: bool) -> int | None:
    """The bucket's level after this call (rounded up), or None when it is full."""
    with shop.store.lock:
        now = time.monotonic()
        level, at = getattr(shop, "_rest_bucket", (0.0, now))
        level = max(0.0, level - (now - at) * LEAK.get(shop.plan, 2.0))
        if throttle and level + 1 > BUCKET:
            shop._rest_bucket = (level, now)  # type: ignore[attr-defined]
            return None
        level = min(float(BUCKET), level + 1)
        shop._rest_bucket = (level, now)  # type: ignore[attr-defined]
        return math.ceil(level)


def _limit_header(used: int) -> dict[str, str]:
    return {"X-Shopify-Shop-Api-Call-Limit": f"{used}/{BUCKET}"}


def _answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    used = request.environ.get("sandbox.rest_calls", 1)
    version = {"X-Shopify-API-Version": v} if (v := (request.view_args or {}).get("version")) else {}
    return as_json(body, status, {**_limit_header(used), **version, **(headers or {})})


def _handled(view: Any) -> Any:
    def wrapper(**kwargs: Any) -> Response:
        try:
            response: Response = view(**kwargs)
            return response
        except Refusal as refused:
            return refused.response
        except paging.BadRequest as bad:
            return _answer({"errors": bad.errors}, 400)

    wrapper.__name__ = view.__name__
    return wrapper


# --- shop and scopes --------------------------------------------------------------------------


@bp.get("/admin/api/<version>/shop.json")
@_handled
def shop_json(shop_domain: str, version: str) -> Response:
    shop, _scopes = _call(shop_domain)
    return _answer({"shop": _only(shapes.shop_body(shop), paging.fields_of(request.args.to_dict()))})


@bp.get("/admin/oauth/access_scopes.json")
@_handled
def access_scopes(shop_domain: str) -> Response:
    _shop, scopes = _call(shop_domain)
    return _answer({"access_scopes": [{"handle": scope} for scope in sorted(scopes)]})


# --- customers, orders, products --------------------------------------------------------------


def _entity(name: str) -> str:
    if name not in SCOPE:
        raise Refusal(_answer({"errors": "Not Found"}, 404))
    return name


@bp.get("/admin/api/<version>/<name>.json")
@_handled
def listing(shop_domain: str, version: str, name: str) -> Response:
    if name == "events":
        return rest_events.listing(shop_domain, version, _call, _answer, _links)
    if name == "checkouts":  # abandoned checkouts: read_orders
        return rest_checkouts.listing(_call(shop_domain, "orders")[0], version, _answer, _links)
    entity = _entity(name)
    shop, scopes = _call(shop_domain, entity)
    args = request.args.to_dict()
    limit, fields = paging.limit_of(args), paging.fields_of(args)
    query = paging.query_of(entity, args)
    found = paging.page(shop, entity, query, limit, _keep(entity, query["f"]), _floor(entity, scopes))
    body = {entity: [_only(shapes.MAKERS[entity](shop, r), fields) for r in found.records]}
    return _answer(
        body, headers=_links(shop, version, name, limit, fields, found.previous_token, found.next_token)
    )


@bp.get("/admin/api/<version>/<name>/count.json")
@_handled
def counting(shop_domain: str, version: str, name: str) -> Response:
    if name == "events":
        return rest_events.counting(shop_domain, _call, _answer)
    if name == "checkouts":
        return rest_checkouts.counting(_call(shop_domain, "orders")[0], _answer)
    entity = _entity(name)
    shop, scopes = _call(shop_domain, entity)
    args = {k: v for k, v in request.args.to_dict().items() if k in paging.FILTERS[entity]}
    filters = paging.query_of(entity, args)["f"]
    return _answer(
        {"count": paging.count(shop, entity, filters, _keep(entity, filters), _floor(entity, scopes))}
    )


@bp.get("/admin/api/<version>/<name>/<int:record_id>.json")
@_handled
def single(shop_domain: str, version: str, name: str, record_id: int) -> Response:
    entity = _entity(name)
    shop, scopes = _call(shop_domain, entity)
    index = shop.store.index_of(entity, record_id)
    if index is None or not shop.store.exists(entity, index):
        return _answer({"errors": "Not Found"}, 404)
    record = shop.store.get(entity, index)
    floor = _floor(entity, scopes)
    if floor is not None and record.created_at < floor:
        return _answer({"errors": "Not Found"}, 404)
    body = _only(shapes.MAKERS[entity](shop, record), paging.fields_of(request.args.to_dict()))
    return _answer({ROOT_KEY[entity]: body})


@bp.get("/admin/api/<version>/customers/search.json")
@_handled
def customer_search(shop_domain: str, version: str) -> Response:
    """Customers matching `query` (the GraphQL search syntax), in `order`, paged by page_info."""
    shop, _scopes = _call(shop_domain, "customers")
    args = request.args.to_dict()
    limit, fields = paging.limit_of(args), paging.fields_of(args)
    found = rest_search.page(shop, rest_search.request_of(args), limit)
    body = {"customers": [_only(shapes.customer(shop, r), fields) for r in found.records]}
    links = _links(shop, version, "customers/search", limit, fields, found.previous_token, found.next_token)
    return _answer(body, headers=links)


@bp.get("/admin/api/<version>/customers/<int:record_id>/orders.json")
@_handled
def customer_orders(shop_domain: str, version: str, record_id: int) -> Response:
    """A customer's orders (open by default, as every order list), paged like the others."""
    shop, scopes = _call(shop_domain, "orders")
    index = shop.store.index_of("customers", record_id)
    if index is None or not shop.store.exists("customers", index):
        return _answer({"errors": "Not Found"}, 404)
    args = request.args.to_dict()
    limit, fields = paging.limit_of(args), paging.fields_of(args)
    query = paging.query_of("orders", args)
    matches = _keep("orders", query["f"])
    found = paging.page(
        shop,
        "orders",
        query,
        limit,
        lambda r: r.data["customer"] == index and matches(r),
        _floor("orders", scopes),
    )
    body = {"orders": [_only(shapes.order(shop, r), fields) for r in found.records]}
    path = f"customers/{record_id}/orders"
    return _answer(
        body, headers=_links(shop, version, path, limit, fields, found.previous_token, found.next_token)
    )


@bp.route("/admin/api/<version>/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
@_handled
def unknown(shop_domain: str, version: str, rest: str) -> Response:
    """Unknown paths answer JSON; writes to the records need a write scope no token here has."""
    _shop, scopes = _call(shop_domain)
    entity = rest.split("/", 1)[0].removesuffix(".json")
    if request.method != "GET" and entity in SCOPE and f"write_{entity}" not in scopes:
        return _answer(
            {"errors": f"[API] This action requires merchant approval for write_{entity} scope."}, 403
        )
    return _answer({"errors": "Not Found"}, 404)


def _floor(entity: str, scopes: set[str]) -> datetime | None:
    """Without read_all_orders only the last 60 days of orders can be read."""
    if entity == "orders" and "read_all_orders" not in scopes:
        return datetime.now(UTC) - ORDERS_WITHOUT_READ_ALL
    return None


def _keep(entity: str, filters: dict[str, str]) -> Any:
    """The filters that look inside a record (status and the like)."""
    if entity == "orders":
        return lambda r: _order_matches(r, filters)
    if entity == "products":
        return lambda r: _product_matches(r, filters)
    return lambda _r: True


def _order_matches(record: Record, filters: dict[str, str]) -> bool:
    o = record.data
    status = filters.get("status", "open")
    if status not in ("open", "closed", "cancelled", "any"):
        raise paging.BadRequest({"status": [f"is not a valid status: {status}"]})
    if (
        (status == "open" and o["cancelled"])
        or status in ("closed",)
        or (status == "cancelled" and not o["cancelled"])
    ):
        return False
    financial = filters.get("financial_status", "any")
    paid = financial_status(o)
    if financial not in ("any", paid) and not (financial == "unpaid" and paid == "pending"):
        return False
    shipped = fulfillment_status(o)
    wanted = filters.get("fulfillment_status", "any")
    by_name = {
        "shipped": shipped == "fulfilled",
        "partial": shipped == "partial",
        "unshipped": shipped is None,
    }
    if wanted != "any" and not by_name.get(wanted, wanted == "unfulfilled" and shipped != "fulfilled"):
        return False
    return (
        "name" not in filters or f"#{o['number']}" == filters["name"] or str(o["number"]) == filters["name"]
    )


def _product_matches(record: Record, filters: dict[str, str]) -> bool:
    p = record.data
    if "status" in filters and p["status"] not in {x.strip() for x in filters["status"].split(",")}:
        return False
    published = filters.get("published_status", "any")
    if (published == "published" and not p["published"]) or (published == "unpublished" and p["published"]):
        return False
    if "handle" in filters and p["handle"] not in {x.strip() for x in filters["handle"].split(",")}:
        return False
    return "vendor" not in filters or p["vendor"] == filters["vendor"]


def _only(body: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    return body if not fields else {k: body[k] for k in fields if k in body}


def _links(
    shop: Shop,
    version: str,
    name: str,
    limit: int,
    fields: list[str] | None,
    previous: str | None,
    nxt: str | None,
) -> dict[str, str]:
    """`Link: <…page_info=…>; rel="previous", <…>; rel="next"`; no header for a single page."""
    base = f"{shop_base(shop.domain)}/admin/api/{version}/{name}.json"
    parts = []
    for token, rel in ((previous, "previous"), (nxt, "next")):
        if token is not None:
            query = {
                "limit": str(limit),
                **({"fields": ",".join(fields)} if fields else {}),
                "page_info": token,
            }
            parts.append(f'<{base}?{urlencode(query)}>; rel="{rel}"')
    return {"Link": ", ".join(parts)} if parts else {}
