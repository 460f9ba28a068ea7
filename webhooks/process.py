"""Processing the webhook inbox: map each stored delivery and apply it through the one path.

One job per store drains its pending deliveries in arrival order, a few hundred at a
time, in one transaction per round. A delivery that cannot be mapped or written is
marked failed and dead-lettered with a plain reason; the rest go on. Compliance and
uninstall topics are acted on in order. Before a delivery deletes, uninstalls, erases or
moves a store it is verified (webhooks.verify): a body that does not fit its topic or
shop is refused and recorded; a deletion or uninstall waits for the platform to confirm
it, asked between rounds (never inside a transaction) and retried while unreachable.
After app/uninstalled a shop's deliveries are recorded, not applied, until it is
installed again. The sweeper re-enqueues anything left pending (Redis was down, or the
store's job failed or lost its worker) and moves deliveries spooled in Redis (the database
was down) inside.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import timedelta
from itertools import islice
from typing import Any

import orjson
from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

import platforms
from connector import logs
from connector.accounts import stores
from connector.context import settings_of, vault_of
from connector.crm import privacy, suppression
from connector.db import dead_letters, get_engine
from connector.db.models import Order, Store
from connector.db.operations import WebhookInbox
from connector.db.types import utcnow
from connector.errors import RetryLater
from connector.runtime.queue import get_redis
from connector.write import refusals
from connector.write.apply import apply_isolating
from platforms.base import Batch, MapContext, MappingError
from platforms.storable import clean_text
from webhooks import inbox, verify
from webhooks.held import HeldElsewhere

log = logs.get(__name__)
ROUND = 500
SWEEP_AFTER = timedelta(seconds=2)


ASK = "ask"  # the delivery waits for the platform's word, asked between rounds
Verdicts = dict[tuple[str, str], str | None]  # what was asked → why refused (None: confirmed)
PRIVACY = ("export_customer", "redact_customer", "redact_shop")  # the actions that honour a request


def process_inbox(store_id: int) -> dict[str, int]:
    totals: Counter[str] = Counter()
    engine = get_engine()
    verdicts: Verdicts = {}
    while True:
        with engine.begin() as conn:
            store = conn.execute(select(Store).where(Store.id == store_id)).first()
            if store is None and not totals:  # removed after the job was enqueued: its deliveries too
                log.info("inbox job for a store that is gone; nothing done", extra={"store_id": store_id})
                return {}
            if store is None:  # the round just applied removed it (shop/redact)
                break
            rows = conn.execute(
                select(WebhookInbox)
                .where(
                    WebhookInbox.store_id == store_id,
                    WebhookInbox.status == "pending",
                )
                .order_by(WebhookInbox.id)
                .limit(ROUND)
            ).all()
            if not rows:
                break
            outcome, asking = _round(conn, store, rows, verdicts)
            totals.update(outcome)
        if asking is not None:
            verdicts[_asked_about(store, asking)] = _ask(store, asking)
    log.info("inbox processed", extra={"store_id": store_id, **totals})
    return dict(totals)


def _round(
    conn: Connection, store: Any, rows: Sequence[Any], verdicts: Verdicts
) -> tuple[Counter[str], Any | None]:
    """Apply what can be; stop at a delivery that needs the platform's word (returned).
    A delivery that cannot be read or checked is dead-lettered alone; the database's own
    trouble is raised, so the whole round is retried."""
    outcome: Counter[str] = Counter()
    pending: list[tuple[Any, Batch]] = []
    uninstalled = store.status == "uninstalled"
    payloads = [_payload(row) for row in rows]  # each body decoded once per round
    held = HeldElsewhere(conn, store)
    for i, (row, payload) in enumerate(zip(rows, payloads, strict=True)):
        coming = ((r.topic, p) for r, p in islice(zip(rows, payloads, strict=True), i, None) if _read(p))
        try:
            if isinstance(payload, Exception):
                raise payload
            gate = _gate(conn, store, row, payload, verdicts, uninstalled=uninstalled, held=(held, coming))
            action = None if gate is not None else _action(store.platform, row.topic)
            batch = _mapped(store, row, payload) if gate is None and action is None else None
        except Exception as exc:  # mapping is pure: any error means this one delivery is poison
            if refusals.is_database_trouble(exc):
                raise
            _fail(conn, store.id, row, _unreadable(store.id, row, exc))
            outcome["failed"] += 1
            continue
        if gate == ASK:
            outcome.update(_flush(conn, store.id, pending))
            return outcome, row
        if gate is not None:
            outcome[gate] += 1
        elif batch is not None:
            pending.append((row, batch))
        elif action is not None:
            outcome.update(_flush(conn, store.id, pending))
            pending = []
            acted = _acted(conn, store, row, action, payload)
            held.forget()  # the flush wrote records and the action may have erased some
            outcome.update(acted)
            uninstalled = uninstalled or (action == "uninstall" and not acted.get("failed"))
    outcome.update(_flush(conn, store.id, pending))
    return outcome, None


def _payload(row: Any) -> Any:
    """The delivery's body decoded, or the error that says why it cannot be."""
    try:
        return orjson.loads(row.body)
    except orjson.JSONDecodeError as exc:
        return exc


def _read(payload: Any) -> bool:
    return not isinstance(payload, Exception)


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


def _gate(
    conn: Connection,
    store: Any,
    row: Any,
    payload: Any,
    verdicts: Verdicts,
    *,
    uninstalled: bool,
    held: tuple[HeldElsewhere, Iterable[tuple[str, Any]]],
) -> str | None:
    """None if the delivery may be applied; else what became of it ("held", "refused",
    "uninstalled"), or ASK when the platform must be asked first."""
    if uninstalled and not _after_uninstall(store.platform, row.topic):
        return _set_aside(conn, store.id, row, "uninstalled", "the app was uninstalled from this shop")
    source = _other_source(store, row)
    if source is not None:
        return _from_elsewhere(conn, store, row, source, verdicts)
    reason = verify.refusal(store.platform, row.topic, payload, store.domain)
    confirm = verify.needs_confirmation(store.platform, row.topic)
    if reason is None and (confirm or held[0].held(row.topic, payload, held[1])):
        if _asked_about(store, row) not in verdicts:
            return ASK
        reason = verdicts[_asked_about(store, row)]
    if reason is not None:
        return _set_aside(conn, store.id, row, "refused", reason)
    return None


def _after_uninstall(platform: str, topic: str) -> bool:
    """What an uninstalled shop's deliveries may still do: erase (compliance), or repeat the uninstall."""
    known = platforms.get(platform)
    return topic in known.COMPLIANCE or known.ACTIONS.get(topic) == "uninstall"


def _other_source(store: Any, row: Any) -> str | None:
    """The site URL a delivery says it came from, when it is not the store's."""
    source = platforms.get(store.platform).claimed_source(row.headers or {})
    if not source or source.lower() == store.domain.lower():
        return None
    return source


def _from_elsewhere(conn: Connection, store: Any, row: Any, source: str, verdicts: Verdicts) -> str:
    """A delivery sent by another site URL is held, with the store, until the merchant
    confirms or rejects the move, but only once the site at that URL answered with the
    store's keys as that site; otherwise it is refused and the store row is left alone."""
    if not (store.pending_url and source.lower() == store.pending_url.lower()):
        verdict = verdicts.get(_asked_about(store, row), ASK)
        if verdict == ASK:
            return ASK
        if verdict is not None:
            return _set_aside(conn, store.id, row, "refused", verdict)
        stores.hold_for_url(conn, store.id, store.domain, source)
    conn.execute(update(WebhookInbox).where(WebhookInbox.id == row.id).values(status="held"))
    log.warning("delivery held: another site url", extra={"store_id": store.id, "inbox_id": row.id})
    return "held"


def _asked_about(store: Any, row: Any) -> tuple[str, str]:
    """What a platform's word is about: a site URL, or a topic and body (one answer serves
    every replay of the same body in this run)."""
    source = _other_source(store, row)
    if source is not None:
        return ("site", source.lower())
    return (row.topic, hashlib.sha256(row.body).hexdigest())


def _ask(store: Any, row: Any) -> str | None:
    """The platform's word on a delivery (outside any transaction): None if it confirms.
    Raises RetryLater while the platform cannot be reached: the job is retried later, the
    delivery stays pending, and the deliveries after it wait behind it."""
    settings, vault = settings_of(current_app), vault_of(current_app)
    source = _other_source(store, row)
    if source is not None:
        return verify.site_confirmation(store, vault, source, _an_order_key(store.id))
    try:
        return verify.confirmation(settings, vault, store, row.topic, orjson.loads(row.body))
    except RetryLater:
        log.warning("delivery waits: platform unreachable", extra={"store_id": store.id, "inbox_id": row.id})
        raise


def _an_order_key(store_id: int) -> tuple[int, str] | None:
    """One of the store's orders, chosen at random, with its order_key: what a site claiming
    to be this store must hold (None while the store has no order with a key)."""
    with get_engine().connect() as conn:
        rows = conn.execute(
            select(Order.platform_id, Order.raw)
            .where(Order.store_id == store_id, Order.deleted_at.is_(None), Order.raw.is_not(None))
            .order_by(func.random())
            .limit(20)
        ).all()
    for platform_id, raw in rows:
        key = (raw or {}).get("order_key")
        if isinstance(key, str) and key:
            return int(platform_id), key
    return None


def _set_aside(conn: Connection, store_id: int, row: Any, status: str, reason: str) -> str:
    """Recorded and not applied: the delivery keeps its body, with why in `last_error`."""
    conn.execute(
        update(WebhookInbox)
        .where(WebhookInbox.id == row.id)
        .values(status=status, last_error=reason, processed_at=utcnow(), attempts=WebhookInbox.attempts + 1)
    )
    log.warning(
        "webhook set aside",
        extra={"store_id": store_id, "inbox_id": row.id, "topic": row.topic, "status": status},
    )
    return status


def _action(platform: str, topic: str) -> str | None:
    return platforms.get(platform).ACTIONS.get(topic)


def _mapped(store: Any, row: Any, payload: dict[str, Any]) -> Batch:
    mappers = platforms.get(store.platform).MAPPERS
    ctx = MapContext(country=store.country, received_at=_event_time(row))
    return mappers[row.topic](payload, ctx)


def _event_time(row: Any) -> Any:
    """The delivery's event time as a version: its Triggered-At, never later than its arrival."""
    if row.triggered_at is None:
        return row.received_at
    return min(row.triggered_at, row.received_at)


def _flush(conn: Connection, store_id: int, pending: list[tuple[Any, Batch]]) -> Counter[str]:
    """Apply the mapped deliveries together; one the database refuses is dead-lettered alone."""
    if not pending:
        return Counter()
    batches = [batch for _row, batch in pending]
    erased = suppression.mentioned(conn, store_id, batches)  # asked first: applying scrubs them
    refused = dict(apply_isolating(conn, store_id, batches))
    _done(conn, [row.id for i, (row, _) in enumerate(pending) if i not in refused], "done")
    suppression.blank_deliveries(conn, [pending[i][0].id for i in erased if i not in refused])
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
        stores.mark_uninstalled(conn, store.id)
    elif action in PRIVACY:
        _privacy(conn, store, action, payload)
        if action == "redact_shop":
            return "done"  # the store and its inbox are gone
    else:  # sync hints (bulk_operations/finish, orders/edited) are read by the sync engine
        _done(conn, [row.id], "ignored")
        return "ignored"
    _done(conn, [row.id], "done")
    return "done"


def _privacy(conn: Connection, store: Any, action: str, payload: dict[str, Any]) -> None:
    customer = payload.get("customer") or {}
    instance = settings_of(current_app).instance_path
    if action == "export_customer":
        orders = payload.get("orders_requested") or []
        privacy.export_customer(conn, store.id, customer, orders, instance / "exports")
    elif action == "redact_customer":
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
    dead_letters.write(
        conn,
        store_id,
        "webhook",
        reason,
        entity=row.topic,
        detail=f"inbox delivery {row.id}",
        payload={"inbox_id": row.id},
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
