"""The receiver: `POST /webhooks/<platform>` (deliveries signed with the app's secret, the
store named in a header) and `POST /webhooks/<platform>/<store_key>` (signed per store).

Read the raw body, verify it, find the store, record the delivery, answer. Nothing is
mapped or written to CRM tables here; what to check is the platform's (platforms.get).
Answers: 401 bad or missing signature, 404 unknown platform or store, 400 malformed, 413
too large (from CONNECTOR_MAX_WEBHOOK_BYTES; a body sent in chunks that reaches it too), 503
when the delivery cannot be stored, 200 otherwise (unknown topics too: logged, ignored); a
stored delivery's 200 also carries `"op": "success"`, the reply Adobe Commerce's webhooks expect.
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
from werkzeug.exceptions import RequestEntityTooLarge

import platforms
from connector import logs
from connector.context import settings_of, vault_of
from connector.db import get_engine
from connector.db.models import Store
from connector.errors import BadInput
from connector.runtime import store_keys
from connector.runtime.queue import get_redis
from connector.web.common import answer
from platforms.protocol import Platform, WebhookFacts
from webhooks import grouped, inbox
from webhooks.inbox import WEBHOOK_COUNTERS

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
log = logs.get(__name__)
# a stored delivery's answer also says so as Adobe Commerce's webhooks read it (an `op`);
# the other platforms read the status alone
STORED = {"op": "success"}


@bp.post("/<platform>")
@bp.post("/<platform>/<store_key>")
def delivery(platform: str, store_key: str | None = None) -> ResponseReturnValue:
    known = _registered(platform)
    if known is None or (known.SIGNED_BY == "store") != (store_key is not None):
        g.webhook_counted = True  # not a receiver's address: no counter (as any other 404)
        return answer(404, "no webhooks are received at this address")
    reason = known.unconfigured(settings_of(current_app))
    if reason is not None:
        return answer(503, reason)
    if known.is_ping(request.headers, request.mimetype, lambda: request.form):
        g.webhook_outcome = "ping"
        return answer(200, "pong")  # a creation ping: unsigned, before anything else
    body = _whole_body()
    if store_key is None:
        return _app_signed(known, body)
    return _store_signed(known, store_key, body)


def _whole_body() -> bytes:
    """The raw body. One sent in chunks (no Content-Length) is read up to the limit only, and
    one that reaches it is refused as too large (413) rather than verified cut short."""
    body = request.get_data(cache=False)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and limit is not None and len(body) >= limit:
        raise RequestEntityTooLarge()
    return body


def _registered(name: str) -> Platform | None:
    return platforms.get(name) if name in platforms.names() else None


def _app_signed(platform: Platform, body: bytes) -> ResponseReturnValue:
    """Signed with the app's secret: verified first, then the store named in the headers."""
    secrets = platform.app_secrets(settings_of(current_app))
    if not platform.signature_valid(body, request.headers.get(platform.SIGNATURE_HEADER), secrets):
        log.warning("webhook rejected: signature", extra={"platform": platform.NAME})
        return answer(401, f"invalid or missing {platform.SIGNATURE_HEADER}")
    facts = _facts(platform, body)
    if not isinstance(facts, WebhookFacts):
        return facts
    try:
        store_id = _store_id(platform.NAME, facts.domain)
    except SQLAlchemyError:
        return answer(503, "the database is unavailable; retry later")
    if store_id is None:
        return _no_store(platform, facts.topic)
    try:
        return _record(_delivery(store_id, platform, facts, body), spool_as=None)
    except inbox.StoreGone:
        _store_ids.get(get_engine(), {}).pop((platform.NAME, facts.domain), None)
        return _no_store(platform, facts.topic)


def _store_signed(platform: Platform, store_key: str, body: bytes) -> ResponseReturnValue:
    """Signed with the store's own secret: the store (by its URL key) first, then verified.
    While the database is down the store comes from Redis and the delivery is spooled."""
    try:
        store = _keyed_store(platform.NAME, store_key)
    except inbox.Unavailable:
        return answer(503, "the database and Redis are unavailable; retry later")
    if store is None:
        return answer(404, platform.UNKNOWN_STORE)
    store_id, sealed = store
    secret = vault_of(current_app).open(sealed)["secret"] if sealed else ""
    if not platform.signature_valid(body, request.headers.get(platform.SIGNATURE_HEADER), [secret]):
        log.warning("webhook rejected: signature", extra={"platform": platform.NAME, "store_id": store_id})
        return answer(401, f"invalid or missing {platform.SIGNATURE_HEADER}")
    facts = _facts(platform, body)
    if not isinstance(facts, WebhookFacts):
        return facts
    try:
        return _record(_delivery(store_id, platform, facts, body), spool_as=store_key)
    except inbox.StoreGone:
        return answer(404, platform.UNKNOWN_STORE)


def _facts(platform: Platform, body: bytes) -> WebhookFacts | ResponseReturnValue:
    """The headers' facts, once the body is known to be JSON; else the 400 answer."""
    try:
        facts = platform.delivery_of(request.headers, body)
        orjson.loads(body)
    except (BadInput, orjson.JSONDecodeError) as exc:
        return answer(400, f"malformed delivery: {exc}")
    return facts


def _delivery(store_id: int, platform: Platform, facts: WebhookFacts, body: bytes) -> inbox.Delivery:
    headers = inbox.kept_headers(request.headers)
    return inbox.Delivery(
        store_id, platform.NAME, facts.topic, facts.dedup_key, headers, body, facts.triggered_at
    )


def _no_store(platform: Platform, topic: str) -> ResponseReturnValue:
    if topic in platform.COMPLIANCE:
        return answer(200, "no data is held for this shop")
    return answer(404, platform.UNKNOWN_STORE)


def _record(delivery: inbox.Delivery, *, spool_as: str | None) -> ResponseReturnValue:
    if delivery.topic not in platforms.get(delivery.platform).TOPICS:
        log.info(
            "webhook ignored: unknown topic", extra={"platform": delivery.platform, "topic": delivery.topic}
        )
        g.webhook_outcome = "ignored"
        return answer(200, "topic not handled; ignored")
    accepted = f"{delivery.platform}:accepted"
    try:
        recorded = grouped.record(get_engine(), get_redis(), delivery, spool_as=spool_as, count=accepted)
    except inbox.Unavailable as exc:
        return answer(503, f"{exc}; retry later")
    g.webhook_outcome = "accepted" if recorded.new else "deduplicated"
    g.webhook_counted = recorded.counted
    return answer(200, "accepted" if recorded.new else "duplicate; already accepted", **STORED)


OUTCOMES = {401: "rejected_signature", 400: "rejected_malformed", 404: "unknown_store", 413: "too_large"}


@bp.before_request
def _fresh_outcome() -> None:
    """`g` outlives a request where an app context was already pushed (tests, CLI calls)."""
    g.webhook_outcome, g.webhook_counted = None, False


@bp.after_request
def _count(response: Response) -> Response:
    """One counter per answer, in Redis (shared by every web process), for /metrics; an
    accepted delivery's was counted with its processing request."""
    platform = (request.view_args or {}).get("platform")
    if g.get("webhook_counted") or platform not in platforms.names():  # no label from a stranger
        return response
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


def _keyed_store(platform: str, store_key: str) -> tuple[int, bytes | None] | None:
    """(store id, sealed webhook secret) from the database, or, while it is down, from the
    copy kept in Redis (still sealed), so a store-signed delivery is never turned away."""
    cache_key = store_keys.secret_cache_key(platform, store_key)
    try:
        with get_engine().connect() as conn:
            row = conn.execute(
                select(Store.id, Store.webhook_secret).where(
                    Store.platform == platform, Store.store_key == store_key
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
