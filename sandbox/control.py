"""The sandbox's control API (JSON in, JSON out), for tests, the demo and benchmarks.

`/_sandbox/manifest` describes the world; `/_sandbox/mutate` applies deterministic
changes and fires the webhooks the store has subscribed to; `/_sandbox/faults` sets
fault injection (`{}` clears it); the rest simulate what merchants and Shopify do:
uninstalling, GDPR requests, app-level (TOML) webhook configuration.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request

from sandbox.deliveries import Faults
from sandbox.http import as_json, current_world
from sandbox.magento import hooks as magento_hooks
from sandbox.shopify import events as events
from sandbox.shopify import graphql as gql
from sandbox.shopify import shapes as shapes
from sandbox.state import ENTITIES, SandboxStore
from sandbox.woocommerce import app as woo_app
from sandbox.world import MagentoStore, Shop, WooSite, World

bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")
OPS = ("create", "update", "delete", "purge")


world = current_world


def answer(value: Any, status: int = 200) -> Response:
    return as_json(value, status)


def bad(message: str) -> Response:
    return answer({"error": message}, 400)


@bp.get("/manifest")
def manifest() -> Response:
    return answer(world().manifest())


@bp.get("/stats")
def stats() -> Response:
    w = world()
    return answer(
        {
            "shops": {
                d: {
                    "max_cost_seen": s.max_cost_seen,
                    "throttled": s.throttled,
                    "bucket_available": s.bucket_available,
                    "subscriptions": len(s.subscriptions),
                }
                for d, s in w.shops.items()
            },
            "woocommerce": {
                n: {
                    "webhooks": {
                        h.id: {"status": h.status, "failure_count": h.failure_count}
                        for h in site.webhooks.values()
                    }
                }
                for n, site in w.woo.items()
            },
            "deliveries": {
                "sent": w.dispatcher.sent,
                "dropped": w.dispatcher.dropped,
                "idle": w.dispatcher.idle(),
            },
            "injected": {"429": w.injected_429, "5xx": w.injected_5xx},
        }
    )


@bp.post("/faults")
def faults() -> Response:
    w, body = world(), request.get_json(silent=True)
    if not isinstance(body, dict):
        return bad("expected a JSON object")
    known = {
        "latency_ms",
        "rate_429",
        "rate_5xx",
        "webhook_drop",
        "webhook_duplicate",
        "webhook_reorder",
        "revoke",
        "retry_scale",
        "magento_input_limit",
        "magento_past_end",
    }
    unknown = set(body) - known
    if unknown:
        return bad(f"unknown fault(s): {', '.join(sorted(unknown))}")
    for rate in ("rate_429", "rate_5xx", "webhook_drop", "webhook_duplicate", "webhook_reorder"):
        if not 0 <= float(body.get(rate, 0)) <= 1:
            return bad(f"{rate} must be between 0 and 1")
    if not body:
        fresh = Faults()
        for name in vars(fresh):
            setattr(w.faults, name, getattr(fresh, name))
        for mstore in w.magento.values():
            mstore.input_limit, mstore.past_end = False, "last"
        return answer({"faults": "cleared"})
    if body.get("magento_past_end", "last") not in ("last", "empty"):
        return bad("magento_past_end must be 'last' or 'empty'")
    for name in known - {"revoke", "retry_scale", "magento_input_limit", "magento_past_end"}:
        if name in body:
            setattr(w.faults, name, type(getattr(w.faults, name))(body[name]))
    if "retry_scale" in body:
        w.retry_scale = float(body["retry_scale"])
    if "magento_input_limit" in body:  # Magento's Web API input limits, off unless a merchant enables them
        for mstore in w.magento.values():
            mstore.input_limit = bool(body["magento_input_limit"])
    if "magento_past_end" in body:  # which Magento's paging to copy past the last page
        for mstore in w.magento.values():
            mstore.past_end = body["magento_past_end"]
    if "revoke" in body:
        target = find(w, None, body["revoke"])
        if target is None:
            return bad(f"no store {body['revoke']!r}")
        if isinstance(target, Shop):
            target.tokens.clear()
            target.refresh_tokens.clear()
        elif isinstance(target, MagentoStore):
            target.tokens.clear()
            target.admin_tokens.clear()
        else:
            target.keys.clear()
    return answer({"faults": {k: v for k, v in vars(w.faults).items() if k != "revoked"}})


@bp.post("/app")
def app_config() -> Response:
    """What shopify.app.toml declares: the compliance address and app-level subscriptions."""
    w, body = world(), request.get_json(silent=True) or {}
    w.compliance_uri = body.get("compliance_uri", w.compliance_uri)
    if "subscriptions" in body:
        w.app_subscriptions = [(s["topic"], s["uri"]) for s in body["subscriptions"]]
    return answer({"compliance_uri": w.compliance_uri, "subscriptions": w.app_subscriptions})


@bp.post("/mutate")
def mutate() -> Response:
    w, body = world(), request.get_json(silent=True) or {}
    target = find(w, body.get("platform"), body.get("store"))
    entity, op, count = body.get("entity"), body.get("op"), body.get("count", 1)
    if target is None:
        return bad(f"no {body.get('platform')} store {body.get('store')!r}")
    if entity not in ENTITIES or op not in OPS or not isinstance(count, int) or not 1 <= count <= 100_000:
        return bad(f"entity must be one of {ENTITIES}, op one of {OPS}, count 1-100000")
    store = target.store
    ids = [_apply(w, target, entity, op, index) for index in _choose(w, store, entity, op, count)]
    return answer({"ids": ids, "counts": store.counts()})


@bp.post("/session-token")
def mint_session_token() -> Response:
    """What App Bridge would give an embedded app in the shop's admin (for tests and the demo)."""
    from sandbox.shopify.app import session_token

    w, body = world(), request.get_json(silent=True) or {}
    shop = w.shops.get(body.get("store", ""))
    if shop is None:
        return bad("session-token takes a Shopify shop domain")
    return answer({"session_token": session_token(w, shop, int(body.get("lifetime_s", 60)))})


@bp.post("/uninstall")
def uninstall() -> Response:
    w, body = world(), request.get_json(silent=True) or {}
    shop = w.shops.get(body.get("store", ""))
    if shop is None:
        return bad("uninstall takes a Shopify shop domain")
    shop.installed = False
    shop.tokens.clear()
    shop.refresh_tokens.clear()
    events.fire(w, shop, "app/uninstalled", events.shop_payload(shop))
    shop.subscriptions.clear()
    # Shopify asks for the shop's data to be erased 48 hours later (compressed like retries)
    redact = {"shop_id": events.shop_id(shop), "shop_domain": shop.domain}
    events.fire(w, shop, "shop/redact", redact, delay_s=events.SHOP_REDACT_AFTER_S * w.retry_scale)
    return answer({"uninstalled": shop.domain})


@bp.post("/privacy")
def privacy() -> Response:
    """A GDPR request arriving from Shopify: customers/data_request, customers/redact or shop/redact."""
    w, body = world(), request.get_json(silent=True) or {}
    shop = w.shops.get(body.get("store", ""))
    topic = body.get("topic")
    if shop is None or topic not in events.COMPLIANCE_TOPICS:
        return bad(f"privacy takes a Shopify shop domain and a topic of {events.COMPLIANCE_TOPICS}")
    payload: dict[str, Any] = {"shop_id": events.shop_id(shop), "shop_domain": shop.domain}
    if topic != "shop/redact":
        index = shop.store.index_of("customers", int(body.get("customer_id", 0)))
        if index is None:
            return bad("no such customer")
        c = shop.store.get("customers", index)
        orders = _orders_of(shop.store, index)
        payload["customer"] = {"id": c.id, "email": c.data["email"], "phone": c.data["phone"]}
        if topic == "customers/redact":
            payload["orders_to_redact"] = orders
        else:
            payload |= {"orders_requested": orders, "data_request": {"id": 9000 + len(orders)}}
    return answer({"delivered_to": events.fire(w, shop, topic, payload), "payload": payload})


def _orders_of(store: SandboxStore, customer_index: int) -> list[int]:
    return [
        store.id_of("orders", i)
        for i in range(store.overlays["orders"].size)
        if store.exists("orders", i) and store.dataset.order(i)["customer"] == customer_index
    ]


def find(w: World, platform: str | None, ref: str | None) -> Shop | WooSite | MagentoStore | None:
    if not ref:
        return None
    if platform in (None, "shopify") and ref in w.shops:
        return w.shops[ref]
    for name, site in w.woo.items():
        if platform in (None, "woocommerce") and ref in (name, w.woo_url(name)):
            return site
    for name, mstore in w.magento.items():
        if platform in (None, "magento") and ref in (name, w.magento_url(name)):
            return mstore
    return None


def _choose(w: World, store: SandboxStore, entity: str, op: str, count: int) -> list[int]:
    if op == "create":
        return [-1] * count
    with store.lock:
        store.mutations += 1
        rng = random.Random(f"{w.seed}:{store.name}:{entity}:{op}:{store.mutations}")
        size = store.overlays[entity].size
        live = (
            [
                i
                for i in range(size)
                if store.exists(entity, i)
                and not (op in ("delete", "purge") and i in store.overlays[entity].trashed)
            ]
            if size <= 200_000
            else None
        )
        if live is not None:
            return rng.sample(live, min(count, len(live)))
        chosen: set[int] = set()
        while len(chosen) < count:
            i = rng.randrange(size)
            if store.exists(entity, i):
                chosen.add(i)
        return sorted(chosen)


def _apply(w: World, target: Shop | WooSite | MagentoStore, entity: str, op: str, index: int) -> int:
    store = target.store
    now = store.next_time(entity, index)
    if op == "create":
        index = store.create(entity, now)
    if isinstance(target, MagentoStore):  # hooks only where subscribed (Adobe Commerce's webhooks)
        if op == "update":
            store.update(entity, index, now)
        elif op in ("delete", "purge"):  # no trash: gone at once, and no hook taken for it
            store.delete(entity, index, now)
            return store.id_of(entity, index)
        magento_hooks.fire(w, target, entity, store.id_of(entity, index))
        return store.id_of(entity, index)
    if isinstance(target, WooSite):
        return _apply_woo(target, entity, op, index, now)
    return _apply_shopify(w, target, entity, op, index, now)


def _apply_woo(site: WooSite, entity: str, op: str, index: int, now: datetime) -> int:
    store = site.store
    rec_id = store.id_of(entity, index)
    if op == "update":
        store.update(entity, index, now)
    if op in ("delete", "purge"):
        if op == "purge":
            store.delete(entity, index, now)  # gone without a trace: no webhook (see woo_app.delete)
        else:
            woo_app.delete(site, entity, index, trash=True)
        return rec_id
    woo_app.fire(site, entity, "created" if op == "create" else "updated", rec_id)
    return rec_id


def _apply_shopify(w: World, shop: Shop, entity: str, op: str, index: int, now: datetime) -> int:
    store = shop.store
    rec_id = store.id_of(entity, index)
    stats = getattr(shop, "_customer_stats", None)
    if op in ("delete", "purge"):
        if entity == "orders" and stats is not None:
            gql.add_order_to_stats(stats, store.dataset.order(index), -1)
        store.delete(entity, index, now)
        events.fire(w, shop, f"{entity}/delete", events.deleted_payload(entity, rec_id), at=now)
        return rec_id
    before = store.get(entity, index) if op == "update" else None
    if op == "update":
        store.update(entity, index, now)
    rec = store.get(entity, index)
    if entity == "orders" and op == "create" and stats is not None:
        gql.add_order_to_stats(stats, rec.data, +1)
    for topic, payload in _shopify_topics(store, entity, op, before, rec):
        events.fire(w, shop, topic, payload, at=now)
    return rec_id


def _shopify_topics(
    store: SandboxStore, entity: str, op: str, before: Any, rec: Any
) -> list[tuple[str, Any]]:
    if entity == "customers":
        out = [(f"customers/{op}", shapes.customer_rest(store, rec))]
        if before is None or before.data["email_consent"] != rec.data["email_consent"]:
            out.append(("customers_email_marketing_consent/update", shapes.consent_rest(store, rec)))
        return out
    if entity == "products":
        return [(f"products/{op}", shapes.product_rest(store, rec))]
    body = shapes.order_rest(store, rec)
    out = [("orders/create" if op == "create" else "orders/updated", body)]
    was = before.data if before is not None else None
    o = rec.data
    if o["paid"] and (was is None or not was["paid"]):
        out.append(("orders/paid", body))
    if o["cancelled"] and (was is None or not was["cancelled"]):
        out.append(("orders/cancelled", body))
    new_fulfillments = o["fulfillments"][len(was["fulfillments"]) if was else 0 :]
    out += [("fulfillments/create", shapes.fulfillment_rest(store, rec, f)) for f in new_fulfillments]
    if new_fulfillments:
        out.append(("orders/partially_fulfilled" if o["partial"] else "orders/fulfilled", body))
    return out
