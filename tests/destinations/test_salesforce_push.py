"""Done-when of issue 20 for Salesforce: after a backfill and a stream of changes pushed through
throttles, 5xx, an expired session and a revoked app, the org holds exactly the account's
contacts (each with its own Account) and orders (linked to both), every pushed field equal to
the connector's; an opt-out made in Salesforce reaches the ledger in one push; an erasure leaves
no trace there, not even in the recycle bin; a refused record is a dead letter in its words."""

from __future__ import annotations

from typing import Any

import pytest

from connector.errors import RetryLater
from destinations.salesforce.mapper import (
    ACCOUNT_ID_FIELD,
    CUSTOM,
    DEFAULT_MAPPING,
    ID_FIELD,
    SOBJECT,
    current_lines,
    values,
)
from destinations.salesforce.writer import ERASED_NAME, SalesforceSession
from sandbox.salesforce.values import parse_time
from sandbox.server import SandboxServer
from tests.destinations.helpers import (
    assert_optout_read,
    churn,
    destination_letters,
    edit_lines,
    forget,
    live_views,
    marks_left,
    push_until_done,
    pushed,
    receipt_result,
    score,
    someone_with_orders,
    spoil_an_email,
    sync_everything,
)
from tests.destinations.salesforce_rig import (
    add_salesforce,
    every_record,
    faults,
    held,
    the_org,
)
from tests.rig import Rig
from tests.sandbox.crm_rig import control, salesforce


def _plain(obj: str, crm: str, value: Any) -> Any:
    """A field's value as the org keeps it (times compared as instants, unset flags false)."""
    kind = CUSTOM[SOBJECT[obj]].get(crm, {}).get("type")
    if kind == "DateTime" and value:
        return parse_time(str(value))
    if kind == "Checkbox":
        return bool(value)
    return value


def expected(rig: Rig) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], dict[str, str]]:
    """From the store: each contact's and order's mapped fields, and each order's contact."""
    people, orders = live_views(rig)
    want = {
        obj: {
            str(i): {crm: _plain(obj, crm, v) for crm, v in values(obj, view, DEFAULT_MAPPING[obj]).items()}
            for i, view in found.items()
            if obj == "contacts" or view["contact_id"]
        }
        for obj, found in (("contacts", people), ("orders", orders))
    }
    links = {str(i): str(v["contact_id"]) for i, v in orders.items() if v["contact_id"]}
    return want["contacts"], want["orders"], links


def assert_org_matches(rig: Rig, server: SandboxServer) -> None:
    want_contacts, want_orders, links = expected(rig)
    contacts = held(server, "Contact", ID_FIELD["contacts"])
    orders = held(server, "Order", ID_FIELD["orders"])
    accounts = held(server, "Account", ACCOUNT_ID_FIELD)
    assert set(contacts) == set(want_contacts) and set(orders) == set(want_orders)
    for key, want in want_contacts.items():
        got = {crm: _plain("contacts", crm, contacts[key].get(crm)) for crm in want}
        assert got == want, key
        assert contacts[key]["AccountId"] == accounts[key]["Id"]
    for key, want in want_orders.items():
        got = {crm: _plain("orders", crm, orders[key].get(crm)) for crm in want}
        assert got == want, key
        person = contacts[links[key]]
        assert (orders[key]["AccountId"], orders[key]["BillToContactId"]) == (
            person["AccountId"],
            person["Id"],
        )
    assert set(accounts) >= set(contacts)
    assert_lines_match(rig, server)


def expected_lines(rig: Rig) -> dict[str, dict[str, Any]]:
    """Each current line of each order pushed (one with a contact), by its connector id: its
    order's id, SKU, title, quantity, unit price and the total Salesforce makes of them."""
    _people, orders = live_views(rig)
    return {
        str(line["id"]): {
            "order": str(i),
            "sku": line.get("sku") or None,
            "Description": line["title"],
            "Quantity": float(line["quantity"]),
            "UnitPrice": float(line.get("price") or 0),
            "TotalPrice": round(float(line["quantity"]) * float(line.get("price") or 0), 2),
        }
        for i, view in orders.items()
        if view["contact_id"]
        for line in current_lines(view)
    }


def held_lines(server: SandboxServer) -> dict[str, dict[str, Any]]:
    """The org's OrderItems by the connector's line id, as the expected lines read."""
    org = the_org(server)
    with org.lock:
        live = {n: {i: r for i, r in org.records[n].items() if not r.deleted} for n in org.records}
        out = {}
        for item in live["OrderItem"].values():
            order, entry = (
                live["Order"].get(item.fields["OrderId"]),
                live["PricebookEntry"][item.fields["PricebookEntryId"]],
            )
            goods = live["Product2"][entry.fields["Product2Id"]].fields
            out[str(item.fields.get(ID_FIELD["line_items"]))] = {
                "order": order.fields.get(ID_FIELD["orders"]) if order else None,
                "sku": goods.get("ProductCode"),
                **{f: item.fields.get(f) for f in ("Description", "Quantity", "UnitPrice", "TotalPrice")},
                "book": order.fields.get("Pricebook2Id") if order else None,
                "entry_book": entry.fields["Pricebook2Id"],
            }
        return out


def assert_lines_match(rig: Rig, server: SandboxServer) -> None:
    """The org holds exactly each pushed order's current lines, each on its order, priced from
    the Standard Price Book, its Product2 the line's SKU."""
    want, got = expected_lines(rig), held_lines(server)
    assert want and set(got) == set(want)
    org = the_org(server)
    with org.lock:
        assert sum(not r.deleted for r in org.records["OrderItem"].values()) == len(want)  # each once
    standard = the_org(server).standard_pricebook
    for key, line in want.items():
        assert {k: got[key][k] for k in line} == line, key
        assert got[key]["book"] == got[key]["entry_book"] == standard, key


def test_salesforce_holds_exactly_the_accounts_contacts_and_orders_through_faults(
    rig: Rig, org_server: SandboxServer
) -> None:
    # given a Salesforce destination on the account, then a backfill of the shop and the site
    dest = add_salesforce(rig, org_server)
    sync_everything(rig)
    # and a push through throttles and server errors
    faults(org_server, throttle_next=2, fail_next=2)
    first = push_until_done(rig.app, dest)
    assert first[-1].outcome == "done" and first[-1].pacing["retries"] >= 4
    assert_org_matches(rig, org_server)
    # and the hourly scoring's RFM, segments and predictions follow in the next push
    score(rig)
    assert push_until_done(rig.app, dest)[-1].pushed["contacts"] > 0
    assert_org_matches(rig, org_server)
    assert any(
        c.get("Connector_Segment__c") for c in held(org_server, "Contact", ID_FIELD["contacts"]).values()
    )
    # when the stores change, every session expires, and then the app's access is revoked
    churn(rig)
    control(org_server, "salesforce", "expire")
    control(org_server, "salesforce", "revoke")
    stopped = push_until_done(rig.app, dest, tries=1)
    # then the destination needs reconnecting and its marks are kept; reconnected, it matches again
    assert stopped[-1].outcome == "needs_reconnect" and marks_left(rig)
    the_org(org_server).revoked = False  # the admin re-admits the app
    control(org_server, "salesforce", "expire")
    faults(org_server, fail_next=1)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    assert_org_matches(rig, org_server)
    assert not marks_left(rig)


def test_an_optout_in_salesforce_reaches_the_ledger_in_one_push(rig: Rig, org_server: SandboxServer) -> None:
    # given a pushed account
    dest = pushed(rig, add_salesforce(rig, org_server))
    contacts = held(org_server, "Contact", ID_FIELD["contacts"])
    key, person = next(
        (k, c)
        for k, c in contacts.items()
        if c.get("Email") and c["Connector_Email_Consent__c"] == "subscribed"
    )
    # when the person is marked "Email Opt Out" in Salesforce
    assert control(org_server, "salesforce", "opt-out", {"email": person["Email"]})
    # then after one push the ledger holds the refusal, from Salesforce, at the time Salesforce says
    event = assert_optout_read(rig, dest, int(key), "salesforce")
    said = the_org(org_server).records["Contact"][person["Id"]].modified
    assert abs((event.occurred_at - said).total_seconds()) < 0.001
    # and the next push sends the connector's consent back, and reads nothing new
    again = push_until_done(rig.app, dest)[-1]
    assert again.optouts == 0
    assert (
        held(org_server, "Contact", ID_FIELD["contacts"])[key]["Connector_Email_Consent__c"] == "unsubscribed"
    )
    assert push_until_done(rig.app, dest)[-1].optouts == 0


def test_an_erasure_leaves_no_trace_in_salesforce_and_the_receipt_says_so(
    rig: Rig, org_server: SandboxServer
) -> None:
    # given a pushed account and one of its people who has orders
    dest = pushed(rig, add_salesforce(rig, org_server))
    contact_id, email, their_orders = someone_with_orders(rig)
    assert their_orders <= set(held(org_server, "Order", ID_FIELD["orders"]))
    # when they are erased, and the destination pushed
    receipt = forget(rig, contact_id)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then no record the org keeps, recycle bin included, is theirs or holds their e-mail
    for record in every_record(org_server):
        assert str(contact_id) not in (record.get(ID_FIELD["contacts"]), record.get(ACCOUNT_ID_FIELD))
        assert record.get(ID_FIELD["orders"]) not in their_orders
        assert all(email not in str(v) for v in record.values()), record
    # and no order line of theirs: every line the org keeps is a live order's current line
    assert_lines_match(rig, org_server)
    assert all(
        r.get("OrderId") in {o["Id"] for o in held(org_server, "Order", ID_FIELD["orders"]).values()}
        for r in every_record(org_server)
        if "PricebookEntryId" in r and "OrderId" in r
    )
    assert receipt_result(rig, receipt)["destinations"] == {str(dest): "deleted in salesforce"}
    # and everyone else is still there
    assert len(held(org_server, "Contact", ID_FIELD["contacts"])) == len(expected(rig)[0])


def test_an_erased_persons_account_holding_the_merchants_deal_is_let_go_not_deleted_with_it(
    rig: Rig, org_server: SandboxServer
) -> None:
    # given a pushed account, and the merchant's sales team opening a deal and a case on one
    # person's Account (Salesforce deletes both with the Account)
    dest = pushed(rig, add_salesforce(rig, org_server))
    contact_id, email, _ = someone_with_orders(rig)
    account = held(org_server, "Account", ACCOUNT_ID_FIELD)[str(contact_id)]["Id"]
    sf = salesforce(org_server)
    deal = {"Name": "Spring wholesale", "StageName": "Prospecting", "CloseDate": "2027-01-15"}
    deal_id = sf.Opportunity.create(deal | {"AccountId": account})["id"]  # type: ignore[operator]
    case_id = sf.Case.create({"Subject": "Bulk pricing", "AccountId": account})["id"]  # type: ignore[operator]
    # when the person is erased and the destination pushed
    receipt = forget(rig, contact_id)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then the deal and the case are still there, on an Account that no longer names the person
    # nor carries the connector's id; the person's Contact is gone for good
    org = the_org(org_server)
    with org.lock:
        kept = org.records["Account"][account]
        assert (kept.fields["Name"], kept.fields.get(ACCOUNT_ID_FIELD)) == (ERASED_NAME, None)
        assert not org.records["Opportunity"][deal_id].deleted and not org.records["Case"][case_id].deleted
    assert str(contact_id) not in held(org_server, "Contact", ID_FIELD["contacts"])
    assert all(email not in str(v) for r in every_record(org_server) for v in r.values())
    assert receipt_result(rig, receipt)["destinations"] == {str(dest): "deleted in salesforce"}


def test_an_erasure_whose_account_step_fails_after_the_records_went_leaves_no_name_behind(
    rig: Rig, org_server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a pushed account, and Salesforce failing the step after an erased person's records
    # are deleted (their Account can no longer be found through them on the next try)
    dest = pushed(rig, add_salesforce(rig, org_server))
    contact_id, email, _ = someone_with_orders(rig)
    theirs = held(org_server, "Account", ACCOUNT_ID_FIELD)[str(contact_id)]
    account, person = theirs["Id"], theirs["Name"]
    drop, failed = SalesforceSession._drop_empty, []

    def fail_once(session: SalesforceSession, ids: list[str], *, for_good: bool) -> None:
        if account in ids:  # the contact's step, then their orders' (the last way to it) fails
            failed.append(account)
            if len(failed) == 2:
                raise RetryLater("Salesforce answered 503")
        drop(session, ids, for_good=for_good)

    monkeypatch.setattr(SalesforceSession, "_drop_empty", fail_once)
    # when they are erased and the destination pushed until done
    forget(rig, contact_id)
    assert push_until_done(rig.app, dest)[-1].outcome == "done" and len(failed) >= 2
    # then whatever is left of their Account holds nothing of theirs: not their name
    org = the_org(org_server)
    with org.lock:
        left = org.records["Account"].get(account)
        assert left is None or left.fields["Name"] == ERASED_NAME
    assert person not in {r.get("Name") for r in every_record(org_server)}
    assert all(email not in str(v) for r in every_record(org_server) for v in r.values())


def test_a_record_salesforce_refuses_is_a_dead_letter_in_its_words_and_the_rest_go(
    rig: Rig, org_server: SandboxServer
) -> None:
    # given a contact whose e-mail Salesforce will not take
    dest = add_salesforce(rig, org_server)
    sync_everything(rig)
    bad, _good = spoil_an_email(rig)
    # when the account is pushed
    summary = push_until_done(rig.app, dest)[-1]
    # then that one is refused with Salesforce's reason, in words, and every other contact is there
    assert summary.outcome == "done" and summary.refused["contacts"] == 1
    mine = [letter for letter in destination_letters(rig) if letter.platform_id == bad]
    assert len(mine) == 1 and "Email: invalid email address: not an e-mail" in mine[0].reason
    contacts = held(org_server, "Contact", ID_FIELD["contacts"])
    assert str(bad) not in contacts and len(contacts) == len(expected(rig)[0]) - 1
    # and no Account was left behind for the refused person
    assert str(bad) not in held(org_server, "Account", ACCOUNT_ID_FIELD)


def test_an_order_whose_lines_change_ends_with_exactly_its_current_lines_in_salesforce(
    rig: Rig, org_server: SandboxServer
) -> None:
    # given a pushed account
    dest = pushed(rig, add_salesforce(rig, org_server))
    before = held_lines(org_server)
    # when one of its orders is refunded a line, edited (a line bought more, one removed, one added)
    order_id = str(edit_lines(rig, dest))
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then the org holds exactly that order's current lines, the other orders' untouched
    assert_lines_match(rig, org_server)
    after = held_lines(org_server)
    theirs = {k for k, v in after.items() if v["order"] == order_id}
    assert theirs and theirs == {k for k, v in expected_lines(rig).items() if v["order"] == order_id}
    assert theirs != {k for k, v in before.items() if v["order"] == order_id}
    assert {k: v for k, v in before.items() if v["order"] != order_id} == {
        k: v for k, v in after.items() if v["order"] != order_id
    }


def test_simple_salesforce_queries_an_orders_items_as_pushed(rig: Rig, org_server: SandboxServer) -> None:
    # given a pushed account, and simple-salesforce signed in to the org
    pushed(rig, add_salesforce(rig, org_server))
    sf = salesforce(org_server)
    want = expected_lines(rig)
    order_key = next(iter(want.values()))["order"]
    order = held(org_server, "Order", ID_FIELD["orders"])[order_key]["Id"]
    # when it queries the order's items with their product's code
    answer = sf.query_all(
        "SELECT Id, Quantity, UnitPrice, TotalPrice, Description, Connector_Line_Id__c, PricebookEntryId "
        f"FROM OrderItem WHERE OrderId = '{order}'"
    )
    # then they are exactly the order's current lines, as the connector has them
    got = {r["Connector_Line_Id__c"]: r for r in answer["records"]}
    theirs = {k: v for k, v in want.items() if v["order"] == order_key}
    assert set(got) == set(theirs)
    for key, line in theirs.items():
        assert {f: got[key][f] for f in ("Quantity", "UnitPrice", "TotalPrice", "Description")} == {
            f: line[f] for f in ("Quantity", "UnitPrice", "TotalPrice", "Description")
        }
