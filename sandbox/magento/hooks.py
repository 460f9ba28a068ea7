"""Adobe Commerce's webhooks in the sandbox: hooks subscribed by `POST V1/webhooks/subscribe`
(Adobe Commerce as a Cloud Service's endpoint; an on-premises store writes webhooks.xml),
and each customer, order or product save calling the hooks on its after-save observer.

The body is `{"eventName", "data": {<event key>: the record}}`, the record in its REST shape;
it is signed as Adobe's samples verify: RSA-SHA256 (PKCS#1 v1.5) over the base64 of the
body, base64 in `x-adobe-commerce-webhook-signature`. A hook is synchronous and called once:
an optional hook's failure is only logged, so nothing is retried.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sandbox.deliveries import Delivery
from sandbox.magento import shapes
from sandbox.magento.orders import order_json
from sandbox.world import MagentoStore, World

SIGNATURE_HEADER = "x-adobe-commerce-webhook-signature"
EVENTS = {  # entity → (webhook_method, the key of its record under data)
    "customers": ("observer.customer_save_after_data_object", "customer_data_object"),
    "orders": ("observer.sales_order_save_after", "order"),
    "products": ("observer.catalog_product_save_after", "product"),
}
RENDER: dict[str, Callable[[Any, Any], dict[str, Any]]] = {
    "customers": shapes.customer_json,
    "orders": order_json,
    "products": shapes.product_json,
}
NAME = re.compile(r"^[A-Za-z0-9_]+$")
METHOD = re.compile(r"^(observer|plugin)\.[a-z0-9_.]+$")


class HookRefused(Exception):
    """A subscription Commerce refuses: the message its webapi answers with (400)."""


def subscribe(store: MagentoStore, body: object) -> dict[str, Any]:
    """Add (or replace, by batch and hook name) a hook; the hook as saved."""
    hook = body.get("webhook") if isinstance(body, dict) else None
    if not isinstance(hook, dict):
        raise HookRefused('"webhook" is required. Enter and try again.')
    for name in ("webhook_method", "webhook_type", "batch_name", "hook_name", "url"):
        if not isinstance(hook.get(name), str) or not hook[name]:
            raise HookRefused(f'"{name}" is required. Enter and try again.')
    if not METHOD.match(hook["webhook_method"]):
        raise HookRefused(f"Webhook method {hook['webhook_method']!r} is not valid.")
    if hook["webhook_type"] not in ("before", "after"):
        raise HookRefused('"webhook_type" must be "before" or "after".')
    if not (NAME.match(hook["batch_name"]) and NAME.match(hook["hook_name"])):
        raise HookRefused("Batch and hook names may contain English letters, digits and underscores only.")
    if not hook["url"].startswith(("http://", "https://")):
        raise HookRefused(f"The webhook URL {hook['url']!r} is not valid.")
    saved = {k: hook[k] for k in ("webhook_method", "webhook_type", "batch_name", "hook_name", "url")}
    with store.store.lock:
        key = (saved["batch_name"], saved["hook_name"])
        store.hooks[:] = [h for h in store.hooks if (h["batch_name"], h["hook_name"]) != key] + [saved]
    return saved


def fire(w: World, store: MagentoStore, entity: str, record_id: int) -> None:
    """A save of `entity` calls each hook on its after-save observer, built when sent; a
    parent product's save saves its child products too (each a product row of its own)."""
    method, _key = EVENTS[entity]
    for hook in [h for h in store.hooks if h["webhook_method"] == method and h["webhook_type"] == "after"]:
        for variant in _saved(store, entity, record_id):
            w.dispatcher.submit(
                Delivery(
                    url=hook["url"],
                    headers={},
                    body=b"",
                    on_result=lambda _delivery, _status: None,  # called once: a failure is only logged
                    collapse_key=("magento", store.store.name, hook["hook_name"], entity, record_id, variant),
                    refresh=lambda v=variant: _build(store, entity, record_id, v),  # type: ignore[misc]
                )
            )


def _saved(store: MagentoStore, entity: str, record_id: int) -> list[int | None]:
    """The record (None) and, for a parent product, each child's variant index."""
    index = store.store.index_of(entity, record_id)
    if entity != "products" or index is None:
        return [None]
    data = store.store.get(entity, index).data
    children = [int(v["index"]) for v in data["variants"]] if shapes.has_children(data) else []
    return [None, *children]


def _build(
    store: MagentoStore, entity: str, record_id: int, variant: int | None
) -> tuple[dict[str, str], bytes] | None:
    """The record (or a parent's child product) as saved, signed; None once it is gone."""
    index = store.store.index_of(entity, record_id)
    if index is None or not store.store.exists(entity, index):
        return None
    method, key = EVENTS[entity]
    rec = store.store.get(entity, index)
    if variant is None:
        record = RENDER[entity](store.store, rec)
    else:
        record = shapes.child_json(rec, next(v for v in rec.data["variants"] if v["index"] == variant))
    body = json.dumps({"eventName": method, "data": {key: record}}, separators=(",", ":")).encode()
    return {"Content-Type": "application/json", SIGNATURE_HEADER: sign(store, body)}, body


def sign(store: MagentoStore, body: bytes) -> str:
    store.webhook_public_pem()  # the key pair exists
    signed = store.webhook_key.sign(base64.b64encode(body), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signed).decode()
