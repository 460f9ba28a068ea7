"""The CRM tests' rig: a shop and a site sharing half their people, both backfilled, with
the sandbox's generator as the ground truth to compare against."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import redis

from sandbox.generator import Sizes
from sandbox.state import SandboxStore
from sandbox.world import World
from tests.rig import SHOP, Rig, build_synced

SIZES = Sizes(customers=120, orders=700, products=30)


@pytest.fixture
def synced(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    yield from build_synced(app_env, World(seed=31, sizes=SIZES, plan="plus"), redis_url, entities="core")


def sandbox_store(rig: Rig, store_id: int) -> SandboxStore:
    world = rig.sandbox.world
    return world.shops[SHOP].store if store_id == rig.shop.id else world.woo["site-1"].store


def truth_order(rig: Rig, store_id: int, platform_id: int) -> dict[str, Any]:
    store = sandbox_store(rig, store_id)
    index = store.index_of("orders", platform_id)
    assert index is not None
    data: dict[str, Any] = store.get("orders", index).data
    return data


def created_at(moment: datetime | None) -> datetime:
    """A held order's creation time: every order the sandbox makes has one."""
    assert moment is not None
    return moment
