"""The webhook inbox: every accepted delivery is stored before it is acknowledged.

`record` inserts a delivery once per (store, dedup key) and enqueues its store's
processing unless its job truly waits (a failed or orphaned one is replaced). If Redis
is down the row waits for the sweeper; if the database is down a WooCommerce delivery
(never retried by WooCommerce) is spooled to Redis instead, with its store's key, and the
sweeper moves it into the inbox when the database is back, if that store is still there.
"""

from __future__ import annotations

import base64
import functools
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import redis
from rq import Retry
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from connector import logs
from connector.db import sqlite_insert as driver_insert
from connector.db.models import Store
from connector.db.operations import WebhookInbox
from connector.db.types import utcnow
from connector.runtime import waiting
from connector.runtime.queue import enqueue
from connector.runtime.store_keys import REPLACED_COUNTERS, SPOOL_KEY, inbox_job_id

log = logs.get(__name__)
# every answer the receivers gave, one Redis hash field per platform:outcome, read by /metrics
WEBHOOK_COUNTERS = "crm:metrics:webhooks"
# REPLACED_COUNTERS: inbox jobs found ended without draining their store (failed, stopped,
# orphaned …) and replaced, one hash field per store_id:status, read by /metrics
# a failed round (the database hiccuped, the platform is unreachable) is retried with backoff;
# rows stay pending meanwhile, and once retries run out the next delivery or the sweeper
# replaces the failed job: nothing acknowledged is left unprocessed
RETRY = Retry(max=5, interval=[5, 30, 120, 600, 1800])
KEPT_HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-Triggered-At",
    "X-Shopify-API-Version",
    "X-WC-Webhook-Topic",
    "X-WC-Webhook-ID",
    "X-WC-Webhook-Delivery-ID",
    "X-WC-Webhook-Source",
)


class Unavailable(Exception):
    """Neither store could take the delivery: answer 503 so the platform retries."""


class StoreGone(Exception):
    """The store was deleted (a shop redaction) between looking it up and recording."""


@dataclass
class Delivery:
    store_id: int
    platform: str
    topic: str
    dedup_key: str
    headers: dict[str, str]
    body: bytes
    triggered_at: datetime | None


def record(
    engine: Engine, conn: redis.Redis, delivery: Delivery, *, spool_as: str | None, count: str | None = None
) -> Recorded:
    """Store the delivery and ask for it to be processed. `spool_as`: the store's key, if
    the delivery is to be spooled while the database is down. `count`: the /metrics counter
    field to add one to if it is new, in the same Redis round trip as that request."""
    try:
        new = _insert(engine, delivery)
    except IntegrityError:
        raise StoreGone(delivery.store_id) from None
    except SQLAlchemyError:
        if spool_as is None:
            raise Unavailable("the database is unavailable") from None
        _spool(conn, delivery, spool_as)
        return Recorded(new=True, counted=False)
    if new:
        return Recorded(new=True, counted=request_processing(conn, delivery.store_id, count=count))
    return Recorded(new=False, counted=False)


@functools.cache
def _insert_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, built once per dialect (a hot path)."""
    table: Any = WebhookInbox.__table__
    make: Any = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    return make(table).on_conflict_do_nothing(index_elements=["store_id", "dedup_key"]).returning(table.c.id)


def record_many(
    engine: Engine, conn: redis.Redis, deliveries: Sequence[Delivery], counts: Sequence[str | None]
) -> list[Recorded]:
    """Several deliveries stored in one transaction, then each of their stores asked for in
    one round trip (its /metrics counters with it). A delivery repeating an earlier one's key
    is a duplicate. Raises what the database raised: the caller then records them one by one."""
    firsts: dict[tuple[int, str], int] = {}
    for i, d in enumerate(deliveries):
        firsts.setdefault((d.store_id, d.dedup_key), i)
    inserted = _insert_rows(engine, [deliveries[i] for i in sorted(firsts.values())])
    new = [
        firsts[(d.store_id, d.dedup_key)] == i and (d.store_id, d.dedup_key) in inserted
        for i, d in enumerate(deliveries)
    ]
    counted: dict[int, bool] = {}
    for store_id in dict.fromkeys(d.store_id for d, n in zip(deliveries, new, strict=True) if n):
        fields = Counter(
            c for d, n, c in zip(deliveries, new, counts, strict=True) if n and c and d.store_id == store_id
        )
        counted[store_id] = request_processing(conn, store_id, counts=fields)
    return [Recorded(new=n, counted=n and counted[d.store_id]) for d, n in zip(deliveries, new, strict=True)]


def _params(delivery: Delivery) -> dict[str, Any]:
    return {
        "store_id": delivery.store_id,
        "platform": delivery.platform,
        "topic": delivery.topic,
        "dedup_key": delivery.dedup_key,
        "headers": delivery.headers,
        "body": delivery.body,
        "triggered_at": delivery.triggered_at,
        "status": "pending",
        "attempts": 0,
        "received_at": utcnow(),
    }


@functools.cache
def _insert_rows_statement(dialect: str) -> Any:
    """As _insert_statement, returning which (store, key) pairs were new."""
    table: Any = WebhookInbox.__table__
    make: Any = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[dialect]
    conflict = make(table).on_conflict_do_nothing(index_elements=["store_id", "dedup_key"])
    return conflict.returning(table.c.store_id, table.c.dedup_key)


def _insert_rows(engine: Engine, deliveries: Sequence[Delivery]) -> set[tuple[int, str]]:
    """Insert deliveries (distinct keys) in one statement and transaction; the new ones' keys."""
    with engine.begin() as db:
        params = [_params(d) for d in deliveries]
        statement = _insert_rows_statement(db.dialect.name)
        if db.dialect.name == "sqlite":
            table: Any = WebhookInbox.__table__
            found = driver_insert.write(db, statement, table, tuple(params[0]), params)
        else:
            found = [tuple(r) for r in db.execute(statement, params)]
    return {(int(r[0]), str(r[1])) for r in found}


def _insert(engine: Engine, delivery: Delivery) -> bool:
    with engine.begin() as db:
        params = _params(delivery)
        statement = _insert_statement(db.dialect.name)
        if db.dialect.name == "sqlite":  # the hot path, without SQLAlchemy's per-call processing
            table: Any = WebhookInbox.__table__
            return bool(driver_insert.write(db, statement, table, tuple(params), [params]))
        return db.execute(statement, params).first() is not None


def request_processing(
    conn: redis.Redis,
    store_id: int,
    *,
    count: str | None = None,
    counts: Mapping[str, int] | None = None,
    now: float | None = None,
) -> bool:
    """Enqueue the store's inbox job unless one is truly waiting (it drains everything
    pending when it runs): a failed, stopped or orphaned one is replaced, and counted. With
    Redis down the sweeper will do it later. With `count`, that /metrics counter field goes
    up by one in the same round trip (`counts`: each field by its number); True if they did.
    `now`: the clock, in unix seconds."""
    counted = False
    job_id = inbox_job_id(store_id)
    fields = {**(counts or {}), **({count: 1} if count else {})}
    try:
        with conn.pipeline(transaction=False) as pipe:
            asked = waiting.ask(pipe, "webhooks", job_id, now=now)
            for field, n in fields.items():
                pipe.hincrby(WEBHOOK_COUNTERS, field, n)
            replies = pipe.execute(raise_on_error=False)
        counted = bool(fields) and not any(isinstance(r, Exception) for r in replies[1:])
        found = waiting.answer(conn, asked, replies[0])
        if found == waiting.WAITING:
            return counted
        if found != waiting.ABSENT:
            _replaced(conn, store_id, found)
        enqueue(
            conn,
            "webhooks",
            "webhooks.process.process_inbox",
            store_id,
            job_id=job_id,
            result_ttl=0,
            retry=RETRY,
        )
    except (redis.RedisError, OSError):
        log.warning("webhook queued for the sweeper", extra={"store_id": store_id})
    return counted


def _replaced(conn: redis.Redis, store_id: int, status: str) -> None:
    """A store's inbox job that ended without draining it (its retries ran out, it was
    stopped, or its worker was killed): said in the log and on /metrics, then replaced."""
    log.warning("inbox job replaced", extra={"store_id": store_id, "job_status": status})
    conn.hincrby(REPLACED_COUNTERS, f"{store_id}:{status}", 1)


@dataclass(frozen=True)
class Recorded:
    new: bool  # not a duplicate of a stored delivery
    counted: bool  # its /metrics counter went up already


def _spool(conn: redis.Redis, delivery: Delivery, store_key: str) -> None:
    entry = {
        **asdict(delivery),
        "store_key": store_key,  # the store's id alone might be another store's by the time it is read
        "body": base64.b64encode(delivery.body).decode(),
        "triggered_at": delivery.triggered_at.isoformat() if delivery.triggered_at else None,
    }
    try:
        conn.rpush(SPOOL_KEY, json.dumps(entry))
    except (redis.RedisError, OSError):
        raise Unavailable("the database and Redis are both unavailable") from None
    log.warning("webhook spooled to redis", extra={"store_id": delivery.store_id})


def drain_spool(engine: Engine, conn: redis.Redis, limit: int = 10_000) -> int:
    """Move spooled deliveries into the inbox (oldest first); stop at the first failure.
    One whose store was removed meanwhile is dropped, and said so: never another's."""
    moved = 0
    for _ in range(limit):
        raw = conn.lindex(SPOOL_KEY, 0)
        if raw is None:
            break
        entry: dict[str, Any] = json.loads(raw)
        store_key = entry.pop("store_key", None)  # None: spooled by a release before 0012
        entry["body"] = base64.b64decode(entry["body"])
        entry["triggered_at"] = (
            datetime.fromisoformat(entry["triggered_at"]) if entry["triggered_at"] else None
        )
        delivery = Delivery(**entry)
        if not _still_there(engine, delivery.store_id, store_key):
            log.warning(
                "spooled delivery dropped: its store was removed", extra={"store_id": delivery.store_id}
            )
        else:
            if _insert(engine, delivery):
                request_processing(conn, delivery.store_id)
            moved += 1
        conn.lpop(SPOOL_KEY)
    return moved


def _still_there(engine: Engine, store_id: int, store_key: str | None) -> bool:
    """The store the delivery was spooled for, by its id and (when known) its key."""
    query = select(Store.id).where(Store.id == store_id)
    if store_key is not None:
        query = query.where(Store.store_key == store_key)
    with engine.connect() as db:
        return db.execute(query).first() is not None


def kept_headers(headers: Any) -> dict[str, str]:
    return {h: headers[h] for h in KEPT_HEADERS if h in headers}
