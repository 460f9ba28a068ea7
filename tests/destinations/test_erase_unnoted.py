"""An erasure reaches what a push sent but never noted: a batch the CRM took whose answer never
came (the worker killed, the push stopped past its grace, the line cut after the CRM acted)
leaves no id of its records in the connector, so the erasure finds the person there by the
connector's own key and deletes them; the receipt's "deleted" is then true. Salesforce's
person's Account, made before the push was cut short of their Contact, goes the same way. A
HubSpot contact erased is deleted for good (GDPR delete), not archived where it could be restored;
their orders, which HubSpot cannot delete for good, are emptied before they are archived."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from sqlalchemy import update

from connector.db import get_engine
from connector.db.operations import Destination
from connector.errors import FailPermanently, RetryLater
from destinations.salesforce.mapper import ACCOUNT_ID_FIELD
from destinations.salesforce.writer import SalesforceSession
from sync import push_batch
from sync.push import push
from tests.destinations import salesforce_rig, zoho_helpers
from tests.destinations.helpers import (
    destination_state,
    forget,
    held,
    make_property,
    push_until_done,
    receipt_result,
    someone_with_orders,
    sync_everything,
)
from tests.destinations.test_push_killed import KINDS
from tests.rig import Rig

LOST = "the CRM acted on the batch; its answer was lost on the way back"


def traces(rig: Rig, request: pytest.FixtureRequest, kind: str, person: int) -> list[Any]:
    """Whatever the CRM keeps that carries the person's connector id (deleted copies included
    where the CRM keeps them apart from their fields: HubSpot's archive, Salesforce's bin)."""
    ours = str(person)
    if kind == "hubspot":
        portal = rig.sandbox.world.hubspot
        kept = [*portal.records["contacts"].values(), *portal.archived["contacts"].values()]
        return [r.id for r in kept if r.properties.get("connector_contact_id") == ours]
    if kind == "salesforce":
        every = salesforce_rig.every_record(request.getfixturevalue("org_server"))
        keys = ("Connector_Contact_Id__c", ACCOUNT_ID_FIELD)
        return [r for r in every if any(str(r.get(k)) == ours for k in keys)]
    people = zoho_helpers.org(rig).records["Contacts"].values()
    return [r for r in people if str(r.values.get("Connector_Contact_Id")) == ours]


def lose_the_first_answer(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first contacts batch is sent and acted on, then its answer is lost: the people it
    sent, answered once it has been."""
    send, sent = push_batch.Run._send, list[int]()

    def send_then_lose(run: push_batch.Run, obj: str, batch: push_batch.Batch, *known: Any) -> Any:
        answer = send(run, obj, batch, *known)
        if obj == "contacts" and not sent:
            sent.extend(m.record_id for m in batch.marks)
            raise RetryLater(LOST)
        return answer

    monkeypatch.setattr(push_batch.Run, "_send", send_then_lose)
    return sent


def pushed_to(rig: Rig, request: pytest.FixtureRequest, kind: str) -> Any:
    """The account backfilled, and pushed in full to a destination of `kind`: its rig."""
    sync_everything(rig)
    crm = KINDS[kind](rig, request)
    assert push_until_done(rig.app, crm.dest)[-1].outcome == "done"
    return crm


def pushed_once(rig: Rig, dest: int) -> str:
    with rig.app.app_context():
        return push(rig.app, dest).outcome


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_erasure_deletes_a_person_whose_batch_the_crm_took_but_never_answered(
    rig: Rig, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # given a destination whose first batch of contacts the CRM acted on, its answer lost
    sync_everything(rig)
    crm = KINDS[kind](rig, request)
    with monkeypatch.context() as patched:
        sent = lose_the_first_answer(patched)
        assert pushed_once(rig, crm.dest) == "retry" and sent
    person = sent[0]
    assert traces(rig, request, kind, person), "the CRM did not take the batch"
    # when the person is erased and the destination pushed
    receipt = forget(rig, person)
    assert push_until_done(rig.app, crm.dest)[-1].outcome == "done"
    # then nothing of them is left there, and the receipt says so
    assert traces(rig, request, kind, person) == []
    assert receipt_result(rig, receipt)["destinations"] == {str(crm.dest): f"deleted in {kind}"}
    # and the CRM holds exactly the account's contacts and orders, field by field
    crm.check()


def test_a_salesforce_account_made_before_the_push_was_cut_short_of_its_contact_goes_too(
    rig: Rig, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Salesforce destination whose first push made each person's Account and was cut
    # off before their Contacts
    sync_everything(rig)
    crm = KINDS["salesforce"](rig, request)
    accounts: Callable[..., Any] = SalesforceSession._accounts

    def accounts_then_cut(session: SalesforceSession, *args: Any) -> Any:
        accounts(session, *args)
        raise RetryLater(LOST)

    with monkeypatch.context() as patched:
        patched.setattr(SalesforceSession, "_accounts", accounts_then_cut)
        assert pushed_once(rig, crm.dest) == "retry"
    org = salesforce_rig.the_org(request.getfixturevalue("org_server"))
    with org.lock:
        made = sorted(int(r.fields[ACCOUNT_ID_FIELD]) for r in org.records["Account"].values())
        assert made and not [r for r in org.records["Contact"].values() if not r.deleted]
    # when one of those people is erased and the destination pushed
    person = made[0]
    forget(rig, person)
    assert push_until_done(rig.app, crm.dest)[-1].outcome == "done"
    # then their Account is gone for good, and the org holds exactly the account's records
    assert traces(rig, request, "salesforce", person) == []
    crm.check()


def test_a_hubspot_contact_erased_is_not_kept_among_the_archived_nor_are_their_orders_details(
    rig: Rig, request: pytest.FixtureRequest
) -> None:
    # given the account pushed to HubSpot in full, orders carrying a property of the merchant's
    # own mapping too, and a person with orders there
    sync_everything(rig)
    crm = KINDS["hubspot"](rig, request)
    portal = rig.sandbox.world.hubspot
    make_property(rig, "ship_to_town", "orders")
    with get_engine(rig.app).begin() as conn:
        own = {"orders": {"ship_to_town": "shipping_city"}}
        conn.execute(update(Destination).where(Destination.id == crm.dest).values(mapping=own))
    assert push_until_done(rig.app, crm.dest)[-1].outcome == "done"
    assert any(r.properties.get("ship_to_town") for r in portal.records["orders"].values())
    person, _email, their_orders = someone_with_orders(rig)
    assert their_orders <= set(held(rig, "orders"))
    # when they are erased and the destination pushed
    forget(rig, person)
    assert push_until_done(rig.app, crm.dest)[-1].outcome == "done"
    # then HubSpot keeps nothing of them, not even an archived copy one could restore
    assert traces(rig, request, "hubspot", person) == []
    assert len([path for _method, path, _n in portal.log if path.endswith("/gdpr-delete")]) == 1
    # and their orders (HubSpot deletes no order for good) are archived with nothing but our id
    archived = [
        r for r in portal.archived["orders"].values() if r.properties["connector_order_id"] in their_orders
    ]
    assert len(archived) == len(their_orders) and not their_orders & set(held(rig, "orders"))
    for order in archived:
        assert {k for k, v in order.properties.items() if v} == {"connector_order_id"}, order.properties
    crm.check()


def test_a_zoho_person_just_sent_and_not_yet_searchable_is_still_found_and_erased(
    rig: Rig, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Zoho destination whose first batch Zoho took, its answer lost, and a search index
    # an hour behind (records are found by a COQL query of what Zoho holds, not by a search)
    sync_everything(rig)
    crm = KINDS["zoho"](rig, request)
    with monkeypatch.context() as patched:
        sent = lose_the_first_answer(patched)
        assert pushed_once(rig, crm.dest) == "retry" and sent
    zoho_helpers.control(rig, "limits", {"search_lag_s": 3600})
    # when one of them is erased and the destination pushed
    receipt = forget(rig, sent[0])
    assert push_until_done(rig.app, crm.dest)[-1].outcome == "done"
    # then they are gone from Zoho, and the receipt is true
    assert traces(rig, request, "zoho", sent[0]) == []
    assert receipt_result(rig, receipt)["destinations"] == {str(crm.dest): "deleted in zoho"}
    crm.check()


def hubspot_faults(rig: Rig, body: dict[str, Any]) -> None:
    answer = requests.post(f"{rig.sandbox.url}/hubspot/_control/faults", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


def test_a_hubspot_gdpr_delete_refused_is_not_receipted_while_the_contact_stays(
    rig: Rig, request: pytest.FixtureRequest
) -> None:
    # given a HubSpot destination holding everyone, and HubSpot refusing the next GDPR delete
    crm = pushed_to(rig, request, "hubspot")
    person = someone_with_orders(rig)[0]
    hubspot_faults(rig, {"statuses": [400], "on": "/gdpr-delete"})
    # when they are erased and the destination pushed, then the push fails in HubSpot's words
    # and the receipt does not say deleted
    receipt = forget(rig, person)
    with pytest.raises(FailPermanently, match="refused the GDPR delete"):
        pushed_once(rig, crm.dest)
    assert traces(rig, request, "hubspot", person)
    status, reason = destination_state(rig)
    assert status == "needs_attention" and "refused the GDPR delete" in str(reason)
    assert receipt_result(rig, receipt)["destinations"] != {str(crm.dest): "deleted in hubspot"}
    # and the next push erases them, and says so
    assert push_until_done(rig.app, crm.dest)[-1].outcome == "done"
    assert traces(rig, request, "hubspot", person) == []
    assert receipt_result(rig, receipt)["destinations"] == {str(crm.dest): "deleted in hubspot"}
    assert destination_state(rig) == ("active", None)
    crm.check()


def test_a_hubspot_gdpr_delete_refused_for_a_contact_gone_already_is_done(
    rig: Rig, request: pytest.FixtureRequest
) -> None:
    # given a HubSpot destination holding everyone, one of them deleted there by the merchant,
    # and HubSpot refusing the GDPR delete of what it no longer holds
    crm = pushed_to(rig, request, "hubspot")
    person = someone_with_orders(rig)[0]
    portal = rig.sandbox.world.hubspot
    assert portal is not None
    with portal.lock:
        (theirs,) = traces(rig, request, "hubspot", person)
        portal.drop_record("contacts", theirs, for_good=True)
    hubspot_faults(rig, {"statuses": [400], "on": "/gdpr-delete"})
    # when they are erased and the destination pushed, then the erasure is done and receipted
    receipt = forget(rig, person)
    assert push_until_done(rig.app, crm.dest)[-1].outcome == "done"
    assert receipt_result(rig, receipt)["destinations"] == {str(crm.dest): "deleted in hubspot"}
    crm.check()
