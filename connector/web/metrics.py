"""`GET /metrics`: the connector's state in Prometheus text, read fresh at each scrape.

Stores by status, live records and sync progress per store and entity, sync step
durations, webhook requests by outcome, stored deliveries by status, the oldest pending
delivery's age and inbox jobs replaced per store, open dead letters
by kind, outbox messages, and jobs waiting per queue. Stores are labelled by
id only (no domain, no customer data), so a shared dashboard reveals no tenant.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from flask import Blueprint, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector
from redis import RedisError
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from connector.accounts.stores import ENTITIES
from connector.db import get_engine
from connector.db.models import Store
from connector.db.operations import DeadLetter, NotificationOutbox, SyncRun, SyncState, WebhookInbox
from connector.db.types import utcnow
from connector.runtime.queue import QUEUES, get_queue, get_redis
from webhooks.inbox import REPLACED_COUNTERS, WEBHOOK_COUNTERS

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry()
    registry.register(StateCollector(get_engine()))
    registry.register(QueueCollector())
    registry.register(WebhookCounters())
    # content_type, not mimetype: Flask would append a second "; charset=utf-8" to a mimetype
    return Response(generate_latest(registry), content_type="text/plain; version=0.0.4; charset=utf-8")


class StateCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        with self.engine.connect() as conn:
            stores = GaugeMetricFamily("crm_stores", "Connected stores by status", labels=["status"])
            for status, n in conn.execute(select(Store.status, func.count()).group_by(Store.status)):
                stores.add_metric([status], n)
            yield stores
            records = GaugeMetricFamily(
                "crm_records", "Live (not deleted) records held", labels=["store_id", "entity"]
            )
            for entity, model in ENTITIES.items():
                rows = conn.execute(
                    select(model.store_id, func.count())
                    .where(model.deleted_at.is_(None))
                    .group_by(model.store_id)
                )
                for store_id, n in rows:
                    records.add_metric([str(store_id), entity], n)
            yield records
            yield from _sync(conn.execute(select(SyncState)).all())
            inbox = GaugeMetricFamily(
                "crm_webhook_deliveries", "Webhook deliveries by status", labels=["status"]
            )
            for status, n in conn.execute(
                select(WebhookInbox.status, func.count()).group_by(WebhookInbox.status)
            ):
                inbox.add_metric([status], n)
            yield inbox
            yield _pending(conn)
            letters = GaugeMetricFamily(
                "crm_dead_letters_open", "Unresolved dead letters by kind", labels=["kind"]
            )
            open_letters = select(DeadLetter.kind, func.count()).where(DeadLetter.resolved_at.is_(None))
            for kind, n in conn.execute(open_letters.group_by(DeadLetter.kind)):
                letters.add_metric([kind], n)
            yield letters
            steps = SummaryMetricFamily(
                "crm_sync_step_duration_seconds", "Sync and reconcile steps run", labels=["entity", "outcome"]
            )
            seconds = func.sum(_seconds(conn.dialect.name))
            for entity, outcome, n, total in conn.execute(
                select(SyncRun.entity, SyncRun.outcome, func.count(), seconds)
                .where(SyncRun.ended_at.is_not(None))
                .group_by(SyncRun.entity, SyncRun.outcome)
            ):
                steps.add_metric([entity, outcome], count_value=n, sum_value=float(total or 0))
            yield steps
            mail = GaugeMetricFamily(
                "crm_notifications", "Outbox messages by kind and status", labels=["kind", "status"]
            )
            for kind, status, n in conn.execute(
                select(NotificationOutbox.kind, NotificationOutbox.status, func.count()).group_by(
                    NotificationOutbox.kind, NotificationOutbox.status
                )
            ):
                mail.add_metric([kind, status], n)
            yield mail


def _pending(conn: Any) -> Metric:
    """Per store, how long its oldest pending delivery has waited: a store whose inbox
    stopped being processed shows here as an age that keeps growing."""
    oldest = GaugeMetricFamily(
        "crm_webhook_pending_oldest_seconds", "Age of the oldest pending delivery", labels=["store_id"]
    )
    now = utcnow()
    for store_id, received in conn.execute(
        select(WebhookInbox.store_id, func.min(WebhookInbox.received_at))
        .where(WebhookInbox.status == "pending")
        .group_by(WebhookInbox.store_id)
    ):
        oldest.add_metric([str(store_id)], max(0.0, (now - received).total_seconds()))
    return oldest


def _seconds(dialect: str) -> Any:
    """A step's duration in seconds, in the database's own date arithmetic."""
    if dialect == "postgresql":
        return func.extract("epoch", SyncRun.ended_at - SyncRun.started_at)
    return (func.julianday(SyncRun.ended_at) - func.julianday(SyncRun.started_at)) * 86400.0


def _sync(states: Sequence[Any]) -> Iterator[Metric]:
    labels = ["store_id", "entity"]
    done = GaugeMetricFamily("crm_sync_done", "Records read by the current or last sync run", labels=labels)
    total = GaugeMetricFamily("crm_sync_total_estimate", "Records the run expects to read", labels=labels)
    rate = GaugeMetricFamily("crm_sync_rate_per_second", "Records per second in the run", labels=labels)
    running = GaugeMetricFamily("crm_sync_running", "1 while a run is in progress", labels=labels)
    failed = GaugeMetricFamily("crm_sync_failed", "1 if the last run failed (see stores list)", labels=labels)
    synced = GaugeMetricFamily(
        "crm_sync_last_synced_timestamp_seconds", "When the last run finished", labels=labels
    )
    for s in states:
        key = [str(s.store_id), s.entity]
        done.add_metric(key, s.done)
        if s.total_estimate is not None:
            total.add_metric(key, s.total_estimate)
        rate.add_metric(key, s.rate_per_s or 0)
        running.add_metric(key, 1 if s.state == "running" else 0)
        failed.add_metric(key, 1 if s.state == "failed" else 0)
        if s.last_synced_at is not None:
            synced.add_metric(key, s.last_synced_at.timestamp())
    yield from (done, total, rate, running, failed, synced)


class WebhookCounters(Collector):
    """Every answer the webhook endpoints gave, counted in Redis by the receivers (so every
    web process adds to the same numbers): accepted, deduplicated, ignored, rejected …"""

    def collect(self) -> Iterator[Metric]:
        total = CounterMetricFamily(
            "crm_webhook_requests", "Webhook requests answered, by outcome", labels=["platform", "outcome"]
        )
        replaced = CounterMetricFamily(
            "crm_webhook_inbox_jobs_replaced",
            "Store inbox jobs that ended without draining it (failed, stopped, orphaned), replaced",
            labels=["store_id", "status"],
        )
        for family, key in ((total, WEBHOOK_COUNTERS), (replaced, REPLACED_COUNTERS)):
            try:
                counts = get_redis().hgetall(key)
            except (RedisError, OSError):
                counts = {}
            for field, n in sorted(counts.items()):
                first, _, second = (field.decode() if isinstance(field, bytes) else field).partition(":")
                family.add_metric([first, second], int(n))
            yield family


class QueueCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("crm_queue_jobs", "Jobs waiting per queue", labels=["queue"])
        try:
            redis = get_redis()
            for name in QUEUES:
                jobs.add_metric([name], len(get_queue(name, redis)))
        except (RedisError, OSError):
            pass  # /healthz reports Redis; metrics still give the database's side
        yield jobs
