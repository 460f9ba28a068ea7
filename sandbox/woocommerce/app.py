"""The WooCommerce side of the sandbox: sites at /woo/<name>, REST API v3, app-key
approval and webhooks, behaving as the real plugin does where a connector can tell.

Lists page with `page`/`per_page` (max 100) and answer X-WP-Total, X-WP-TotalPages and a
Link header with only prev/next. Customers have no `modified_after` (the parameter is
ignored, as WordPress ignores unknown parameters). Orders and products go to the trash
first; a customer is deleted at once.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlparse

import requests
from flask import Blueprint, Response, redirect, request

from sandbox.deliveries import Delivery
from sandbox.http import as_json
from sandbox.state import Record
from sandbox.woocommerce import listing, page_shelf
from sandbox.woocommerce import shapes as shapes
from sandbox.woocommerce.common import (
    authed,
    base_of,
    collection_headers,
    error,
    find,
    invalid,
    no_route,
    render,
    site_of,
    world,
)
from sandbox.woocommerce.params import InvalidParam, Params
from sandbox.world import WooSite, WooWebhook, World

bp = Blueprint("sandbox_woo", __name__, url_prefix="/woo/<site_name>")
RESOURCES = {"customers": "customer", "orders": "order", "products": "product"}
INVALID_ID = {
    "orders": "woocommerce_rest_shop_order_invalid_id",
    "products": "woocommerce_rest_product_invalid_id",
    "customers": "woocommerce_rest_invalid_id",
}
TOPIC_EVENTS = ("created", "updated", "deleted", "restored")
WC_VERSION, WP_VERSION = "9.4.2", "6.7.1"


# --- app-key approval -----------------------------------------------------------------------


@bp.get("/wc-auth/v1/authorize")
def wc_authorize(site_name: str) -> Any:
    site = site_of(site_name)
    args = request.args
    missing = [p for p in ("app_name", "scope", "user_id", "return_url", "callback_url") if not args.get(p)]
    if missing:
        return error("woocommerce_rest_missing_params", f"Missing parameter {missing[0]}", 400)
    if args["scope"] not in ("read", "write", "read_write"):
        return error("woocommerce_rest_invalid_scope", "Invalid scope", 400)
    callback = _with_scheme(args["callback_url"])
    if urlparse(callback).scheme != "https" and not world().insecure_loopback_callbacks_allow(callback):
        return error("woocommerce_rest_callback_url", "The callback_url needs to be over SSL", 400)
    key = site.issue_key(args["scope"], args["user_id"])
    body = {
        "key_id": key.key_id,
        "user_id": args["user_id"],
        "consumer_key": key.consumer_key,
        "consumer_secret": key.consumer_secret,
        "key_permissions": key.permissions,
    }
    try:
        answer = requests.post(
            callback,
            data=json.dumps(body),
            timeout=60,
            headers={"Content-Type": "application/json;charset=UTF-8"},
        )
        accepted = answer.status_code == 200
    except requests.RequestException:
        accepted = False
    if not accepted:
        del site.keys[key.consumer_key]
        return error(
            "woocommerce_rest_error",
            "An error occurred in the request and at the time were unable to send the consumer data",
            401,
        )
    return redirect(
        f"{_with_scheme(args['return_url'])}?{urlencode({'success': 1, 'user_id': args['user_id']})}"
    )


def _with_scheme(url: str) -> str:
    return url if urlparse(url).scheme else "https://" + url


# --- records ----------------------------------------------------------------------------------


@bp.get("/wp-json/wc/v3/<resource>")
def list_records(site_name: str, resource: str) -> Response:
    site = site_of(site_name)
    if resource not in RESOURCES:
        return no_route()
    if (denied := authed(site)) is not None:
        return denied
    try:
        query = listing.parse(resource, Params(request.args))
    except InvalidParam as exc:
        return invalid(exc)
    total, found = listing.select(site.store, query)
    pages = math.ceil(total / query.per_page) if total else 0
    if resource != "customers" and total and query.page > pages and query.offset is None:
        return error(
            "woocommerce_rest_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
            400,
        )
    headers = _page_headers(site_name, resource, query.page, pages, total)
    if request.args.get("_fields") == "id":  # WordPress's field filter; ids alone need no rendering
        return as_json([{"id": _id_of(item)} for item in found], headers=headers)
    base = base_of(site_name)
    if not request.args.get("_fields"):
        shelved = page_shelf.page(world().render_cache, site, resource, found, base)
        if shelved is not None:
            return Response(shelved, headers=headers, mimetype="application/json")
    records = [r for r in found if isinstance(r, Record)]
    if len(records) != len(found):  # view keys from the plain path
        records = site.store.records(resource, iter(k for k in found if not isinstance(k, Record)))
    return as_json([_fields(render(site_name, resource, r, base)) for r in records], headers=headers)


def _id_of(item: Record | tuple[Any, int]) -> int:
    return item.id if isinstance(item, Record) else item[1]


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    wanted = request.args.get("_fields")
    if not wanted:
        return body
    names = {name.strip() for name in wanted.split(",")}
    return {k: v for k, v in body.items() if k in names}


def _authed_record(site_name: str, resource: str, record_id: int) -> tuple[WooSite, Record] | Response:
    """The site and the live record, or the error answer (auth first, then "Invalid ID.")."""
    site = site_of(site_name)
    if (denied := authed(site)) is not None:
        return denied
    record = find(site, resource, record_id)
    if record is None:
        return error(INVALID_ID.get(resource, "rest_no_route"), "Invalid ID.", 404)
    return site, record


@bp.get("/wp-json/wc/v3/<resource>/<int:record_id>")
def get_record(site_name: str, resource: str, record_id: int) -> Response:
    if resource not in RESOURCES:
        return no_route()
    found = _authed_record(site_name, resource, record_id)
    if isinstance(found, Response):
        return found
    return as_json(render(site_name, resource, found[1]))


@bp.get("/wp-json/wc/v3/products/<int:product_id>/variations")
def list_variations(site_name: str, product_id: int) -> Response:
    found = _authed_record(site_name, "products", product_id)
    if isinstance(found, Response):
        return found
    site, record = found
    try:
        args = Params(request.args)
        per_page, page, offset = (
            args.per_page(),
            args.integer("page", 1, minimum=1),
            args.integer("offset", minimum=0),
        )
    except InvalidParam as exc:
        return invalid(exc)
    variants = record.data["variants"] if len(record.data["variants"]) > 1 else []
    start = offset if offset is not None else ((page or 1) - 1) * per_page
    chosen = variants[start : start + per_page]
    body = [shapes.variation_json(site.store, record, v, base_of(site_name)) for v in chosen]
    return as_json(body, headers=collection_headers(len(variants), per_page))


@bp.delete("/wp-json/wc/v3/<resource>/<int:record_id>")
def delete_record(site_name: str, resource: str, record_id: int) -> Response:
    if resource not in RESOURCES:
        return no_route()
    found = _authed_record(site_name, resource, record_id)
    if isinstance(found, Response):
        return found
    site, record = found
    force = request.args.get("force") in ("true", "1")
    if resource == "customers" and not force:
        return error("woocommerce_rest_trash_not_supported", "Customers do not support trashing.", 501)
    body = render(site_name, resource, record)
    delete(site, resource, record.index, trash=not force)
    return as_json(body)


def _page_headers(site_name: str, resource: str, page: int, pages: int, total: int) -> dict[str, str]:
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    url = f"{base_of(site_name)}/wp-json/wc/v3/{resource}"
    args = {
        k: v
        for k, v in request.args.items()
        if not k.startswith("oauth_") and k not in ("consumer_key", "consumer_secret")
    }
    links = []
    if page > 1:
        links.append(f'<{url}?{urlencode({**args, "page": min(page - 1, max(pages, 1))})}>; rel="prev"')
    if page < pages:
        links.append(f'<{url}?{urlencode({**args, "page": page + 1})}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers


# --- webhooks resource ------------------------------------------------------------------------


def webhook_json(site_name: str, hook: WooWebhook) -> dict[str, Any]:
    resource, event = hook.topic.split(".", 1)
    return {
        "id": hook.id,
        "name": hook.name,
        "status": hook.status,
        "topic": hook.topic,
        "resource": resource,
        "event": event,
        "hooks": [f"woocommerce_{event}_{resource}"],
        "delivery_url": hook.delivery_url,
        **shapes.dates("date_created", hook.created_at),
        **shapes.dates("date_modified", hook.updated_at),
        "_links": shapes.links(base_of(site_name), f"webhooks/{hook.id}", "webhooks"),
    }


@bp.post("/wp-json/wc/v3/webhooks")
def create_webhook(site_name: str) -> Response:
    site = site_of(site_name)
    if (denied := authed(site)) is not None:
        return denied
    body = request.get_json(silent=True) or request.form.to_dict()
    topic, url = body.get("topic", ""), body.get("delivery_url", "")
    resource, _, event = topic.partition(".")
    if resource not in RESOURCES.values() or event not in TOPIC_EVENTS:
        return error("rest_invalid_param", "Invalid parameter(s): topic", 400)
    if urlparse(url).scheme not in ("http", "https"):
        return error("rest_invalid_param", "Invalid parameter(s): delivery_url", 400)
    now = datetime.now(UTC)
    hook = WooWebhook(
        site.next_webhook_id,
        body.get("name") or f"Webhook created on {now:%b %d, %Y}",
        topic,
        url,
        body.get("secret") or secrets.token_urlsafe(38)[:50],
        body.get("status", "active"),
        now,
        now,
        source=f"{base_of(site_name)}/",
    )
    site.next_webhook_id += 1
    site.webhooks[hook.id] = hook
    if hook.status == "active":
        _ping(hook)
    location = f"{base_of(site_name)}/wp-json/wc/v3/webhooks/{hook.id}"
    return as_json(webhook_json(site_name, hook), 201, {"Location": location})


@bp.get("/wp-json/wc/v3/webhooks")
def list_webhooks(site_name: str) -> Response:
    site = site_of(site_name)
    if (denied := authed(site)) is not None:
        return denied
    hooks = [webhook_json(site_name, h) for h in sorted(site.webhooks.values(), key=lambda h: h.id)]
    return as_json(hooks, headers={"X-WP-Total": str(len(hooks)), "X-WP-TotalPages": "1"})


@bp.route("/wp-json/wc/v3/webhooks/<int:hook_id>", methods=["GET", "PUT", "DELETE"])
def one_webhook(site_name: str, hook_id: int) -> Response:
    site = site_of(site_name)
    if (denied := authed(site)) is not None:
        return denied
    hook = site.webhooks.get(hook_id)
    if hook is None:
        return error("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404)
    if request.method == "DELETE":
        if request.args.get("force") not in ("true", "1"):
            return error("woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501)
        del site.webhooks[hook_id]
    elif request.method == "PUT":
        changes = request.get_json(silent=True) or {}
        hook.status = changes.get("status", hook.status)
        hook.delivery_url = changes.get("delivery_url", hook.delivery_url)
        hook.secret = changes.get("secret", hook.secret)
        hook.updated_at = datetime.now(UTC)
    return as_json(webhook_json(site_name, hook))


def _ping(hook: WooWebhook) -> None:
    """The creation ping: a form body, no X-WC headers, no signature."""
    with contextlib.suppress(requests.RequestException):
        requests.post(hook.delivery_url, data={"webhook_id": hook.id}, timeout=60, allow_redirects=False)


# --- changes and the webhooks they fire -------------------------------------------------------


def delete(site: WooSite, resource: str, index: int, *, trash: bool) -> None:
    now = site.store.next_time(resource, index)
    record = site.store.get(resource, index)
    if resource == "customers":
        trash = False
    site.store.delete(resource, index, now, trash=trash)
    if trash or resource == "customers":
        fire(site, resource, "deleted", record.id)
    # A permanent delete that skips the trash fires nothing here: the real hooks behind
    # *.deleted are the trash hooks (UNVERIFIED; the stricter reading).


def fire(site: WooSite, resource: str, event: str, record_id: int) -> None:
    w = world()
    topic = f"{RESOURCES[resource]}.{event}"
    for hook in list(site.webhooks.values()):
        if hook.status != "active" or hook.topic != topic:
            continue
        w.dispatcher.submit(
            Delivery(
                url=hook.delivery_url,
                headers={},
                body=b"",
                on_result=_result_handler(hook),
                collapse_key=("woo", site.store.name, hook.id, record_id),
                refresh=_builder(w, site, resource, event, hook, record_id),
            )
        )


def _result_handler(hook: WooWebhook) -> Callable[[Delivery, int | None], float | None]:
    return lambda _delivery, status: _result(hook, status)


def _builder(
    w: World, site: WooSite, resource: str, event: str, hook: WooWebhook, record_id: int
) -> Callable[[], tuple[dict[str, str], bytes] | None]:
    return lambda: _build(w, site, resource, event, hook, record_id)


def _build(
    w: World, site: WooSite, resource: str, event: str, hook: WooWebhook, record_id: int
) -> tuple[dict[str, str], bytes] | None:
    """Built at delivery time, as WooCommerce does: the record's state then, or {"id"} if deleted."""
    if hook.status != "active":
        return None
    if event == "deleted":
        payload: dict[str, Any] = {"id": record_id}
    else:
        index = site.store.index_of(resource, record_id)
        if index is None or not site.store.exists(resource, index):
            return None
        base = hook.source.rstrip("/") or w.woo_url(site.store.name)  # the origin the webhook was made at
        payload = _render_for(site, resource, site.store.get(resource, index), base)
    body = json.dumps(payload, separators=(",", ":")).replace("/", "\\/").strip().encode()
    signature = base64.b64encode(hmac.new(hook.secret.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})",
        "X-WC-Webhook-Source": hook.source or f"{w.woo_url(site.store.name)}/",
        "X-WC-Webhook-Topic": hook.topic,
        "X-WC-Webhook-Resource": RESOURCES[resource],
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-ID": str(hook.id),
        "X-WC-Webhook-Delivery-ID": secrets.token_hex(16),
    }
    return headers, body


def _render_for(site: WooSite, resource: str, record: Record, base: str) -> dict[str, Any]:
    draw = {"customers": shapes.customer_json, "orders": shapes.order_json, "products": shapes.product_json}
    return draw[resource](site.store, record, base)


def _result(hook: WooWebhook, status: int | None) -> float | None:
    """No retries. 200-302 succeed; the 7th consecutive failure disables the webhook."""
    if status is not None and 200 <= status <= 302:
        hook.failure_count = 0
        return None
    if hook.failure_count > 5:
        hook.status = "disabled"
    hook.failure_count += 1
    return None
