"""Store badges and sync states that tell the truth, each made to happen for real against the
sandbox and read where the merchant reads it (the stores page) and the API's shape
(`describe`): a store whose every sync failed, a shop that does not exist, a sync stopped
before it finished (Ctrl-C) or whose worker was killed, keys fixed after a refusal, the last
incremental run beside what is held, and an estimated total that was capped at 10,000."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
import requests
from sqlalchemy import select, update

from connector import db
from connector.accounts.stores import describe
from connector.db.models import Store
from connector.db.operations import SyncState
from connector.db.progress import Progress
from connector.db.types import utcnow
from platforms.shopify import queries
from sandbox.generator import Sizes
from sandbox.world import World
from sync.engine import run_step
from tests.rig import Rig, build, connect_woo, signed_in
from tests.sync.test_sync_command import cli

pytestmark = pytest.mark.slow
CORE = ("customers", "orders", "products")


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    yield from build(app_env, World(seed=31, sizes=Sizes(40, 120, 8), plan="plus"), redis_url)


def described(rig: Rig, store_id: int) -> dict[str, Any]:
    with db.session(rig.app) as s:
        return describe(s, [s.get_one(Store, store_id)])[0]


def store_card(page: str, store_id: int) -> str:
    found = re.search(rf'<div class="card store" id="store-{store_id}">(.*?)</table>', page, re.S)
    assert found, page[:2000]
    return found.group(1)


def sync(rig: Rig, store_id: int, *entities: str) -> list[str]:
    with rig.app.app_context():
        return [run_step(rig.app, store_id, e, "test-owner").outcome for e in entities or CORE]


def moved(rig: Rig, store_id: int, domain: str) -> None:
    """The store's address now leads nowhere (a shop closed or renamed, a site moved)."""
    with db.get_engine(rig.app).begin() as conn:
        conn.execute(update(Store).where(Store.id == store_id).values(domain=domain))


def test_a_store_whose_every_sync_failed_needs_attention_not_active(rig: Rig) -> None:
    # given a site whose REST API is no longer at its URL, synced
    moved(rig, rig.site.id, rig.site.domain.replace("site-1", "site-9"))
    assert sync(rig, rig.site.id) == ["failed"] * 3
    # then its badge says so, with the reason and the entities it stops, and no green "active"
    row = described(rig, rig.site.id)
    assert row["health"]["state"] == "needs_attention"
    for entity in CORE:
        assert f"{entity}: the site answered 404 for {entity}" in row["health"]["reason"]
    assert all(e["activity"] == "failed" for e in row["entities"].values())
    card = store_card(signed_in(rig).get(f"{rig.url}/stores", timeout=10).text, rig.site.id)
    assert 'data-state="needs_attention"' in card and ">needs attention<" in card
    assert ">active<" not in card and "REST API is not at this URL" in card
    # and `stores list` says the same, in the same words
    listed = cli(rig, "stores", "list").stdout
    [line] = [ln for ln in listed.splitlines() if "/woo/site-9" in ln]
    assert "needs attention" in line and "orders 0 (failed)" in line


def test_a_shop_that_does_not_exist_is_said_so_not_a_missing_record(rig: Rig) -> None:
    moved(rig, rig.shop.id, "no-such-shop.myshopify.com")
    assert sync(rig, rig.shop.id) == ["failed"] * 3
    row = described(rig, rig.shop.id)
    assert "there is no shop at this address" in row["health"]["reason"]
    page = signed_in(rig).get(f"{rig.url}/stores", timeout=10).text
    assert "no longer exists" not in page and "there is no shop at this address" in store_card(
        page, rig.shop.id
    )


def test_a_sync_stopped_before_it_finished_is_interrupted_not_running(rig: Rig) -> None:
    # given a backfill stopped by Ctrl-C after its first chunk was written
    def interrupt(done: int, total: int | None) -> None:
        raise KeyboardInterrupt

    with rig.app.app_context(), pytest.raises(KeyboardInterrupt):
        run_step(rig.app, rig.site.id, "orders", "cli-test", on_progress=interrupt)
    orders = described(rig, rig.site.id)["entities"]["orders"]
    # then its state row still says running, but nobody is: it reads as interrupted
    assert orders["state"] == "running" and orders["activity"] == "interrupted"
    health = described(rig, rig.site.id)["health"]
    assert health["state"] == "needs_attention" and "orders: the sync was stopped" in health["reason"]
    card = store_card(signed_in(rig).get(f"{rig.url}/stores", timeout=10).text, rig.site.id)
    row = re.search(r'<tr data-entity="orders">(.*?)</tr>', card, re.S)
    assert row and "interrupted" in row.group(1) and "syncing" not in row.group(1)
    assert "<progress" not in card
    # and when the next run resumes it, it is syncing again, then up to date
    assert sync(rig, rig.site.id, "orders") == ["done"]
    row_after = described(rig, rig.site.id)
    assert row_after["entities"]["orders"]["activity"] == "done" and row_after["health"]["state"] == "active"


def test_a_run_whose_worker_was_killed_is_interrupted_once_its_lease_lapses(rig: Rig) -> None:
    assert sync(rig, rig.site.id, "orders") == ["done"]
    # given the row a killed worker leaves: a run begun, its lease taken and never renewed
    with db.get_engine(rig.app).begin() as conn:
        ours = (SyncState.store_id == rig.site.id) & (SyncState.entity == "orders")
        live = {
            "state": "running",
            "lease_owner": "rq-horse-1",
            "lease_until": utcnow() + timedelta(minutes=5),
        }
        conn.execute(update(SyncState).where(ours).values(**live))
    assert described(rig, rig.site.id)["entities"]["orders"]["activity"] == "syncing"
    with db.get_engine(rig.app).begin() as conn:
        conn.execute(update(SyncState).where(ours).values(lease_until=utcnow() - timedelta(seconds=1)))
    row = described(rig, rig.site.id)
    assert row["entities"]["orders"]["activity"] == "interrupted"
    assert "its worker ended" in row["health"]["reason"]


def test_keys_fixed_after_a_refusal_clear_the_old_error(rig: Rig) -> None:
    # given a site that revoked our keys, so its sync was refused
    faults = f"{rig.sandbox.url}/_sandbox/faults"
    requests.post(faults, json={"revoke": "site-1"}, timeout=10).raise_for_status()
    assert sync(rig, rig.site.id, "customers") == ["failed"]
    refused = described(rig, rig.site.id)
    assert refused["health"]["state"] == "needs_reconnect"
    assert refused["entities"]["customers"]["last_error"]
    # when the merchant connects it again through the approval flow (new keys)
    browser = signed_in(rig)
    answer = connect_woo(rig, browser, rig.site.domain)
    assert answer.status_code == 200, answer.text
    # then nothing says the old keys' failure any more, and its next sync runs
    fixed = described(rig, rig.site.id)
    assert fixed["health"]["state"] == "active" and fixed["status"] == "active"
    assert all(e["last_error"] is None for e in fixed["entities"].values())
    card = store_card(browser.get(f"{rig.url}/stores", timeout=10).text, rig.site.id)
    assert "rejected our credentials" not in card and 'data-state="active"' in card
    assert sync(rig, rig.site.id, "customers") == ["done"]


def test_the_last_incremental_run_is_said_in_words_beside_what_is_held(rig: Rig) -> None:
    assert sync(rig, rig.site.id) == ["done"] * 3
    rig.mutate("woocommerce", "orders", "update", 5)
    assert sync(rig, rig.site.id, "orders") == ["done"]
    orders = described(rig, rig.site.id)["entities"]["orders"]
    assert orders["last_run"]["phase"] == "incremental" and orders["count"] == 120
    read = orders["last_run"]["read"]
    assert 5 <= read < 120
    card = store_card(signed_in(rig).get(f"{rig.url}/stores", timeout=10).text, rig.site.id)
    row = re.search(r'<tr data-entity="orders">(.*?)</tr>', card, re.S)
    assert row, card
    assert f"last incremental run read {read} records" in row.group(1) and ">120<" in row.group(1)
    assert not re.search(r"\d+ / \d+", card)  # no bare "5 / 5" beside 120 held
    assert " ago" in row.group(1) and "T" not in re.sub(r"<[^>]+>|title=\"[^\"]*\"", "", row.group(1))


@pytest.fixture
def big_shop(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    yield from build(app_env, World(seed=32, sizes=Sizes(50, 12_500, 5), plan="plus"), redis_url)


def test_the_estimated_total_of_a_large_shop_is_not_capped_at_ten_thousand(big_shop: Rig) -> None:
    seen: list[int | None] = []

    def first(done: int, total: int | None) -> None:
        seen.append(total)
        raise KeyboardInterrupt  # the first checkpoint is enough

    with big_shop.app.app_context(), pytest.raises(KeyboardInterrupt):
        run_step(big_shop.app, big_shop.shop.id, "orders", "cli-test", on_progress=first)
    assert seen == [12_500]
    progress = described(big_shop, big_shop.shop.id)["entities"]["orders"]["progress"]
    assert progress["total"] == 12_500


def test_counts_are_asked_uncapped_where_the_api_version_allows() -> None:
    assert "limit: null" in queries.count_query("orders", "2026-07")
    assert "limit: null" in queries.count_query("orders", "unstable")
    assert "limit" not in queries.count_query("orders", "2025-04")  # no such argument before 2025-07


def test_a_run_past_its_estimate_has_no_total_and_no_frozen_eta() -> None:
    overtaken = Progress(done=30_000, total=10_000, rate_per_s=250.0)
    assert overtaken.known_total is None and overtaken.eta_s is None
    assert Progress(done=1_000, total=10_000, rate_per_s=250.0).eta_s == 36.0


def test_the_sandbox_caps_counts_as_shopify_does_unless_told_not_to(big_shop: Rig) -> None:
    manifest = big_shop.sandbox.world.manifest()
    shop = manifest["shopify"]["shops"][0]
    url = manifest["shopify"]["shop_url_template"].format(shop=shop["domain"])
    headers = {"X-Shopify-Access-Token": shop["access_token"]}
    for query, expected in (
        ("{ ordersCount { count precision } }", {"count": 10_000, "precision": "AT_LEAST"}),
        ("{ ordersCount(limit: null) { count precision } }", {"count": 12_500, "precision": "EXACT"}),
    ):
        answer = requests.post(
            f"{url}/admin/api/2026-07/graphql.json", json={"query": query}, headers=headers, timeout=30
        )
        assert answer.json()["data"]["ordersCount"] == expected
    with db.get_engine(big_shop.app).connect() as conn:
        assert conn.execute(select(Store.id).where(Store.id == big_shop.shop.id)).scalar_one()
