"""Destination tests run against the sandbox's HubSpot (fixtures in tests/conftest_sandbox.py)
and its Salesforce org over https (tests/destinations/salesforce_rig.py), the connector wired to
a small world whose shop and site belong to one account."""

from collections.abc import Iterator

import pytest
import redis

from sandbox.generator import Sizes
from sandbox.world import World
from tests.conftest_sandbox import receiver, sandbox, world  # noqa: F401
from tests.destinations.salesforce_rig import org_server  # noqa: F401
from tests.rig import Rig, build

SIZES = Sizes(customers=40, orders=160, products=10)


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    app_env |= {"CONNECTOR_SYNC_WRITE_RECORDS": "1000", "CONNECTOR_PUSH_BACKOFF_MS": "0"}
    yield from build(app_env, World(seed=31, sizes=SIZES), redis_url)
