"""The Magento side of the sandbox: stores at /magento/<name>, REST at `/rest/V1/...`,
`/rest/<store_code>/V1/...` and `/rest/all/V1/...`.

Lists take searchCriteria and answer `{"items", "search_criteria", "total_count"}`; a list
without searchCriteria is refused as Magento refuses it. Unknown routes answer 404
`Request does not match any route.`; errors are `{"message", "parameters"}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, Response, abort, request

from sandbox.faults import injected
from sandbox.http import as_json, current_world
from sandbox.magento import hooks, sales, shapes
from sandbox.magento import search_criteria as sc
from sandbox.magento.auth import MagentoAuthError, admin_token, bearer
from sandbox.magento.orders import order_json
from sandbox.magento.values import CODES, STORE_VIEWS
from sandbox.state import Record
from sandbox.world import MagentoStore

bp = Blueprint("sandbox_magento", __name__, url_prefix="/magento/<store_name>/rest")
NO_ROUTE = "Request does not match any route."
NO_PRODUCT = "The product that was requested doesn't exist. Verify the product and try again."
RESOURCES = {
    "customers": "Magento_Customer::customer",
    "orders": "Magento_Sales::actions_view",
    "products": "Magento_Catalog::products",
    "store": "Magento_Backend::store",
    "stock": "Magento_CatalogInventory::cataloginventory",
    "inventory": "Magento_InventoryApi::source_item",
}
ENTITY = {"customers/search": "customers", "orders": "orders", "products": "products"}
RENDER: dict[str, Callable[[Any, Record], dict[str, Any]]] = {
    "customers": shapes.customer_json,
    "orders": order_json,
    "products": shapes.product_json,
}
ID_FIELD = {"customers": "id", "orders": "entity_id", "products": "id"}
ONE = {"customers": "customers", "orders": "orders", "shipment": "shipments", "creditmemo": "creditmemos"}


def error(message: str, status: int, parameters: dict[str, Any] | None = None) -> Response:
    body: dict[str, Any] = {"message": message}
    if parameters:
        body["parameters"] = parameters
    return as_json(body, status)


def store_of(name: str) -> MagentoStore:
    store = current_world().magento.get(name)
    if store is None:
        abort(error(NO_ROUTE, 404))
    return store


@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "DELETE"])
def elsewhere(store_name: str, anything: str) -> Response:
    """Any other path under /rest (another API version, a typo): Magento's JSON 404."""
    store_of(store_name)
    return error(NO_ROUTE, 404)


@bp.route("/V1/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
def default_scope(store_name: str, path: str) -> Response:
    return dispatch(store_of(store_name), path.strip("/"))


@bp.route("/<store_code>/V1/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
def scoped(store_name: str, store_code: str, path: str) -> Response:
    store = store_of(store_name)
    if store_code != "all" and store_code not in CODES:
        return error("The store that was requested wasn't found. Verify the store and try again.", 400)
    return dispatch(store, path.strip("/"))


def dispatch(store: MagentoStore, path: str) -> Response:
    if (fault := injected(current_world())) is not None:
        return _magento_fault(fault)
    if path == "integration/admin/token" and request.method == "POST":
        try:
            return as_json(admin_token(store, request.get_json(silent=True)))
        except MagentoAuthError as exc:
            return error(exc.message, exc.status, exc.parameters)
    if path == "webhooks/subscribe" and request.method == "POST":
        return _subscribe(store)
    if request.method != "GET":
        return error(NO_ROUTE, 404)
    parts = path.split("/")
    try:
        bearer(store, request, _acl(parts[0]))
        return _route(store, parts)
    except MagentoAuthError as exc:
        return error(exc.message, exc.status, exc.parameters)
    except sc.CriteriaError as exc:
        return as_json(exc.body(), 400)


def _subscribe(store: MagentoStore) -> Response:
    try:
        bearer(store, request, "Magento_AdobeCommerceWebhooks::webhooks")
        return as_json(hooks.subscribe(store, request.get_json(silent=True)))
    except MagentoAuthError as exc:
        return error(exc.message, exc.status, exc.parameters)
    except hooks.HookRefused as exc:
        return error(str(exc), 400)


def _acl(head: str) -> str:
    """The ACL resource a route needs (named in the 401), by its first path segment."""
    if head in ("stockItems",):
        return RESOURCES["stock"]
    if head == "configurable-products":
        return RESOURCES["products"]
    return RESOURCES.get(head, RESOURCES["orders"])


def _magento_fault(fault: Response) -> Response:
    message = "Too Many Requests" if fault.status_code == 429 else "Service Temporarily Unavailable"
    headers = {k: v for k, v in fault.headers.items() if k == "Retry-After"}
    return as_json({"message": message}, fault.status_code, headers)


def _route(store: MagentoStore, parts: list[str]) -> Response:
    path = "/".join(parts)
    if path in ENTITY:
        return _search(store, ENTITY[path])
    if path in sales.DOCUMENTS:
        return _documents(store, path)
    if path == "store/storeViews":
        admin = {"id": 0, "code": "admin", "name": "Admin", "website_id": 0, "store_group_id": 0}
        return as_json([admin | {"is_active": 1}] + [_view_json(v) for v in STORE_VIEWS])
    if path == "store/websites":
        return as_json(_websites())
    if path == "store/storeConfigs":
        return as_json([_config_json(store, v) for v in STORE_VIEWS])
    if path == "inventory/source-items":
        return _source_items(store)
    if len(parts) == 2:
        return _one(store, parts[0], parts[1])
    if len(parts) == 3 and parts[0] == "configurable-products" and parts[2] == "children":
        rec = _product_by_sku(store, parts[1])
        if rec is None or not shapes.is_configurable(rec.data):
            return error("The requested product doesn't exist. Verify the product and try again.", 404)
        return as_json([shapes.child_json(rec, v) for v in rec.data["variants"]])
    return error(NO_ROUTE, 404)


def _page(criteria: sc.Criteria, total: int, found: list[dict[str, Any]]) -> Response:
    return as_json({"items": found, "search_criteria": criteria.echo, "total_count": total})


def _search(store: MagentoStore, entity: str) -> Response:
    criteria = sc.parse(request.args, input_limit=store.input_limit, past_end=store.past_end)
    _check_fields(store, entity, criteria)
    if entity == "products":  # every product row, a configurable's simple children too
        total, found = sc.apply(_catalog(store), criteria, "id")
        return _page(criteria, total, found)
    draw = RENDER[entity]
    total, found = sc.select(store.store, entity, criteria, lambda r: draw(store.store, r), ID_FIELD[entity])
    return _page(criteria, total, found)


def _catalog(store: MagentoStore) -> Iterator[dict[str, Any]]:
    """The catalog as `V1/products` lists it: each product, then (for a configurable) its children."""
    s = store.store
    with s.lock:
        live = [i for i in range(s.overlays["products"].size) if s.exists("products", i)]
    for i in live:
        rec = s.get("products", i)
        yield shapes.product_json(s, rec)
        if shapes.has_children(rec.data):
            yield from (shapes.child_json(rec, v) for v in rec.data["variants"])


def _check_fields(store: MagentoStore, entity: str, criteria: sc.Criteria) -> None:
    """A filter or sort on a field the records do not have is refused (UNVERIFIED wording)."""
    s = store.store
    first = next((i for i in range(min(s.overlays[entity].size, 50)) if s.exists(entity, i)), None)
    if first is None:
        return
    known = set(RENDER[entity](s, s.get(entity, first))) | {"entity_id"}
    unknown = sorted(criteria.fields() - known)
    if unknown:
        raise sc.CriteriaError('Invalid attribute name: "%1".', {"1": unknown[0]})


def _documents(store: MagentoStore, kind: str) -> Response:
    criteria = sc.parse(request.args, input_limit=store.input_limit, past_end=store.past_end)
    order_ids = _order_ids(criteria)
    total, found = sc.apply(sales.documents(store.store, kind, order_ids), criteria, "entity_id")
    return _page(criteria, total, found)


def _order_ids(criteria: sc.Criteria) -> set[int] | None:
    """A group holding only `order_id` eq/in filters bounds the orders to look at."""
    for group in criteria.groups:
        if all(f.field == "order_id" and f.condition in ("eq", "in") for f in group):
            ids = {v.strip() for f in group for v in f.value.split(",")}
            return {int(v) for v in ids if v.isdigit()}
    return None


def _one(store: MagentoStore, kind: str, ref: str) -> Response:
    s = store.store
    if kind in ("products", "stockItems"):
        body = _product_body(store, ref)
        if body is None and kind == "products":
            return error(NO_PRODUCT, 404)
        if body is None:
            return error('The Product with the "%1" SKU doesn\'t exist.', 404, {"1": ref})
        return as_json(body if kind == "products" else body["extension_attributes"]["stock_item"])
    entity = ONE.get(kind) or ("invoices" if kind == "invoices" else None)
    if entity is None or not ref.isdigit():
        return error(NO_ROUTE, 404)
    if entity in ("customers", "orders"):
        index = s.index_of(entity, int(ref))
        if index is None or not s.exists(entity, index):
            return error(f"No such entity with {'customerId' if entity == 'customers' else 'orderId'} = %1",
                         404, {"1": ref})  # fmt: skip
        return as_json(RENDER[entity](s, s.get(entity, index)))
    found = [d for d in sales.documents(s, entity, None) if d["entity_id"] == int(ref)]
    if not found:
        return error("The entity that was requested doesn't exist. Verify the entity and try again.", 404)
    return as_json(found[0])


def _product_body(store: MagentoStore, sku: str) -> dict[str, Any] | None:
    """The product a SKU names: a top-level product, or a configurable's simple child."""
    rec = _product_by_sku(store, sku)
    if rec is None:
        return None
    body = shapes.product_json(store.store, rec)
    if body["sku"] == sku:
        return body
    return next(shapes.child_json(rec, v) for v in rec.data["variants"] if v["sku"] == sku)


def _product_by_sku(store: MagentoStore, sku: str) -> Record | None:
    """The record behind a parent's `SKU-<n>` or a simple's `SKU-<n>-<v>` (the generator's own)."""
    s = store.store
    head, _, rest = sku.partition("-")
    number, _, _variant = rest.partition("-")
    if head != "SKU" or not number.isdigit():
        return None
    index = int(number) - 1
    if not s.exists("products", index):
        return None
    rec = s.get("products", index)
    skus = {shapes.product_json(s, rec)["sku"]} | {v["sku"] for v in rec.data["variants"]}
    return rec if sku in skus else None


def _view_json(v: Any) -> dict[str, Any]:
    return {"id": v.id, "code": v.code, "name": v.name, "website_id": v.website_id,
            "store_group_id": v.website_id, "is_active": 1}  # fmt: skip


def _config_json(store: MagentoStore, v: Any) -> dict[str, Any]:
    """A store view's configuration; its timezone is for display only: the API answers UTC."""
    base = f"{current_world().magento_url(store.store.name)}/"
    return {
        "id": v.id, "code": v.code, "website_id": v.website_id, "locale": "en_US",
        "base_currency_code": "USD", "default_display_currency_code": "USD",
        "timezone": "America/Chicago" if v.website_id == 1 else "Europe/Berlin", "weight_unit": "lbs",
        "base_url": base, "base_link_url": base, "secure_base_url": base, "secure_base_link_url": base,
    }  # fmt: skip


def _websites() -> list[dict[str, Any]]:
    admin = {"id": 0, "code": "admin", "name": "Admin", "default_group_id": 0}
    seen = {v.website_id: v for v in STORE_VIEWS}
    return [admin] + [
        {"id": w, "code": v.website_code, "name": v.website_name, "default_group_id": w}
        for w, v in sorted(seen.items())
    ]


def _source_items(store: MagentoStore) -> Response:
    criteria = sc.parse(request.args, input_limit=store.input_limit, past_end=store.past_end)
    s = store.store
    with s.lock:
        live = [i for i in range(s.overlays["products"].size) if s.exists("products", i)]
    rows = (row for i in live for row in shapes.source_items(s.get("products", i)))
    numbered = ({**row, "_n": n} for n, row in enumerate(rows))
    total, found = sc.apply(numbered, criteria, "_n")
    return _page(criteria, total, [{k: v for k, v in row.items() if k != "_n"} for row in found])
