"""Checkpoints: a run keeps its signpost through a crash, resumes at its cursor, and the next
run re-reads the lookback window; progress gives a rate and an ETA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from sync import checkpoints
from tests.builders import make_store

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LOOKBACK = timedelta(hours=1)


def test_a_crashed_run_resumes_with_its_signpost_and_cursor(engine: Engine) -> None:
    with engine.begin() as conn:
        store_id = make_store(conn)
        first = checkpoints.begin(conn, store_id, "orders", T0, LOOKBACK)
        assert first == checkpoints.Window(None, T0, None)  # never synced: everything up to the signpost
        checkpoints.checkpoint(
            conn, store_id, "orders", "cursor-page-3", 300, T0 + timedelta(seconds=30), total_estimate=1200
        )
    # the worker dies here; a retry begins again later
    with engine.begin() as conn:
        resumed = checkpoints.begin(conn, store_id, "orders", T0 + timedelta(minutes=5), LOOKBACK)
    assert resumed == checkpoints.Window(None, T0, "cursor-page-3")
    with engine.connect() as conn:
        progress = checkpoints.progress(conn, store_id, "orders")
    assert progress is not None and progress.done == 300 and progress.rate_per_s == 10.0
    assert progress.eta_s == 90.0  # 900 left at 10 records/s


def test_finishing_moves_the_high_water_mark_and_the_next_run_re_reads_the_lookback(engine: Engine) -> None:
    with engine.begin() as conn:
        store_id = make_store(conn)
        checkpoints.begin(conn, store_id, "customers", T0, LOOKBACK)
        checkpoints.finish(conn, store_id, "customers", T0 + timedelta(minutes=2))
        second = checkpoints.begin(conn, store_id, "customers", T0 + timedelta(hours=3), LOOKBACK)
    assert second == checkpoints.Window(T0 - LOOKBACK, T0 + timedelta(hours=3), None)


def test_a_failure_keeps_the_place_for_the_retry(engine: Engine) -> None:
    with engine.begin() as conn:
        store_id = make_store(conn)
        checkpoints.begin(conn, store_id, "products", T0, LOOKBACK)
        checkpoints.checkpoint(conn, store_id, "products", "page-2", 100, T0 + timedelta(seconds=5))
        checkpoints.fail(conn, store_id, "products", "the platform's rate limit was reached", T0)
        again = checkpoints.begin(conn, store_id, "products", T0 + timedelta(minutes=1), LOOKBACK)
    assert again.cursor == "page-2" and again.until == T0


def test_a_full_run_reads_everything_again_and_keeps_doing_so_when_resumed(engine: Engine) -> None:
    with engine.begin() as conn:
        store_id = make_store(conn)
        checkpoints.begin(conn, store_id, "orders", T0, LOOKBACK)
        checkpoints.finish(conn, store_id, "orders", T0)
        full = checkpoints.begin(conn, store_id, "orders", T0 + timedelta(hours=1), LOOKBACK, full=True)
        checkpoints.checkpoint(conn, store_id, "orders", "page-9", 900, T0 + timedelta(hours=1, seconds=9))
        resumed = checkpoints.begin(conn, store_id, "orders", T0 + timedelta(hours=2), LOOKBACK)
    assert full == checkpoints.Window(None, T0 + timedelta(hours=1), None)
    assert resumed == checkpoints.Window(None, T0 + timedelta(hours=1), "page-9")


def test_one_lease_holder_at_a_time_and_a_lapsed_lease_passes_on(engine: Engine) -> None:
    ttl = timedelta(seconds=30)
    with engine.begin() as conn:
        store_id = make_store(conn)
        assert checkpoints.acquire(conn, store_id, "orders", "job-a", T0, ttl)
        assert not checkpoints.acquire(conn, store_id, "orders", "job-b", T0 + timedelta(seconds=10), ttl)
        assert checkpoints.acquire(conn, store_id, "customers", "job-b", T0, ttl)  # another entity: free
        checkpoints.renew(conn, store_id, "orders", "job-a", T0 + timedelta(seconds=20), ttl)
        assert not checkpoints.acquire(conn, store_id, "orders", "job-b", T0 + timedelta(seconds=40), ttl)
        # job-a dies: no renewal; once the lease lapses job-b takes it, and job-a can no longer write
        assert checkpoints.acquire(conn, store_id, "orders", "job-b", T0 + timedelta(seconds=51), ttl)
        with pytest.raises(checkpoints.LeaseLost):
            checkpoints.renew(conn, store_id, "orders", "job-a", T0 + timedelta(seconds=52), ttl)
        checkpoints.release(conn, store_id, "orders", "job-b")
        assert checkpoints.acquire(conn, store_id, "orders", "job-c", T0 + timedelta(seconds=53), ttl)


def test_a_store_wide_lease_waits_for_every_other_entity_of_the_store(engine: Engine) -> None:
    """A WooCommerce site's request limit is the site's: while one job syncs its orders, no
    other job may sync its customers; another store is not held up."""
    ttl = timedelta(seconds=30)
    with engine.begin() as conn:
        site = make_store(conn, "woocommerce", "https://one.example")
        other = make_store(conn, "woocommerce", "https://two.example")
        assert checkpoints.acquire(conn, site, "orders", "job-a", T0, ttl, store_wide=True)
        assert not checkpoints.acquire(conn, site, "customers", "job-b", T0, ttl, store_wide=True)
        assert checkpoints.acquire(conn, other, "customers", "job-b", T0, ttl, store_wide=True)
        assert checkpoints.acquire(conn, site, "products", "job-a", T0, ttl, store_wide=True)  # same job
        checkpoints.release(conn, site, "orders", "job-a")
        checkpoints.release(conn, site, "products", "job-a")
        assert checkpoints.acquire(
            conn, site, "customers", "job-b", T0 + timedelta(seconds=1), ttl, store_wide=True
        )
        # job-b dies holding it: once its lease lapses, the store is free again
        assert not checkpoints.acquire(
            conn, site, "orders", "job-c", T0 + timedelta(seconds=30), ttl, store_wide=True
        )
        assert checkpoints.acquire(
            conn, site, "orders", "job-c", T0 + timedelta(seconds=32), ttl, store_wide=True
        )
