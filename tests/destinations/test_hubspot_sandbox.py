"""The sandbox's HubSpot answers HubSpot's own Python client (hubspot-api-client) as HubSpot
would: batch upsert by a unique property, reads, pages, errors in HubSpot's shape, the
rate-limit headers and a 429 over the window, a revoked token refused, a batch read by a unique
property, and an archive kept restorable where a GDPR delete keeps nothing."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    PublicGdprDeleteInput,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from hubspot.crm.contacts.exceptions import ApiException

from sandbox.hubspot.portal import HubRecord
from sandbox.server import SandboxServer


def client(sandbox: SandboxServer, token: str | None = None) -> HubSpot:
    """HubSpot's client as its README makes it, with the sandbox as its host (its `host` setting)."""
    return HubSpot(
        access_token=token or sandbox.world.hubspot.token, host=sandbox.url + "/hubspot", retry=None
    )


def make_unique_property(sandbox: SandboxServer) -> None:
    answer = requests.post(
        sandbox.url + "/hubspot/crm/v3/properties/contacts",
        json={
            "name": "shop_id",
            "label": "Shop id",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
            "hasUniqueValue": True,
        },
        headers={"Authorization": f"Bearer {sandbox.world.hubspot.token}"},
        timeout=10,
    )
    assert answer.status_code == 201


def test_hubspot_api_client_upserts_reads_and_pages_contacts(sandbox: SandboxServer) -> None:
    # given the sandbox's HubSpot with a unique property, and HubSpot's own client pointed at it
    make_unique_property(sandbox)
    api = client(sandbox)
    batch = BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[
            SimplePublicObjectBatchInputUpsert(
                id_property="shop_id", id="a1", properties={"email": "Ada@Example.com", "firstname": "Ada"}
            ),
            SimplePublicObjectBatchInputUpsert(
                id_property="shop_id", id="b2", properties={"email": "bo@example.com"}
            ),
        ]
    )
    # when it upserts twice (the second time changing a name) and reads back
    api.crm.contacts.batch_api.upsert(batch)
    batch.inputs[1].properties = {"email": "bo@example.com", "firstname": "Bo"}
    second = api.crm.contacts.batch_api.upsert(batch)
    page = api.crm.contacts.basic_api.get_page(limit=1, properties=["email", "firstname", "shop_id"])
    rest = api.crm.contacts.basic_api.get_page(
        limit=1, after=page.paging.next.after, properties=["firstname"]
    )
    # then there are two contacts, not four, with the values as HubSpot keeps them
    assert sorted(r.properties["firstname"] for r in second.results) == ["Ada", "Bo"]
    assert page.results[0].properties["email"] == "ada@example.com"
    assert page.results[0].properties["shop_id"] == "a1"
    assert rest.results[0].properties["firstname"] == "Bo" and rest.paging is None
    assert sandbox.world.hubspot.counts()["contacts"] == 2


def test_an_invalid_email_is_refused_in_hubspots_shape(sandbox: SandboxServer) -> None:
    # given a contact whose e-mail HubSpot would not take
    make_unique_property(sandbox)
    batch = BatchInputSimplePublicObjectBatchInputUpsert(
        inputs=[
            SimplePublicObjectBatchInputUpsert(
                id_property="shop_id", id="x", properties={"email": "not an email"}
            )
        ]
    )
    # when HubSpot's client sends it, then it raises with HubSpot's category and the property's message
    with pytest.raises(ApiException) as refused:
        client(sandbox).crm.contacts.batch_api.upsert(batch)
    assert refused.value.status == 400
    assert '"category":"VALIDATION_ERROR"' in refused.value.body
    assert "INVALID_EMAIL" in refused.value.body
    assert sandbox.world.hubspot.counts()["contacts"] == 0


def test_a_revoked_token_gets_401_and_the_window_a_429_with_its_headers(sandbox: SandboxServer) -> None:
    # given a window of two requests
    portal = sandbox.world.hubspot
    portal.max_per_window, portal.window_ms = 2, 60_000
    old = portal.token
    url = sandbox.url + "/hubspot/account-info/v3/details"
    headers = {"Authorization": f"Bearer {old}"}
    # when three requests are made, then the third is a 429 and every one says what is left
    first, second, third = (requests.get(url, headers=headers, timeout=10) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "1"
    assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "60000"
    assert third.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    # and when the token is rotated, HubSpot's client with the old one is refused as expired
    portal.max_per_window = 100
    portal.rotate_token()
    with pytest.raises(Exception) as refused:
        client(sandbox, old).crm.properties.core_api.get_all("contacts")
    assert getattr(refused.value, "status", None) == 401
    assert "EXPIRED_AUTHENTICATION" in str(getattr(refused.value, "body", ""))


def test_one_batch_naming_a_record_twice_creates_it_once(sandbox: SandboxServer) -> None:
    # given the sandbox's HubSpot with a unique property and one contact on it already
    make_unique_property(sandbox)
    api = client(sandbox)
    first = SimplePublicObjectBatchInputUpsert(id_property="shop_id", id="k1", properties={"firstname": "K"})
    api.crm.contacts.batch_api.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=[first]))
    # when one batch names that contact, then a new one twice (the index is built once a call)
    again = [
        SimplePublicObjectBatchInputUpsert(id_property="shop_id", id=i, properties={"lastname": name})
        for i, name in (("k1", "One"), ("n2", "Two"), ("n2", "Deux"))
    ]
    answer = api.crm.contacts.batch_api.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=again))
    # then the first is updated, the new one created once and then updated: two records in all
    ids = [r.id for r in answer.results]
    assert ids[1] == ids[2] and ids[0] != ids[1]
    records = sandbox.world.hubspot.records["contacts"]
    assert len(records) == 2
    assert records[ids[2]].properties["lastname"] == "Deux"
    assert records[ids[0]].properties["firstname"] == "K"


def _call(sandbox: SandboxServer, path: str, body: dict[str, object]) -> requests.Response:
    headers = {"Authorization": f"Bearer {sandbox.world.hubspot.token}"}
    return requests.post(sandbox.url + "/hubspot" + path, json=body, headers=headers, timeout=10)


def test_a_line_item_has_one_parent_order_and_no_negative_price(sandbox: SandboxServer) -> None:
    # given two orders and a line item with a unique line property
    answer = _call(
        sandbox,
        "/crm/v3/properties/line_items",
        {"name": "line_key", "type": "string", "groupName": "lineiteminformation", "hasUniqueValue": True},
    )
    assert answer.status_code == 201
    portal = sandbox.world.hubspot
    with portal.lock:
        orders = [portal.new_id() for _ in range(2)]
        for o in orders:
            portal.records["orders"][o] = HubRecord(o, {}, "", "")
    item: dict[str, Any] = {
        "idProperty": "line_key",
        "id": "l1",
        "properties": {"name": "Mug", "quantity": "2", "price": "4.5"},
    }
    made = _call(sandbox, "/crm/v3/objects/line_items/batch/upsert", {"inputs": [item]}).json()
    line = made["results"][0]["id"]
    # when it is associated with the first order, then with the second
    link = "/crm/v4/associations/orders/line_items/batch/associate/default"
    first = _call(sandbox, link, {"inputs": [{"from": {"id": orders[0]}, "to": {"id": line}}]})
    second = _call(sandbox, link, {"inputs": [{"from": {"id": orders[1]}, "to": {"id": line}}]})
    # then the first holds and the second is refused in HubSpot's shape
    assert first.status_code == 200 and first.json()["results"][0]["associationTypes"][0]["typeId"] == 513
    assert second.status_code == 400 and second.json()["category"] == "VALIDATION_ERROR"
    read = _call(
        sandbox, "/crm/v4/associations/orders/line_items/batch/read", {"inputs": [{"id": o} for o in orders]}
    )
    assert [(r["from"]["id"], [t["toObjectId"] for t in r["to"]]) for r in read.json()["results"]] == [
        (orders[0], [int(line)])
    ]
    # and a negative price, or a quantity that is no number, is refused and changes nothing
    for bad in ({"price": "-1"}, {"quantity": "two"}):
        refused = _call(
            sandbox,
            "/crm/v3/objects/line_items/batch/upsert",
            {"inputs": [item | {"properties": {**item["properties"], **bad}}]},
        )
        assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"
    assert portal.records["line_items"][line].properties["price"] == "4.5"


def test_hubspot_api_client_reads_by_a_unique_property_archives_and_gdpr_deletes(
    sandbox: SandboxServer,
) -> None:
    # given two contacts upserted by a unique property through HubSpot's own client
    make_unique_property(sandbox)
    api = client(sandbox)
    inputs = [
        SimplePublicObjectBatchInputUpsert(
            id_property="shop_id", id=key, properties={"email": f"{key}@example.com"}
        )
        for key in ("g1", "g2")
    ]
    api.crm.contacts.batch_api.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs))
    # when they are read back by that property (one value matching nothing)
    asked = BatchReadInputSimplePublicObjectId(
        id_property="shop_id",
        inputs=[SimplePublicObjectId(id=key) for key in ("g1", "g2", "nobody")],
        properties=["shop_id"],
        properties_with_history=[],
    )
    found = {r.properties["shop_id"]: r.id for r in api.crm.contacts.batch_api.read(asked).results}
    # then both are found, by HubSpot's ids
    assert set(found) == {"g1", "g2"}
    # and one archived is listed among the archived (restorable), the other GDPR-deleted is not
    api.crm.contacts.basic_api.archive(found["g1"])
    api.crm.contacts.basic_api.purge(PublicGdprDeleteInput(object_id=found["g2"]))
    archived = {r.id for r in api.crm.contacts.basic_api.get_page(archived=True).results}
    live = {r.id for r in api.crm.contacts.basic_api.get_page().results}
    assert archived == {found["g1"]} and not live & set(found.values())
    # and a GDPR delete of what is gone already is HubSpot's 404
    with pytest.raises(ApiException) as gone:
        api.crm.contacts.basic_api.purge(PublicGdprDeleteInput(object_id=found["g2"]))
    assert gone.value.status == 404
