"""destinations/zoho/client.py against the sandbox's Zoho CRM: the grant at the org's data-center
accounts server (the api_domain it names is where calls go), upserts of any size in calls of 100
by a unique key with the refused record named, an expired token renewed, throttles (with their
Retry-After) and 5xx as RetryLater, a revoked grant as Reauthorize, deletes, opt-outs since a time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from connector.errors import Reauthorize, RetryLater
from destinations.zoho.client import ZohoClient
from sandbox.server import SandboxServer
from sandbox.world import World
from tests.sandbox.crm_rig import CRM_SIZES

KEY = "Connector_Id"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    running = SandboxServer(World(seed=17, sizes=CRM_SIZES, zoho_dc="in")).start()
    field = {
        "field_label": "Connector Id",
        "data_type": "text",
        "length": 64,
        "unique": {"casesensitive": False},
    }
    control(running, "fields", {"object": "Contacts", "fields": [field]})
    yield running
    running.stop()


def control(server: SandboxServer, what: str, body: dict[str, Any] | None = None) -> Any:
    return requests.post(f"{server.url}/_sandbox/crm/zoho/{what}", json=body or {}, timeout=10).json()


def client(server: SandboxServer, refresh_token: str | None = None) -> ZohoClient:
    z = server.world.manifest()["zoho"]
    return ZohoClient(
        z["accounts_url"], z["client_id"], z["client_secret"], refresh_token or z["refresh_token"]
    )


def people(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {KEY: f"p-{i}", "Last_Name": f"Person {i}", "Email": f"p{i}@example.com", "Email_Opt_Out": i % 4 == 0}
        for i in range(start, start + n)
    ]


def held(server: SandboxServer) -> dict[str, dict[str, Any]]:
    rows = requests.get(f"{server.url}/_sandbox/crm/zoho/records/Contacts", timeout=10).json()["records"]
    return {r[KEY]: r for r in rows}


def test_a_refused_grant_is_reauthorize_and_nothing_is_written(server: SandboxServer) -> None:
    with pytest.raises(Reauthorize):
        client(server, refresh_token="1000.nope").upsert("Contacts", KEY, people(2))
    assert held(server) == {}


def test_a_batch_of_250_goes_in_calls_of_100_and_the_refused_one_is_named(server: SandboxServer) -> None:
    # given 250 people, one without the Last_Name Zoho requires
    batch = people(250)
    batch[42]["Last_Name"] = None
    zoho = client(server)
    org = server.world.zoho
    assert org is not None
    used, calls = org.used, org.faults.calls
    # when they are upserted
    outcome = zoho.upsert("Contacts", KEY, batch)
    # then three calls were made at the data center's api_domain (1 credit per 10 records each:
    # 10 + 10 + 5), all but one saved field by field
    assert zoho.api_domain is not None and zoho.api_domain.endswith("/zoho/in/api")
    assert (org.faults.calls - calls, org.used - used) == (3, 25)
    assert outcome.refused == {"p-42": "required field not found: Last_Name"}
    stored = held(server)
    assert len(stored) == len(outcome.saved) == 249
    for sent in batch:
        if sent[KEY] != "p-42":
            row = stored[sent[KEY]]
            assert (row["Last_Name"], row["Email"], row["Email_Opt_Out"]) == (
                sent["Last_Name"],
                sent["Email"],
                sent["Email_Opt_Out"],
            )
    # and a second upsert updates in place
    again = zoho.upsert("Contacts", KEY, [batch[0] | {"Email": "new@example.com"}])
    assert again.saved == {"p-0": outcome.saved["p-0"]} and held(server)["p-0"]["Email"] == "new@example.com"


def test_an_expired_token_is_renewed_and_faults_become_actions(server: SandboxServer) -> None:
    zoho = client(server)
    zoho.upsert("Contacts", KEY, people(1))
    control(server, "expire")
    assert len(zoho.upsert("Contacts", KEY, people(1, start=1)).saved) == 1
    control(server, "faults", {"throttle_next": 1, "retry_after_s": 7})
    with pytest.raises(RetryLater) as throttled:
        zoho.upsert("Contacts", KEY, people(1, start=2))
    assert throttled.value.retry_after == 7.0
    control(server, "faults", {"fail_next": 1})
    with pytest.raises(RetryLater):
        zoho.upsert("Contacts", KEY, people(1, start=2))
    assert set(held(server)) == {"p-0", "p-1"}
    control(server, "revoke")
    control(server, "expire")
    with pytest.raises(Reauthorize):
        zoho.upsert("Contacts", KEY, people(1, start=2))


def test_deletes_and_opt_outs_since_a_time(server: SandboxServer) -> None:
    zoho = client(server)
    saved = zoho.upsert("Contacts", KEY, people(5, start=1)).saved  # p-4 is opted out
    since = datetime.now(UTC) - timedelta(seconds=2)
    time.sleep(1.1)
    control(server, "opt-out", {"email": "p2@example.com"})
    found = zoho.opted_out_since(since)
    assert sorted(o.email for o in found) == ["p2@example.com", "p4@example.com"]
    assert zoho.opted_out_since(datetime.now(UTC) + timedelta(minutes=1)) == []
    gone = zoho.delete("Contacts", [saved["p-1"], "12345"])
    assert set(gone.saved) == {saved["p-1"]} and set(gone.refused) == {"12345"}
    assert "p-1" not in held(server)
