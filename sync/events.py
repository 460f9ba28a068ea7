"""Processing the webhook inbox: map each stored delivery and apply it through the one path.

One job per store drains its pending deliveries in arrival order, a few hundred at a
time, in one transaction per round. A delivery that cannot be mapped or written is
marked failed and dead-lettered with a plain reason; the rest go on. Compliance and
uninstall topics are acted on in order. The sweeper re-enqueues anything left pending
(Redis was down) and moves deliveries spooled in Redis (the database was down) inside.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import orjson
from flask import current_app
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from connector import logs, privacy, refusals, settings_of
from connector.db import get_engine
from connector.models import DeadLetter, Store, WebhookInbox
from connector.queue import get_redis
from connector.records import apply_isolating
from connector.types import utcnow
from platforms.base import Batch, MapContext, MappingError
from platforms.shopify import webhooks as shopify
from platforms.storable import clean_text
from platforms.woocommerce import webhooks as woocommerce
from webhooks import inbox

log = logs.get(__name__)
ROUND = 500
SWEEP_AFTER = timedelta(seconds=2)


def process_inbox(store_id: int) -> dict[str, int]:
    totals: Counter[str] = Counter()
    engine = get_engine()
    while True:
        with engine.begin() as conn:
            store = conn.execute(select(Store).where(Store.id == store_id)).first()
            rows = (
                conn.execute(
                    select(WebhookInbox)
                    .where(
                        WebhookInbox.store_id == store_id,
                        WebhookInbox.status == "pending",
                    )
                    .order_by(WebhookInbox.id)
                    .limit(ROUND)
                ).all()
                if store
                else []
            )
            if not rows:
                break
            totals.update(_round(conn, store, rows))
    log.info("inbox processed", extra={"store_id": store_id, **totals})
    return dict(totals)


def _round(conn: Connection, store: Any, rows: Sequence[Any]) -> Counter[str]:
    outcome: Counter[str] = Counter()
    pending: list[tuple[Any, Batch]] = []
    for row in rows:
        if _from_elsewhere(conn, store, row):
            outcome["held"] += 1
            continue
        try:
            payload = orjson.loads(row.body)
            action = _action(store.platform, row.topic)
            if action is None:
                pending.append((row, _mapped(store, row, payload)))
                continue
        except Exception as exc:  # mapping is pure: any error means this one delivery is poison
            _fail(conn, store.id, row, _unreadable(store.id, row, exc))
            outcome["failed"] += 1
            continue
        outcome.update(_flush(conn, store.id, pending))
        pending = []
        outcome.update(_acted(conn, store, row, action, payload))
    outcome.update(_flush(conn, store.id, pending))
    return outcome


def _unreadable(store_id: int, row: Any, error: Exception) -> str:
    """Why a delivery could not be mapped, in words; a fault of ours goes to the log by kind."""
    if isinstance(error, orjson.JSONDecodeError):
        return "the delivery could not be read: its body is not JSON"
    if isinstance(error, MappingError):
        return f"the delivery could not be read: {error}"
    log.warning(
        "delivery not mapped",
        extra={"store_id": store_id, "inbox_id": row.id, "topic": row.topic, "error": type(error).__name__},
    )
    return "the delivery could not be read: its shape is one the connector does not know"


def _from_elsewhere(conn: Connection, store: Any, row: Any) -> bool:
    """A WooCommerce delivery sent by another site URL (a moved site, or a staging clone with
    the same keys) is held, with the store, until the merchant confirms or rejects the move."""
    source = ((row.headers or {}).get("X-WC-Webhook-Source") or "").rstrip("/")
    if store.platform != "woocommerce" or not source or source.lower() == store.domain.lower():
        return False
    conn.execute(update(WebhookInbox).where(WebhookInbox.id == row.id).values(status="held"))
    reason = (
        f"deliveries now come from {source}, not {store.domain}: a moved site or a copy of it. Confirm "
        f"with `crm-connector stores confirm-url {store.id}` or reject with `stores reject-url {store.id}`."
    )
    conn.execute(update(Store).where(Store.id == store.id).values(pending_url=source, status_reason=reason))
    log.warning("delivery held: another site url", extra={"store_id": store.id, "inbox_id": row.id})
    return True


def _action(platform: str, topic: str) -> str | None:
    return shopify.ACTIONS.get(topic) if platform == "shopify" else None


def _mapped(store: Any, row: Any, payload: dict[str, Any]) -> Batch:
    mappers = shopify.MAPPERS if store.platform == "shopify" else woocommerce.MAPPERS
    ctx = MapContext(country=store.country, received_at=row.triggered_at or row.received_at)
    return mappers[row.topic](payload, ctx)


def _flush(conn: Connection, store_id: int, pending: list[tuple[Any, Batch]]) -> Counter[str]:
    """Apply the mapped deliveries together; one the database refuses is dead-lettered alone."""
    if not pending:
        return Counter()
    refused = dict(apply_isolating(conn, store_id, [batch for _row, batch in pending]))
    _done(conn, [row.id for i, (row, _) in enumerate(pending) if i not in refused], "done")
    for i, exc in refused.items():
        row = pending[i][0]
        log.warning(
            "delivery refused by the database",
            extra={"store_id": store_id, "inbox_id": row.id, **refusals.log_fields(exc)},
        )
        _fail(conn, store_id, row, refusals.reason_for(exc, "delivery"))
    return Counter(done=len(pending) - len(refused), failed=len(refused))


def _acted(conn: Connection, store: Any, row: Any, action: str, payload: dict[str, Any]) -> Counter[str]:
    """An action (uninstall, a privacy request) in its own savepoint: one that fails is
    dead-lettered alone; the database's own trouble is raised (the round is retried)."""
    try:
        with conn.begin_nested():
            return Counter({_act(conn, store, row, action, payload): 1})
    except Exception as exc:
        if refusals.is_database_trouble(exc):
            raise
        log.warning(
            "delivery refused by the database",
            extra={"store_id": store.id, "inbox_id": row.id, **refusals.log_fields(exc)},
        )
        _fail(conn, store.id, row, refusals.reason_for(exc, "delivery"))
        return Counter(failed=1)


def _act(conn: Connection, store: Any, row: Any, action: str, payload: dict[str, Any]) -> str:
    if action == "uninstall":
        conn.execute(
            update(Store)
            .where(Store.id == store.id)
            .values(
                status="uninstalled",
                status_reason="the app was uninstalled from the shop",
                uninstalled_at=utcnow(),
                credentials=None,
            )
        )
    elif action == "privacy":
        _privacy(conn, store, row.topic, payload)
        if row.topic == "shop/redact":
            return "done"  # the store and its inbox are gone
    else:  # sync hints (bulk_operations/finish, orders/edited) are read by the sync engine
        _done(conn, [row.id], "ignored")
        return "ignored"
    _done(conn, [row.id], "done")
    return "done"


def _privacy(conn: Connection, store: Any, topic: str, payload: dict[str, Any]) -> None:
    customer = payload.get("customer") or {}
    instance = settings_of(current_app).instance_path
    if topic == "customers/data_request":
        orders = payload.get("orders_requested") or []
        privacy.export_customer(conn, store.id, customer, orders, instance / "exports")
    elif topic == "customers/redact":
        privacy.redact_customer(conn, store.id, customer, payload.get("orders_to_redact") or [], instance)
    else:
        privacy.redact_shop(conn, store.id, store.domain, instance)


def _done(conn: Connection, ids: list[int], status: str) -> None:
    conn.execute(
        update(WebhookInbox)
        .where(WebhookInbox.id.in_(ids))
        .values(status=status, processed_at=utcnow(), attempts=WebhookInbox.attempts + 1)
    )


def _fail(conn: Connection, store_id: int, row: Any, reason: str) -> None:
    """The delivery marked failed, and a dead letter for it (its payload: the inbox row's id)."""
    reason = clean_text(reason)
    conn.execute(
        update(WebhookInbox)
        .where(WebhookInbox.id == row.id)
        .values(status="failed", last_error=reason, processed_at=utcnow(), attempts=WebhookInbox.attempts + 1)
    )
    conn.execute(
        insert(DeadLetter).values(
            store_id=store_id,
            kind="webhook",
            entity=row.topic,
            reason=reason,
            detail=f"inbox delivery {row.id}",
            payload={"inbox_id": row.id},
        )
    )
    log.warning("webhook dead-lettered", extra={"store_id": store_id, "inbox_id": row.id, "topic": row.topic})


def sweep() -> dict[str, int]:
    """Every few seconds: spooled deliveries into the inbox, and stalled stores re-enqueued."""
    engine, conn = get_engine(), get_redis()
    moved = inbox.drain_spool(engine, conn)
    with engine.connect() as db:
        stalled = (
            db.execute(
                select(WebhookInbox.store_id)
                .distinct()
                .where(WebhookInbox.status == "pending", WebhookInbox.received_at < utcnow() - SWEEP_AFTER)
            )
            .scalars()
            .all()
        )
    for store_id in stalled:
        inbox.request_processing(conn, store_id)
    return {"spooled_moved": moved, "stores_enqueued": len(stalled)}
