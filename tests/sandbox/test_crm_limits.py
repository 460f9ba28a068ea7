"""The sandbox's CRMs enforce their published limits, counted under concurrent calls (the server
is threaded): Zoho CRM's concurrency and sub-concurrency limits and its credits (1 per 10 records
written), with `X-API-CREDITS-REMAINING` once half are used; Salesforce's limit on concurrent
long-running requests beside its daily allocation, each in the CRM's own error shape."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from sandbox.server import SandboxServer
from sandbox.world import World
from tests.sandbox.crm_rig import CRM_SIZES, control, salesforce_token, trusting
from tests.sandbox.test_zoho import Api, contact


@pytest.fixture
def zoho_server() -> Iterator[SandboxServer]:
    server = SandboxServer(World(seed=5, sizes=CRM_SIZES, zoho_dc="eu")).start()
    yield server
    server.stop()


@pytest.fixture
def org_server() -> Iterator[SandboxServer]:
    server = SandboxServer(World(seed=11, sizes=CRM_SIZES), tls=True).start()
    yield server
    server.stop()


def zoho_control(server: SandboxServer, what: str, body: dict[str, Any] | None = None) -> Any:
    url = f"{server.url}/_sandbox/crm/zoho" + (f"/{what}" if what else "")
    answer = requests.post(url, json=body or {}, timeout=10) if what else requests.get(url, timeout=10)
    return answer.json()


def upsert(api: Api, start: int, n: int) -> requests.Response:
    body = {"data": [contact(i) for i in range(start, start + n)], "duplicate_check_fields": ["Email"]}
    return api.call("POST", "Contacts/upsert", json=body)


def test_zoho_counts_heavy_writes_against_the_sub_concurrency_limit(zoho_server: SandboxServer) -> None:
    api = Api(zoho_server)
    # given an org allowing 20 calls at once but 2 heavy ones, each answer held 400 ms
    zoho_control(zoho_server, "limits", {"sub_concurrency": 2})
    zoho_control(zoho_server, "faults", {"latency_ms": 400})
    # when 5 upserts of 11 records and 5 of 10 are made at once
    with ThreadPoolExecutor(10) as pool:
        heavy = [pool.submit(upsert, api, 100 * n, 11) for n in range(5)]
        light = [pool.submit(upsert, api, 100 * n + 50, 10) for n in range(5)]
        heavy_answers = [f.result() for f in heavy]
        light_answers = [f.result() for f in light]
    # then no more than 2 heavy writes ran together; the others were refused in Zoho's shape
    assert all(a.status_code == 200 for a in light_answers)
    codes = sorted(a.status_code for a in heavy_answers)
    assert codes.count(200) >= 2 and 429 in codes
    refused = next(a for a in heavy_answers if a.status_code == 429).json()
    assert refused["code"] == "TOO_MANY_REQUESTS" and "sub-concurrency" in refused["message"]
    state = zoho_control(zoho_server, "")
    assert state["max_sub_in_flight"] == 2 and state["max_in_flight"] >= 5


def test_zoho_charges_a_credit_per_ten_records_and_says_what_is_left_past_half(
    zoho_server: SandboxServer,
) -> None:
    api = Api(zoho_server)
    zoho_control(zoho_server, "limits", {"daily": 40, "used": 0})
    # when 100 records are upserted: 10 credits, and under half used, no header
    first = upsert(api, 0, 100)
    assert first.status_code == 200 and "X-API-CREDITS-REMAINING" not in first.headers
    assert zoho_control(zoho_server, "")["used"] == 10
    # when 15 more (2 credits) and a read (1): 13 of 40 used; then 15 more: 15 of 40
    assert upsert(api, 100, 15).status_code == 200
    assert api.call("GET", "Contacts", params={"fields": "Email"}).status_code == 200
    assert "X-API-CREDITS-REMAINING" not in upsert(api, 200, 15).headers
    # when the next upsert of 100 takes the org past half: the header says what is left
    past = upsert(api, 300, 100)
    assert past.status_code == 200 and past.headers["X-API-CREDITS-REMAINING"] == "15"
    # when a call would cost more than is left: refused, nothing written, the credits kept
    zoho_control(zoho_server, "limits", {"used": 35})
    spent = upsert(api, 400, 100)
    assert spent.status_code == 429 and spent.json()["code"] == "TOO_MANY_REQUESTS"
    assert spent.headers["X-API-CREDITS-REMAINING"] == "5"
    assert zoho_control(zoho_server, "")["used"] == 35
    assert zoho_control(zoho_server, "")["counts"]["contacts"] == 230


def salesforce_call(server: SandboxServer, token: dict[str, Any]) -> requests.Response:
    return trusting(server).get(
        token["instance_url"] + "/services/data/v62.0/query",
        params={"q": "SELECT COUNT() FROM Contact"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )


def test_salesforce_refuses_new_requests_while_long_running_ones_are_at_the_limit(
    org_server: SandboxServer,
) -> None:
    token = salesforce_token(org_server)
    # given an org allowing 2 requests running 200 ms or longer, each answer held 1.2 s
    control(org_server, "salesforce", "limits", {"concurrent_long": 2, "long_running_ms": 200})
    control(org_server, "salesforce", "faults", {"latency_ms": 1200})
    # when 3 slow calls are under way for longer than that
    with ThreadPoolExecutor(3) as pool:
        slow = [pool.submit(salesforce_call, org_server, token) for _ in range(3)]
        time.sleep(0.6)
        during = salesforce_call(org_server, token)
        slow_answers = [f.result() for f in slow]
    # then a new call is refused with Salesforce's error and the usage header; the slow ones end well
    assert all(a.status_code == 200 for a in slow_answers)
    assert during.status_code == 403 and "Sforce-Limit-Info" in during.headers
    assert during.json() == [
        {
            "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
            "fields": [],
        }
    ]
    assert control(org_server, "salesforce", "")["max_long_running"] == 3
    # and once they ended, calls go through again (short ones are never limited)
    control(org_server, "salesforce", "faults", {})
    assert salesforce_call(org_server, token).status_code == 200


def test_salesforce_counts_each_call_once_under_threads(org_server: SandboxServer) -> None:
    token = salesforce_token(org_server)
    used = control(org_server, "salesforce", "")["used"]
    barrier = threading.Barrier(8)

    def call(_: int) -> int:
        barrier.wait()
        return salesforce_call(org_server, token).status_code

    # when 40 calls come 8 at a time
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(call, range(8)))
        codes += list(pool.map(lambda _: salesforce_call(org_server, token).status_code, range(32)))
    # then each was counted once, and the last answer's header says so
    assert codes == [200] * 40
    after = control(org_server, "salesforce", "")
    assert after["used"] - used == 40 and after["max_long_running"] == 0
    header = salesforce_call(org_server, token).headers["Sforce-Limit-Info"]
    assert header == f"api-usage={used + 41}/100000"
