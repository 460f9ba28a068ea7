"""The sandbox's HubSpot CRM search answers HubSpot's own client (hubspot-api-client's
`crm.contacts.search_api.do_search`) as HubSpot would: filter groups, sorts, `after` pages with
the total, at most 200 a page, nothing past the 10,000th result, its own per-second limit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import requests
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
)
from hubspot.crm.contacts.exceptions import ApiException

from sandbox.hubspot.portal import HubRecord, stamp
from sandbox.server import SandboxServer
from tests.destinations.test_hubspot_sandbox import client, make_unique_property


def search(sandbox: SandboxServer, body: dict[str, Any]) -> requests.Response:
    return requests.post(
        sandbox.url + "/hubspot/crm/v3/objects/contacts/search",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.world.hubspot.token}"},
        timeout=30,
    )


def people(sandbox: SandboxServer) -> dict[str, str]:
    """Five contacts by shop_id (a1…a5), the 2nd and 4th opted out; their HubSpot ids."""
    make_unique_property(sandbox)
    api = client(sandbox)
    inputs = [
        SimplePublicObjectBatchInputUpsert(
            id_property="shop_id",
            id=f"a{n}",
            properties={
                "email": f"p{n}@example.com",
                "city": ["Lyon", "Oslo", "Lima"][n % 3],
                "hs_email_optout": "true" if n % 2 == 0 else "false",
            },
        )
        for n in range(1, 6)
    ]
    answer = api.crm.contacts.batch_api.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs))
    return {r.properties["shop_id"]: r.id for r in answer.results}


def test_hubspot_api_client_searches_with_filters_sorts_and_pages(sandbox: SandboxServer) -> None:
    # given five contacts, two opted out, and HubSpot's own client
    ids = people(sandbox)
    api = client(sandbox)
    opted = FilterGroup(
        filters=[
            Filter(property_name="hs_email_optout", operator="EQ", value="true"),
            Filter(property_name="shop_id", operator="HAS_PROPERTY"),
        ]
    )
    # when it searches for the opted-out ones, newest id first, one a page
    first = api.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[opted], sorts=["-hs_object_id"], properties=["shop_id"], limit=1
        )
    )
    second = api.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[opted],
            sorts=["-hs_object_id"],
            properties=["shop_id"],
            limit=1,
            after=first.paging.next.after,
        )
    )
    # then the total is two, the pages come in that order, and the last page says no more
    assert first.total == second.total == 2
    assert [first.results[0].id, second.results[0].id] == [ids["a4"], ids["a2"]]
    assert first.results[0].properties["shop_id"] == "a4" and second.paging is None
    # and groups are ORed, filters within one ANDed: IN, NEQ and an id range
    either = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="city", operator="IN", values=["lima", "Oslo"])]),
            FilterGroup(
                filters=[
                    Filter(property_name="hs_object_id", operator="GTE", value=ids["a5"]),
                    Filter(property_name="email", operator="NEQ", value="nobody@example.com"),
                ]
            ),
        ],
        sorts=["hs_object_id"],
        limit=200,
    )
    found = api.crm.contacts.search_api.do_search(either)
    assert [r.id for r in found.results] == [ids[k] for k in ("a1", "a2", "a4", "a5")]


def test_a_search_by_lastmodifieddate_finds_only_contacts_changed_since(sandbox: SandboxServer) -> None:
    # given five contacts, then one of them opting out later in HubSpot
    ids = people(sandbox)
    portal = sandbox.world.hubspot
    before = "2026-01-01T00:00:00.000Z"
    for each in portal.records["contacts"].values():
        each.updated_at = before  # all five last changed then
    record = portal.records["contacts"][ids["a3"]]
    answer = requests.post(
        sandbox.url + "/hubspot/communication-preferences/v3/unsubscribe",
        json={"emailAddress": "p3@example.com", "subscriptionId": "1"},
        headers={"Authorization": f"Bearer {portal.token}"},
        timeout=10,
    )
    assert answer.status_code == 200 and record.updated_at > before
    # when the opted-out contacts modified after `before` are searched (epoch ms, as HubSpot takes)
    millis = _millis(before) + 1
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "hs_email_optout", "operator": "EQ", "value": "true"},
                    {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(millis)},
                ]
            }
        ],
        "limit": 200,
    }
    found = search(sandbox, body).json()
    # then only the one just changed comes back, with HubSpot's default contact properties
    assert [r["id"] for r in found["results"]] == [ids["a3"]] and found["total"] == 1
    assert found["results"][0]["properties"]["lastmodifieddate"] == record.updated_at
    assert {"createdate", "email", "lastmodifieddate", "hs_object_id"} <= set(
        found["results"][0]["properties"]
    )


def _millis(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def test_no_page_past_the_10000th_result_and_none_over_200(sandbox: SandboxServer) -> None:
    # given 10,050 contacts
    portal = sandbox.world.hubspot
    now = stamp()
    for n in range(10_050):
        portal.add_record("contacts", HubRecord(portal.new_id(), {"email": f"x{n}@example.com"}, now, now))
    everyone = {"sorts": ["hs_object_id"], "limit": 200}
    # when pages are asked up to the cap, past it, and too large
    last_allowed = search(sandbox, {**everyone, "after": "9800"})
    past = search(sandbox, {**everyone, "after": "9900"})
    too_large = search(sandbox, {"limit": 201})
    # then the page ending at the 10,000th result is answered, the one after it and one of 201 are not
    assert last_allowed.status_code == 200 and len(last_allowed.json()["results"]) == 200
    assert last_allowed.json()["total"] == 10_050
    assert past.status_code == 400 and past.json()["category"] == "VALIDATION_ERROR"
    assert too_large.status_code == 400
    # and the rest is reached by asking again past the last id seen
    tail = last_allowed.json()["results"][-1]["id"]
    rest = search(
        sandbox,
        {
            **everyone,
            "filterGroups": [
                {"filters": [{"propertyName": "hs_object_id", "operator": "GT", "value": tail}]}
            ],
        },
    )
    assert rest.status_code == 200 and rest.json()["total"] == 50


def past_id(last: str) -> dict[str, str]:
    return {"propertyName": "hs_object_id", "operator": "GT", "value": last}


def test_searches_over_their_own_limit_get_a_429_in_hubspots_shape(sandbox: SandboxServer) -> None:
    # given contacts, and a filter HubSpot's search does not take: a 400
    people(sandbox)
    bad = search(sandbox, {"filterGroups": [{"filters": [{"propertyName": "city", "operator": "SOON"}]}]})
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"
    # and a search limit of three a minute (that one counted)
    requests.post(
        sandbox.url + "/hubspot/_control/faults",
        json={"search_per_second": 3, "search_window_ms": 60_000},
        timeout=10,
    )
    # when HubSpot's client searches three times, then the third is refused with HubSpot's 429
    api = client(sandbox)
    for _ in range(2):
        api.crm.contacts.search_api.do_search(PublicObjectSearchRequest(limit=1))
    with pytest.raises(ApiException) as refused:
        api.crm.contacts.search_api.do_search(PublicObjectSearchRequest(limit=1))
    assert refused.value.status == 429
    assert '"category":"RATE_LIMITS"' in refused.value.body
