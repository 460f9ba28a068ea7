"""Expiring offline tokens: refreshed before they lapse, migrated once, revocation made visible."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
import requests
from sqlalchemy import select

from connector.db import session
from connector.db.models import Store
from sandbox.generator import Sizes
from sandbox.world import World
from sync.credentials import migrate_to_expiring, refresh, refresh_expiring
from sync.engine import run_step
from tests.rig import SHOP, Rig, build

pytestmark = pytest.mark.slow


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    yield from build(app_env, World(seed=23, sizes=Sizes(10, 10, 5)), redis_url)


def credentials(rig: Rig) -> dict[str, object]:
    with session(rig.app) as s:
        store = s.scalar(select(Store).where(Store.domain == SHOP))
        assert store is not None
        opened: dict[str, object] = rig.app.extensions["crm.vault"].open(store.credentials)
        return opened


def test_migrate_then_refresh_before_expiry(rig: Rig) -> None:
    shop = rig.sandbox.world.shops[SHOP]
    old = credentials(rig)["access_token"]
    migrate_to_expiring(rig.app, rig.shop.id)
    migrated = credentials(rig)
    assert migrated["refresh_token"] and old not in shop.tokens  # the old token is gone for good
    with rig.app.app_context():
        assert refresh_expiring() == {"due": 0, "renewed": 0}  # an hour left: not yet
        with session(rig.app) as s, s.begin():  # fifty-five minutes later
            store = s.get(Store, rig.shop.id)
            assert store is not None
            store.credentials = rig.app.extensions["crm.vault"].seal(
                {**migrated, "expires_at": time.time() + 300}
            )
        assert refresh_expiring() == {"due": 1, "renewed": 1}
    renewed = credentials(rig)
    assert renewed["access_token"] != migrated["access_token"] and renewed["access_token"] in shop.tokens
    assert renewed["refresh_token"] != migrated["refresh_token"]


def test_a_refused_refresh_marks_the_store_for_reconnection(rig: Rig) -> None:
    migrate_to_expiring(rig.app, rig.shop.id)
    requests.post(f"{rig.sandbox.url}/_sandbox/faults", json={"revoke": SHOP}, timeout=5)
    assert refresh(rig.app, rig.shop.id) is False
    with session(rig.app) as s:
        store = s.get(Store, rig.shop.id)
        assert (
            store is not None
            and store.status == "needs_reauth"
            and "reconnect" in (store.status_reason or "")
        )


def test_a_sync_about_to_start_on_a_lapsing_token_renews_it_first(rig: Rig) -> None:
    shop = rig.sandbox.world.shops[SHOP]
    migrate_to_expiring(rig.app, rig.shop.id)
    migrated = credentials(rig)
    with session(rig.app) as s, s.begin():  # the token lapses in two minutes
        store = s.get_one(Store, rig.shop.id)
        store.credentials = rig.app.extensions["crm.vault"].seal(
            {**migrated, "expires_at": time.time() + 120}
        )
    with rig.app.app_context():
        result = run_step(rig.app, rig.shop.id, "products", "test-owner")
    assert result.outcome == "done" and result.records > 0
    renewed = credentials(rig)
    assert renewed["access_token"] != migrated["access_token"] and renewed["access_token"] in shop.tokens
