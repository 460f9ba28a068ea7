"""A push survives its worker's death: the Procfile's worker pushes a few hundred contacts and
their orders to a slow CRM (HubSpot, Salesforce, Zoho) and is killed with SIGKILL mid-push five
times over (a batch the CRM took but whose answer never arrived included); restarted, it
finishes with the CRM holding exactly the account's contacts and orders, each once, every pushed
field equal."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import redis
from sqlalchemy import func, select

from connector.db import get_engine
from connector.db.operations import DestinationMark, DestinationRecord
from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.world import World
from sync.push import LOCK_S, push_all
from tests.destinations import salesforce_rig, zoho_helpers
from tests.destinations.helpers import add_hubspot, faults, held, live_views, sync_everything
from tests.destinations.test_push import assert_hubspot_matches
from tests.destinations.test_salesforce_push import assert_org_matches
from tests.destinations.test_salesforce_push import expected as salesforce_expected
from tests.rig import Rig, build
from tests.sync.test_workers import kill, start_worker

pytestmark = pytest.mark.slow
KILLS = 5
LATER = LOCK_S + 60  # seconds: past the killed push's lock and its job's heartbeat (90 s)


@dataclass
class Crm:
    """A destination connected on the rig's account, and its CRM as the test drives it."""

    dest: int
    calls: Callable[[], int]  # API calls the CRM has had
    slow: Callable[[int], None]  # each answer held this many ms after the call was acted on
    check: Callable[[], None]  # holds exactly the account's records, each once, field by field
    calls_per_kill: tuple[int, int]  # a kill comes this many calls into a push (a push makes ~60)


def hubspot(rig: Rig, request: pytest.FixtureRequest) -> Crm:
    portal = rig.sandbox.world.hubspot

    def check() -> None:
        people, orders = live_views(rig)
        assert len(portal.records["contacts"]) == len(held(rig, "contacts")) == len(people)
        assert len(portal.records["orders"]) == len(held(rig, "orders")) == len(orders)
        assert_hubspot_matches(rig)

    def slow(ms: int) -> None:
        faults(rig, latency_ms=ms)

    return Crm(add_hubspot(rig), lambda: portal.requests, slow, check, (4, 14))


def salesforce(rig: Rig, request: pytest.FixtureRequest) -> Crm:
    server: SandboxServer = request.getfixturevalue("org_server")
    org = salesforce_rig.the_org(server)

    def live(sobject: str) -> int:
        with org.lock:
            return sum(not r.deleted for r in org.records[sobject].values())

    def check() -> None:
        people, orders, _links = salesforce_expected(rig)
        assert live("Contact") == live("Account") == len(people)
        assert live("Order") == len(orders)
        assert_org_matches(rig, server)

    def slow(ms: int) -> None:
        salesforce_rig.faults(server, latency_ms=ms)

    dest = salesforce_rig.add_salesforce(rig, server)
    return Crm(dest, lambda: org.faults.calls, slow, check, (12, 28))  # prepare checks five objects


def zoho(rig: Rig, request: pytest.FixtureRequest) -> Crm:
    org = zoho_helpers.org(rig)

    def check() -> None:
        people, orders = live_views(rig)
        assert len(org.records["Contacts"]) == len(people)
        assert len(org.records["Sales_Orders"]) == len(orders)
        zoho_helpers.assert_zoho_matches(rig)

    def slow(ms: int) -> None:
        zoho_helpers.control(rig, "faults", {"latency_ms": ms})

    return Crm(zoho_helpers.add_zoho(rig), lambda: org.faults.calls, slow, check, (6, 18))


KINDS = {"hubspot": hubspot, "salesforce": salesforce, "zoho": zoho}


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


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_push_killed_five_times_midway_leaves_the_crm_exact_with_each_record_once(
    rig: Rig, request: pytest.FixtureRequest, kind: str
) -> None:
    # given an account of a few hundred contacts, a destination on it, and a slow CRM
    sync_everything(rig)
    crm = KINDS[kind](rig, request)
    people, orders = live_views(rig)
    assert len(people) >= 300 and len(orders) >= 1000
    crm.slow(150)
    rng = random.Random(20)
    # when the Procfile's worker pushes and is killed with SIGKILL midway, five times
    for round_ in range(KILLS):
        worker = start_worker(rig)
        try:
            # killed after a few calls to the CRM, while one is in flight (acted on, unanswered)
            target = crm.calls() + rng.randint(*crm.calls_per_kill)
            ask_for_a_push(rig, crm.dest, later=round_ > 0)
            deadline = time.monotonic() + 120
            while crm.calls() < target and time.monotonic() < deadline:
                time.sleep(0.01)
            assert crm.calls() >= target, f"the worker stopped calling {kind}"
            time.sleep(rng.uniform(0.0, 0.14))
        finally:
            kill(worker)
        assert marks_left(rig) > 0, f"kill {round_ + 1} came after the push had finished"
    assert records_noted(rig) > 0  # the killed pushes got somewhere: what they settled stays
    # and a worker is then left to finish
    crm.slow(0)
    worker = start_worker(rig)
    try:
        ask_for_a_push(rig, crm.dest, later=True)
        deadline = time.monotonic() + 300
        while (marks_left(rig) or rig.redis.exists(f"crm:push:{crm.dest}")) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marks_left(rig) == 0, "the push did not finish"
    finally:
        kill(worker)
    # then the CRM holds exactly the account's contacts and orders, each once, field by field
    crm.check()
