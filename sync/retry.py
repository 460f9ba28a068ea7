"""Retrying a dead letter, the merchant's button: a webhook delivery goes back to the inbox
and is processed again; a sync record is read again from the platform by id (or, if the
platform no longer has it, mapped again from the payload kept) and written; a message is
put back in the outbox; a record a destination refused is marked to be pushed again. A
retry that works resolves the letter; one that fails again leaves it open with the new
reason and one more attempt counted.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select, update

from connector import logs
from connector.crm import destination_outbox
from connector.db import dead_letters, get_engine
from connector.db.models import Store
from connector.db.operations import DeadLetter, Destination, NotificationOutbox, WebhookInbox
from connector.errors import BadInput, ConnectorError
from connector.runtime.queue import get_redis
from connector.write import refusals
from connector.write.apply import apply_batch
from platforms.base import Batch, MapContext, MappingError
from sync.engine import reader_of
from webhooks import inbox

log = logs.get(__name__)


def retry(app: Flask, letter_id: int, account_id: int | None = None) -> dict[str, Any]:
    """Retry one open dead letter (of this account, when given); what happened, in words."""
    engine = get_engine(app)
    with engine.connect() as conn:
        letter = conn.execute(select(DeadLetter).where(DeadLetter.id == letter_id)).first()
        if letter is not None and account_id is not None and _account_of(conn, letter) != account_id:
            letter = None
    if letter is None:
        raise BadInput(f"no dead letter {letter_id}")
    if letter.resolved_at is not None:
        return {"id": letter.id, "outcome": "already resolved"}
    if letter.kind == "webhook":
        outcome = _again_webhook(app, letter)
    elif letter.kind == "notification":
        outcome = _again_message(app, letter)
    elif letter.kind == "destination":
        outcome = _again_push(app, letter)
    else:
        outcome = _again_record(app, letter)
    log.info("dead letter retried", extra={"dead_letter_id": letter.id, "outcome": outcome})
    return {"id": letter.id, "outcome": outcome}


def retry_all(app: Flask, account_id: int) -> list[dict[str, Any]]:
    with get_engine(app).connect() as conn:
        ids = conn.execute(
            select(DeadLetter.id)
            .join(Store, Store.id == DeadLetter.store_id)
            .where(Store.account_id == account_id, DeadLetter.resolved_at.is_(None))
            .order_by(DeadLetter.id)
        ).scalars()
        letters = list(ids)
    return [retry(app, i, account_id) for i in letters]


def _again_webhook(app: Flask, letter: Any) -> str:
    inbox_id = (letter.payload or {}).get("inbox_id")
    with get_engine(app).begin() as conn:
        found = conn.execute(
            update(WebhookInbox)
            .where(WebhookInbox.id == inbox_id, WebhookInbox.status == "failed")
            .values(status="pending", last_error=None)
        ).rowcount
        dead_letters.resolve(conn, letter.id)
    if not found:
        return "the delivery is no longer stored; nothing to retry"
    inbox.request_processing(get_redis(app), letter.store_id)
    return "the delivery was queued to be processed again"


def _account_of(conn: Any, letter: Any) -> int | None:
    """The account a letter belongs to: its store's, or its destination's."""
    if letter.kind == "destination":
        destination_id = (letter.payload or {}).get("destination_id")
        return conn.execute(select(Destination.account_id).where(Destination.id == destination_id)).scalar()
    return conn.execute(select(Store.account_id).where(Store.id == letter.store_id)).scalar()


def _again_push(app: Flask, letter: Any) -> str:
    """A record the CRM refused: marked again; the next push sends it (and resolves the letter)."""
    payload = letter.payload or {}
    with get_engine(app).begin() as conn:
        if (
            conn.execute(
                select(Destination.id).where(Destination.id == payload.get("destination_id"))
            ).first()
            is None
        ):
            raise BadInput("the destination of this dead letter is gone")
        destination_outbox.mark(
            conn, [payload["destination_id"]], str(payload["object"]), [letter.platform_id]
        )
    return "the record was marked to be pushed again"


def _again_message(app: Flask, letter: Any) -> str:
    with get_engine(app).begin() as conn:
        conn.execute(
            update(NotificationOutbox)
            .where(NotificationOutbox.id == letter.platform_id, NotificationOutbox.status == "failed")
            .values(status="pending", attempts=0, last_error=None)
        )
        dead_letters.resolve(conn, letter.id)
    return "the message was put back in the outbox"


def _again_record(app: Flask, letter: Any) -> str:
    engine = get_engine(app)
    with engine.connect() as conn:
        store = conn.execute(select(Store).where(Store.id == letter.store_id)).first()
    if store is None or letter.entity is None:
        raise BadInput("the store of this dead letter is gone")
    reader = reader_of(app, store)
    records: list[dict[str, Any]] = []
    try:
        if letter.platform_id is not None:
            for chunk in reader.fetch(letter.entity, [letter.platform_id]):
                records += chunk.records
        records = records or [letter.payload or {}]
        batch = Batch()
        for record in records:
            batch.extend(reader.map(letter.entity, record, MapContext(country=store.country)))
        with engine.begin() as conn:
            apply_batch(conn, store.id, batch)
            dead_letters.resolve(conn, letter.id)
    except Exception as exc:
        if refusals.is_database_trouble(exc):
            raise
        reason = _retry_failure(exc)
        log.warning(
            "dead letter retry failed", extra={"dead_letter_id": letter.id, **refusals.log_fields(exc)}
        )
        with engine.begin() as conn:
            dead_letters.retry_failed(conn, letter.id, f"the retry failed too: {reason}")
        return f"failed again: {reason}"
    return "the record was read again and written"


def _retry_failure(error: Exception) -> str:
    """Why the retry failed, in words (the technical kind goes to the log)."""
    if isinstance(error, ConnectorError):
        return error.reason
    if isinstance(error, MappingError):
        return f"the record could not be read: {error}"
    return refusals.reason_for(error)
