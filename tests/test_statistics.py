"""On PostgreSQL a table that a backfill fills fast is analysed by the write path itself, so
the planner uses the contact index instead of scanning the table (on SQLite: nothing to do)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine

from connector.db import analyze as statistics
from connector.write.apply import apply_batch
from platforms.base import Batch
from tests.builders import make_store, order_batch


def test_a_fast_filled_orders_table_is_analysed_and_planned_by_its_index(engine: Engine) -> None:
    with engine.begin() as conn:
        store = make_store(conn)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        template = order_batch(1, created=start, email="a@example.com").rows["orders"][0]
        for page in range(8):  # 8,000 orders by 2,000 people, written as sync pages would be
            batch = Batch()
            batch.rows["orders"] = [
                {
                    **template,
                    "platform_id": page * 1000 + n,
                    "email_normalized": f"p{(page * 1000 + n) % 2000}@x.example",
                    "source_created_at": start + timedelta(minutes=n),
                    "source_updated_at": start + timedelta(minutes=n),
                }
                for n in range(1000)
            ]
            apply_batch(conn, store, batch)
        if engine.dialect.name != "postgresql":
            assert statistics.note_written(conn, {"orders": 10**6}) == []
            return
        believed = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = 'orders'::regclass")
        ).scalar()
        plan = "\n".join(
            conn.execute(
                text(
                    "EXPLAIN SELECT count(*) FROM orders WHERE contact_id IN (1, 2, 3) AND deleted_at IS NULL"
                )
            ).scalars()
        )
    assert believed is not None and believed >= 5000  # analysed, without waiting for autovacuum
    assert "Seq Scan on orders" not in plan, plan
