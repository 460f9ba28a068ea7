"""A full backfill of a generated store equals the sandbox record for record, on both
platforms; a resumed run neither skips nor repeats; poison records are set aside."""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from woocommerce import API

from connector.db import get_engine
from connector.db.models import Order, Store
from connector.db.operations import DeadLetter, SyncRun, SyncState
from connector.db.people import ContactInsight, InsightBacklog
from platforms.base import Chunk
from platforms.shopify.client import ShopifyClient
from sync.engine import ENTITIES, gathered, run_step
from tests.rig import SHOP, Rig
from tests.sync.truth import checksum, crm_facts, shopify_truth, woo_truth

pytestmark = pytest.mark.slow


def test_pages_are_joined_until_a_transaction_holds_enough_records() -> None:
    pages = [
        Chunk([{"id": i} for i in range(n)], f"page-{k}", 700 if k == 0 else None)
        for k, n in enumerate([100, 100, 100, 40])
    ]
    joined = list(gathered(iter(pages), 200))
    assert [len(c.records) for c in joined] == [200, 140]
    assert [c.cursor for c in joined] == ["page-1", "page-3"]  # resume after the last page written
    assert [c.total for c in joined] == [700, None]
    assert list(gathered(iter(pages), 1)) == pages  # one page, one transaction
    # an empty chunk (a started export) is checkpointed at once, with what came before it
    started = Chunk([], "export-started")
    joined = list(gathered(iter([pages[0], started, pages[1]]), 1000))
    assert [(len(c.records), c.cursor) for c in joined] == [(100, "export-started"), (100, "page-1")]


def sync_all(rig: Rig, store_id: int, full: bool = False) -> None:
    with rig.app.app_context():
        for entity in ENTITIES:
            result = run_step(rig.app, store_id, entity, "test-owner", full=full)
            assert result.outcome == "done", result


@pytest.fixture(params=["page", "joined"])
def write_records(request: pytest.FixtureRequest, app_env: dict[str, str]) -> str:
    """One transaction per platform page, read then written in turn; or the defaults outside
    tests: pages joined into transactions of 1,000 records, the next ones read meanwhile."""
    app_env["CONNECTOR_SYNC_WRITE_RECORDS"] = "1" if request.param == "page" else "1000"
    app_env["CONNECTOR_SYNC_READ_AHEAD"] = "0" if request.param == "page" else "10"
    return str(request.param)


@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_a_backfill_equals_the_platform_record_for_record(
    write_records: str, rig: Rig, platform: str, shopify_api: ShopifyClient, woo_api: API
) -> None:
    # given a generated store; when it is backfilled
    store_id = rig.shop.id if platform == "shopify" else rig.site.id
    sync_all(rig, store_id)
    # then every entity matches the platform record for record
    for entity in ENTITIES:
        truth = shopify_truth(shopify_api, entity) if platform == "shopify" else woo_truth(woo_api, entity)
        held = crm_facts(rig.app, store_id, entity)
        assert len(truth) > 0
        assert held == truth, entity
        assert checksum(held) == checksum(truth)


def test_a_shopify_backfill_exports_the_last_90_days_before_the_history(rig: Rig) -> None:
    sync_all(rig, rig.shop.id)
    queries = [op["query"] for _id, op in sorted(rig.sandbox.world.shops[SHOP].bulk_ops.items())]
    assert len(queries) == 2 * len(ENTITIES)  # two exports per entity, in the order they ran
    for recent, history in zip(queries[::2], queries[1::2], strict=True):
        assert "updated_at:>=" in recent and "updated_at:<=" in recent  # recent, capped at the signpost
        assert "updated_at:<'" in history and ">=" not in history
        assert recent.split("(")[0] == history.split("(")[0]  # the same entity


def test_the_history_is_exported_while_the_recent_days_are_written(rig: Rig) -> None:
    # given a shop's orders backfill; when its first records are written
    exports = rig.sandbox.world.shops[SHOP].bulk_ops
    seen: list[tuple[int, list[str]]] = []

    def note(done: int, total: int | None) -> None:
        seen.append((done, [op["query"] for _id, op in sorted(exports.items())]))

    with rig.app.app_context():
        assert run_step(rig.app, rig.shop.id, "orders", "test-owner", on_progress=note).outcome == "done"
    # then the history's export had already been started, after the recent days' was ready
    at_first_records = next(queries for done, queries in seen if done > 0)
    assert len(at_first_records) == 2 and "updated_at:<'" in at_first_records[1]
    assert len(exports) == 2  # and it was the one the history phase read


def test_a_backfill_records_its_state_and_steps(rig: Rig) -> None:
    sync_all(rig, rig.site.id)
    with get_engine(rig.app).connect() as conn:
        states = conn.execute(select(SyncState).where(SyncState.store_id == rig.site.id)).all()
        runs = conn.execute(select(SyncRun).where(SyncRun.store_id == rig.site.id)).all()
    assert {s.entity: s.state for s in states} == dict.fromkeys(ENTITIES, "done")
    assert all(s.high_water is not None and s.done > 0 and s.last_error is None for s in states)
    assert sorted(r.entity for r in runs) == sorted(ENTITIES)
    assert all(r.outcome == "done" and r.ended_at is not None for r in runs)
    # and each step refreshed the insights it owed before it ended
    with get_engine(rig.app).connect() as conn:
        owed = conn.execute(select(func.count()).select_from(InsightBacklog)).scalar_one()
        kept = conn.execute(select(func.count()).where(ContactInsight.store_id == rig.site.id)).scalar_one()
    assert owed == 0 and kept > 0


def test_a_store_uninstalled_during_a_sync_stops_it_at_the_next_chunk(rig: Rig) -> None:
    def uninstall_now(done: int, total: int | None) -> None:
        with get_engine(rig.app).begin() as conn:
            conn.execute(update(Store).where(Store.id == rig.site.id).values(status="uninstalled"))

    with rig.app.app_context():
        result = run_step(rig.app, rig.site.id, "orders", "test-owner", on_progress=uninstall_now)
    assert result.outcome == "stopped" and result.records == 100  # the first page, then nothing more
    with get_engine(rig.app).connect() as conn:
        held = conn.execute(select(func.count()).where(Order.store_id == rig.site.id)).scalar_one()
        state = conn.execute(select(SyncState).where(SyncState.store_id == rig.site.id)).one()
    assert held == 100 and state.state == "failed" and "uninstalled" in (state.last_error or "")
    assert state.lease_owner is None


@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_steps_paused_after_every_chunk_stop_reading_and_resume_to_the_same_result(
    rig: Rig, platform: str, shopify_api: ShopifyClient, woo_api: API
) -> None:
    # given steps whose time is up after their first chunk, while the next ones are read ahead
    store_id = rig.shop.id if platform == "shopify" else rig.site.id
    outcomes: list[str] = []
    with rig.app.app_context():
        while not outcomes or outcomes[-1] == "paused":
            outcomes.append(run_step(rig.app, store_id, "orders", "test-owner", budget_s=1e-9).outcome)
            # then a paused step leaves no reading behind it
            assert not any(t.name == "sync-read-ahead" and t.is_alive() for t in threading.enumerate())
    # and resuming from each checkpoint ends with the platform's orders, none twice
    assert outcomes[-1] == "done" and outcomes.count("paused") > 3
    if platform == "shopify":  # each export started once, the history's while the recent days were written
        assert len(rig.sandbox.world.shops[SHOP].bulk_ops) == 2
    truth = shopify_truth(shopify_api, "orders") if platform == "shopify" else woo_truth(woo_api, "orders")
    assert crm_facts(rig.app, store_id, "orders") == truth


def test_an_export_file_gone_before_a_resumed_step_is_exported_again(
    rig: Rig, shopify_api: ShopifyClient
) -> None:
    # given a shop's orders backfill paused once it has written records from its first export
    def cursor() -> dict[str, Any]:
        mine = (SyncState.store_id == rig.shop.id, SyncState.entity == "orders")
        with get_engine(rig.app).connect() as conn:
            state = conn.execute(select(SyncState.cursor).where(*mine)).scalar()
        return dict(json.loads(state)) if state else {}

    with rig.app.app_context():
        while cursor().get("skip", 0) == 0:
            assert run_step(rig.app, rig.shop.id, "orders", "test-owner", budget_s=1e-9).outcome == "paused"
        # when the export's file has expired before the next step downloads it again
        op_id = cursor()["op"].rsplit("/", 1)[-1]
        for file in Path(tempfile.gettempdir()).glob(f"sandbox-bulk-*-{SHOP}-{op_id}.jsonl"):
            file.unlink()
        outcome = run_step(rig.app, rig.shop.id, "orders", "test-owner").outcome
    # then the phase is exported again and the orders still equal the shop's, none twice
    assert outcome == "done"
    assert len(rig.sandbox.world.shops[SHOP].bulk_ops) == 3
    assert crm_facts(rig.app, rig.shop.id, "orders") == shopify_truth(shopify_api, "orders")


@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_a_database_fault_stops_the_step_and_sets_no_record_aside(
    rig: Rig, platform: str, shopify_api: ShopifyClient, woo_api: API
) -> None:
    # given a products backfill whose writes the database cannot take, for no fault of the
    # records (a table it writes is missing: the database's trouble, as a dropped connection
    # or a clashing prepared statement would be)
    store_id = rig.shop.id if platform == "shopify" else rig.site.id
    engine = get_engine(rig.app)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE product_variants RENAME TO product_variants_away"))
    try:
        # when the step runs, then it stops with the database's error
        with rig.app.app_context(), pytest.raises(SQLAlchemyError):
            run_step(rig.app, store_id, "products", "test-owner")
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE product_variants_away RENAME TO product_variants"))
    # and no record was dead-lettered or counted, the run is not done and its lease is free
    with engine.connect() as conn:
        letters = conn.execute(select(func.count()).select_from(DeadLetter)).scalar_one()
        state = conn.execute(select(SyncState).where(SyncState.store_id == store_id)).one()
    assert letters == 0
    assert state.state == "running" and state.done == 0 and state.lease_owner is None
    assert "unexpected error" in (state.last_error or "")
    # and the next step, the database well again, writes every product
    with rig.app.app_context():
        assert run_step(rig.app, store_id, "products", "test-owner").outcome == "done"
    shop = platform == "shopify"
    truth = shopify_truth(shopify_api, "products") if shop else woo_truth(woo_api, "products")
    assert crm_facts(rig.app, store_id, "products") == truth
