"""The sync tests' rig: the connector wired to a sandbox with one shop and one site."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from woocommerce import API

from platforms.shopify.client import ShopifyClient
from sandbox import clients
from sandbox.generator import Sizes
from sandbox.world import World
from tests.rig import Rig, build

SIZES = Sizes(customers=150, orders=900, products=40)


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    yield from build(app_env, World(seed=23, sizes=SIZES, plan="plus"), redis_url)


@pytest.fixture
def shopify_api(rig: Rig) -> ShopifyClient:
    manifest = rig.sandbox.world.manifest()
    return clients.shopify_client(manifest, manifest["shopify"]["shops"][0])


@pytest.fixture
def woo_api(rig: Rig) -> API:
    site = rig.sandbox.world.manifest()["woocommerce"]["stores"][0]
    return clients.woo_api(site, timeout=30)
