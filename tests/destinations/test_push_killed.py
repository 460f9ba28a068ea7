"""A push survives its worker's death: the Procfile's worker pushes a few hundred contacts and
their orders to a slow HubSpot and is killed with SIGKILL mid-push five times over (a batch
HubSpot took but whose answer never arrived included); restarted, it finishes with HubSpot
holding exactly the account's contacts and orders, each once, every pushed field equal."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import func, select

from connector.db import get_engine
from connector.db.operations import DestinationMark, DestinationRecord
from sandbox.generator import Sizes
from sandbox.world import World
from sync.push import LOCK_S, push_all
from tests.destinations.helpers import add_hubspot, faults, held, sync_everything
from tests.destinations.test_push import assert_hubspot_matches, expected
from tests.rig import Rig, build
from tests.sync.test_workers import kill, start_worker

pytestmark = pytest.mark.slow
KILLS = 5
LATER = LOCK_S + 60  # seconds: past the killed push's lock and its job's heartbeat (90 s)


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    app_env |= {"CONNECTOR_SYNC_WRITE_RECORDS": "1000", "CONNECTOR_PUSH_BACKOFF_MS": "0"}
    yield from build(app_env, World(seed=37, sizes=Sizes(customers=300, orders=900, products=10)), redis_url)


def marks_left(rig: Rig) -> int:
    with get_engine(rig.app).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(DestinationMark)).scalar_one())


def records_noted(rig: Rig) -> int:
    with get_engine(rig.app).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(DestinationRecord)).scalar_one())


def ask_for_a_push(rig: Rig, dest: int, *, later: bool) -> None:
    """Cron's call; `later`: as it runs once the killed push's lock and heartbeat ran out (the
    lock's TTL is Redis's, so it is brought on here rather than waited for)."""
    if later:
        rig.redis.pexpire(f"crm:push:{dest}", 1)
        time.sleep(0.05)
    with rig.app.app_context():
        assert push_all(now=time.time() + LATER if later else None) == 1


def test_a_push_killed_five_times_midway_leaves_hubspot_exact_with_each_record_once(rig: Rig) -> None:
    # given an account of a few hundred contacts, a HubSpot destination, and a slow HubSpot
    sync_everything(rig)
    dest = add_hubspot(rig)
    want_contacts, want_orders, _links = expected(rig)
    assert len(want_contacts) >= 300 and len(want_orders) >= 1000
    faults(rig, latency_ms=150)
    portal, rng = rig.sandbox.world.hubspot, random.Random(20)
    # when the Procfile's worker pushes and is killed with SIGKILL midway, five times
    for round_ in range(KILLS):
        worker = start_worker(rig)
        try:
            # killed after a few calls to HubSpot, while one is in flight (acted on, unanswered)
            target = portal.requests + rng.randint(4, 14)
            ask_for_a_push(rig, dest, later=round_ > 0)
            deadline = time.monotonic() + 120
            while portal.requests < target and time.monotonic() < deadline:
                time.sleep(0.01)
            assert portal.requests >= target, "the worker stopped calling HubSpot"
            time.sleep(rng.uniform(0.0, 0.14))
        finally:
            kill(worker)
        assert marks_left(rig) > 0, f"kill {round_ + 1} came after the push had finished"
    assert records_noted(rig) > 0  # the killed pushes got somewhere: what they settled stays
    # and a worker is then left to finish
    faults(rig, latency_ms=0)
    worker = start_worker(rig)
    try:
        ask_for_a_push(rig, dest, later=True)
        deadline = time.monotonic() + 300
        while (marks_left(rig) or rig.redis.exists(f"crm:push:{dest}")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marks_left(rig) == 0, "the push did not finish"
    finally:
        kill(worker)
    # then HubSpot holds exactly the account's contacts and orders, each once, field by field
    assert len(portal.records["contacts"]) == len(held(rig, "contacts")) == len(want_contacts)
    assert len(portal.records["orders"]) == len(held(rig, "orders")) == len(want_orders)
    assert_hubspot_matches(rig)
