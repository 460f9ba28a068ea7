"""The receivers: `POST /webhooks/shopify` and `POST /webhooks/woocommerce/<store_key>`.

Read the raw body, verify it, find the store, record the delivery, answer. Nothing is
mapped or written to CRM tables here. Answers: 401 bad or missing signature, 404 unknown
store, 400 malformed, 413 too large (Flask, from CONNECTOR_MAX_WEBHOOK_BYTES), 503 when
the delivery cannot be stored, 200 otherwise (unknown topics too: logged, ignored).
"""

from __future__ import annotations

import contextlib
import time
import weakref

import orjson
import redis
from flask import Blueprint, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from connector import logs
from connector.context import settings_of, vault_of
from connector.db import get_engine
from connector.db.models import Store
from connector.errors import BadInput
from connector.runtime.queue import get_redis
from connector.web.common import answer, requires_shopify
from connector.web.metrics import WEBHOOK_COUNTERS
from platforms.shopify import webhooks as shopify
from platforms.woocommerce import webhooks as woocommerce
from webhooks import inbox

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logs.get(__name__)


@bp.post("/shopify")
@requires_shopify
def shopify_delivery() -> ResponseReturnValue:
    settings = settings_of(current_app)
    body = request.get_data(cache=False)
    secrets = [s for s in (settings.shopify_api_secret, settings.shopify_previous_secret) if s]
    if not shopify.signature_valid(body, request.headers.get("X-Shopify-Hmac-Sha256"), secrets):
        log.warning("webhook rejected: signature", extra={"platform": "shopify"})
        return answer(401, "invalid or missing X-Shopify-Hmac-Sha256")
    try:
        facts = shopify.delivery_of(request.headers)
        orjson.loads(body)
    except (BadInput, orjson.JSONDecodeError) as exc:
        return answer(400, f"malformed delivery: {exc}")
    try:
        store_id = _store_id("shopify", facts.shop_domain)
    except SQLAlchemyError:
        return answer(503, "the database is unavailable; retry later")
    if store_id is None:
        return _no_shop(facts.topic)
    delivery = inbox.Delivery(
        store_id,
        "shopify",
        facts.topic,
        shopify.dedup_key(facts, body),
        inbox.kept_headers(request.headers),
        body,
        facts.triggered_at,
    )
    try:
        return _record(delivery, spool_if_db_down=False)
    except inbox.StoreGone:
        _store_ids.get(get_engine(), {}).pop(("shopify", facts.shop_domain), None)
        return _no_shop(facts.topic)


def _no_shop(topic: str) -> ResponseReturnValue:
    if topic in shopify.COMPLIANCE:
        return answer(200, "no data is held for this shop")
    return answer(404, "unknown shop")


@bp.post("/woocommerce/<store_key>")
def woocommerce_delivery(store_key: str) -> ResponseReturnValue:
    topic = request.headers.get("X-WC-Webhook-Topic")
    if (
        topic is None
        and request.mimetype == "application/x-www-form-urlencoded"
        and request.form.get("webhook_id")
    ):
        g.webhook_outcome = "ping"
        return answer(200, "pong")  # the creation ping: unsigned, form-encoded, before anything else
    body = request.get_data(cache=False)
    try:
        store = _woo_store(store_key)
    except inbox.Unavailable:
        return answer(503, "the database and Redis are unavailable; retry later")
    if store is None:
        return answer(404, "unknown store")
    store_id, sealed = store
    secret = vault_of(current_app).open(sealed)["secret"] if sealed else ""
    if not woocommerce.signature_valid(body, request.headers.get("X-WC-Webhook-Signature"), secret):
        log.warning("webhook rejected: signature", extra={"platform": "woocommerce", "store_id": store_id})
        return answer(401, "invalid or missing X-WC-Webhook-Signature")
    if not topic:
        return answer(400, "missing header X-WC-Webhook-Topic")
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return answer(400, f"malformed JSON: {exc}")
    delivery = inbox.Delivery(
        store_id,
        "woocommerce",
        topic,
        woocommerce.dedup_key(topic, body),
        inbox.kept_headers(request.headers),
        body,
        None,
    )
    try:
        return _record(delivery, spool_if_db_down=True)
    except inbox.StoreGone:
        return answer(404, "unknown store")


def _record(delivery: inbox.Delivery, *, spool_if_db_down: bool) -> ResponseReturnValue:
    known = shopify.TOPICS if delivery.platform == "shopify" else woocommerce.TOPICS
    if delivery.topic not in known:
        log.info(
            "webhook ignored: unknown topic", extra={"platform": delivery.platform, "topic": delivery.topic}
        )
        g.webhook_outcome = "ignored"
        return answer(200, "topic not handled; ignored")
    accepted = f"{delivery.platform}:accepted"
    try:
        recorded = inbox.record(
            get_engine(), get_redis(), delivery, spool_if_db_down=spool_if_db_down, count=accepted
        )
    except inbox.Unavailable as exc:
        return answer(503, f"{exc}; retry later")
    g.webhook_outcome = "accepted" if recorded.new else "deduplicated"
    g.webhook_counted = recorded.counted
    return answer(200, "accepted" if recorded.new else "duplicate; already accepted")


OUTCOMES = {401: "rejected_signature", 400: "rejected_malformed", 404: "unknown_store", 413: "too_large"}


@bp.before_request
def _fresh_outcome() -> None:
    """`g` outlives a request where an app context was already pushed (tests, CLI calls)."""
    g.webhook_outcome, g.webhook_counted = None, False


@bp.after_request
def _count(response: Response) -> Response:
    """One counter per answer, in Redis (shared by every web process), for /metrics; an
    accepted delivery's was counted with its processing request."""
    if g.get("webhook_counted"):
        return response
    platform = "shopify" if request.path.startswith("/webhooks/shopify") else "woocommerce"
    outcome = g.get("webhook_outcome") or OUTCOMES.get(response.status_code, str(response.status_code))
    with contextlib.suppress(redis.RedisError, OSError):
        get_redis().hincrby(WEBHOOK_COUNTERS, f"{platform}:{outcome}", 1)
    return response


STORE_CACHE_S = 30.0
# per database engine (so per app): (platform, domain) → (seen at, store id)
_store_ids: weakref.WeakKeyDictionary[Engine, dict[tuple[str, str], tuple[float, int]]] = (
    weakref.WeakKeyDictionary()
)


def _store_id(platform: str, domain: str) -> int | None:
    """The store's id; known stores are remembered for a few seconds (a hot path)."""
    known = _store_ids.setdefault(get_engine(), {})
    cached = known.get((platform, domain))
    if cached and time.monotonic() - cached[0] < STORE_CACHE_S:
        return cached[1]
    found = _lookup_store_id(platform, domain)
    if found is not None:
        known[(platform, domain)] = (time.monotonic(), found)
    return found


def _lookup_store_id(platform: str, domain: str) -> int | None:
    with get_engine().connect() as conn:
        return conn.execute(
            select(Store.id).where(Store.platform == platform, Store.domain == domain)
        ).scalar()


def _woo_store(store_key: str) -> tuple[int, bytes | None] | None:
    """(store id, sealed webhook secret) from the database, or, while it is down, from the
    copy kept in Redis (still sealed), so WooCommerce deliveries are never turned away."""
    cache_key = f"crm:woo-store:{store_key}"
    try:
        with get_engine().connect() as conn:
            row = conn.execute(
                select(Store.id, Store.webhook_secret).where(
                    Store.platform == "woocommerce", Store.store_key == store_key
                )
            ).first()
    except SQLAlchemyError:
        return _cached_store(cache_key)
    if row is None:
        return None
    with contextlib.suppress(redis.RedisError, OSError):
        sealed = row.webhook_secret.decode() if row.webhook_secret else ""
        get_redis().set(cache_key, f"{row.id}:{sealed}", ex=7 * 86400)
    return row.id, row.webhook_secret


def _cached_store(cache_key: str) -> tuple[int, bytes | None] | None:
    try:
        cached = get_redis().get(cache_key)
    except (redis.RedisError, OSError):
        raise inbox.Unavailable("the database and Redis are both unavailable") from None
    if cached is None:
        raise inbox.Unavailable("the database is unavailable and this store is not cached")
    text = cached.decode() if isinstance(cached, bytes) else str(cached)
    store_id, _, sealed = text.partition(":")
    return int(store_id), sealed.encode() or None
