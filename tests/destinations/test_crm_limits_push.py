"""A push keeps to each CRM's published limits: to Zoho CRM it sends a batch's calls in parallel,
narrowing when Zoho answers that the org's concurrency limit is reached, and finishes with every
record there once, field by field; when Zoho's credits or Salesforce's daily allocation are spent
it stops at once with a RetryLater that says so, the marks kept, and a later push finishes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from sandbox.server import SandboxServer
from sandbox.world import World
from tests.destinations.conftest import SIZES
from tests.destinations.helpers import live_views, marks_left, push_until_done, sync_everything
from tests.destinations.salesforce_rig import add_salesforce, the_org
from tests.destinations.test_salesforce_push import assert_org_matches
from tests.destinations.zoho_helpers import add_zoho, assert_zoho_matches, control, org
from tests.rig import Rig, build
from tests.sandbox.crm_rig import control as sf_control


@pytest.fixture
def rig(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Rig]:
    app_env |= {"CONNECTOR_SYNC_WRITE_RECORDS": "1000", "CONNECTOR_PUSH_BACKOFF_MS": "50"}
    yield from build(app_env, World(seed=31, sizes=SIZES), redis_url)


def assert_once_each(rig: Rig) -> None:
    people, orders = live_views(rig)
    zoho = org(rig)
    assert len(zoho.records["Contacts"]) == len(people) and len(zoho.records["Sales_Orders"]) == len(orders)


def test_a_zoho_push_goes_in_parallel_within_the_concurrency_limit_and_writes_each_record_once(
    rig: Rig,
) -> None:
    # given a Zoho destination, a backfilled account, and an org allowing 2 calls at once, slow ones
    dest = add_zoho(rig)
    sync_everything(rig)
    control(rig, "limits", {"concurrency": 2})
    control(rig, "faults", {"latency_ms": 150})
    # when pushed
    summaries = push_until_done(rig.app, dest, tries=3)
    # then it finished, two calls at a time (never more), told to wait and waiting
    assert summaries[-1].outcome == "done"
    assert org(rig).max_in_flight == 2 and org(rig).max_sub_in_flight == 2
    assert sum(s.pacing["retries"] for s in summaries) > 0
    # and Zoho holds every contact and order once, field by field, with nothing left waiting
    assert_zoho_matches(rig)
    assert_once_each(rig)
    assert not marks_left(rig)


def test_zoho_credits_spent_stop_the_push_with_its_marks_and_a_later_push_finishes(rig: Rig) -> None:
    dest = add_zoho(rig)
    sync_everything(rig)
    # given an org with 60 credits for the day (a first push here needs about 95)
    control(rig, "limits", {"daily": 60, "used": 0})
    # when pushed: it stops at once, saying the credits are spent, waiting for nothing
    stopped = push_until_done(rig.app, dest, tries=1)[-1]
    assert stopped.outcome == "retry" and "credits" in str(stopped.reason)
    assert stopped.pacing["waited_s"] == 0 and org(rig).used <= 60
    # and the marks of what Zoho did not take are kept
    assert marks_left(rig)
    # when the credits come back: the next push finishes, every record there once
    control(rig, "limits", {"daily": 100_000})
    assert push_until_done(rig.app, dest, tries=2)[-1].outcome == "done"
    assert_zoho_matches(rig)
    assert_once_each(rig)
    assert not marks_left(rig)


def test_salesforces_daily_allocation_spent_stops_the_push_at_once_with_its_marks(
    rig: Rig, org_server: SandboxServer
) -> None:
    dest = add_salesforce(rig, org_server)
    sync_everything(rig)
    # given an org whose day's allocation is spent (its reserve unknown to the client: a first call)
    sf_control(org_server, "salesforce", "limits", {"daily": 1000, "used": 1000})
    # when pushed: it stops at the first refusal, in Salesforce's words, without trying again
    stopped = push_until_done(rig.app, dest, tries=1)[-1]
    assert stopped.outcome == "retry" and "allocation" in str(stopped.reason)
    assert stopped.pacing["retries"] == 0 and stopped.pacing["waited_s"] == 0
    assert marks_left(rig) and the_org(org_server).counts() == {"contacts": 0, "orders": 0}
    # when a new day frees the allocation: the push finishes, the org holding exactly the account
    sf_control(org_server, "salesforce", "limits", {"used": 0})
    assert push_until_done(rig.app, dest, tries=2)[-1].outcome == "done"
    assert_org_matches(rig, org_server)
    assert not marks_left(rig)
