"""`GET /metrics`: the connector's state in Prometheus text, labelled by store id only."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from connector.db.models import Customer
from connector.db.operations import DeadLetter, SyncState
from connector.db.upsert import upsert
from tests.builders import customer_row, make_store, table_of


def scrape(app: Flask) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = app.test_client().get("/metrics")
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.get_data(as_text=True))
        for sample in family.samples
    }


def test_metrics_show_records_sync_progress_failures_and_queues(app: Flask, engine: Engine) -> None:
    # given a store with two customers, a sync run under way and a poison record set aside
    with engine.begin() as conn:
        store_id = make_store(conn, domain="private-shop.myshopify.com")
        upsert(conn, table_of(Customer), [customer_row(store_id), customer_row(store_id, platform_id=2)])
        conn.execute(
            insert(SyncState).values(
                store_id=store_id,
                entity="orders",
                state="running",
                done=300,
                total_estimate=1200,
                rate_per_s=50.0,
                updated_at=datetime.now(UTC),
            )
        )
        conn.execute(insert(DeadLetter).values(store_id=store_id, kind="sync", reason="unreadable"))
    # when Prometheus scrapes
    metrics = scrape(app)
    key = (("entity", "orders"), ("store_id", str(store_id)))
    # then the state is there, per store and entity
    assert metrics[("crm_records", (("entity", "customers"), ("store_id", str(store_id))))] == 2
    assert metrics[("crm_sync_done", key)] == 300
    assert metrics[("crm_sync_total_estimate", key)] == 1200
    assert metrics[("crm_sync_running", key)] == 1
    assert metrics[("crm_dead_letters_open", (("kind", "sync"),))] == 1
    assert metrics[("crm_stores", (("status", "active"),))] == 1
    assert metrics[("crm_queue_jobs", (("queue", "sync"),))] == 0
    # and no tenant's domain appears in them
    assert "private-shop" not in app.test_client().get("/metrics").get_data(as_text=True)


def test_metrics_count_webhook_answers_step_durations_and_messages(app: Flask, engine: Engine) -> None:
    from datetime import timedelta

    from connector.db.operations import SyncRun

    with engine.begin() as conn:
        store_id = make_store(conn)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for seconds in (2, 4):
            conn.execute(
                insert(SyncRun).values(
                    store_id=store_id,
                    entity="orders",
                    kind="sync",
                    owner="t",
                    started_at=start,
                    ended_at=start + timedelta(seconds=seconds),
                    outcome="done",
                )
            )
    client = app.test_client()
    # a forged delivery and a delivery for a store nobody connected
    client.post("/webhooks/woocommerce/nobody", data=b"{}", headers={"X-WC-Webhook-Topic": "order.created"})
    client.post("/webhooks/woocommerce/nobody", data=b"{}", headers={"X-WC-Webhook-Topic": "order.created"})
    metrics = scrape(app)
    steps = (("entity", "orders"), ("outcome", "done"))
    assert metrics[("crm_sync_step_duration_seconds_count", steps)] == 2
    assert abs(metrics[("crm_sync_step_duration_seconds_sum", steps)] - 6.0) < 0.01
    assert (
        metrics[("crm_webhook_requests_total", (("outcome", "unknown_store"), ("platform", "woocommerce")))]
        == 2
    )


def test_metrics_name_their_charset_once(app: Flask) -> None:  # issue 14, item 8
    answer = app.test_client().get("/metrics")
    assert answer.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
