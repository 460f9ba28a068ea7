"""Done-when of issue 20 for HubSpot: after a backfill and a stream of changes pushed through
429s, 5xx and a revoked token, HubSpot holds exactly the account's contacts and orders with
every pushed field equal to the connector's; an opt-out made in HubSpot reaches the ledger in
one push; an erasure leaves no trace there; a refused record is a dead letter, the rest go."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.line_items import BatchReadInputSimplePublicObjectId, SimplePublicObjectId
from sqlalchemy import select, update

from connector.db import get_engine
from connector.db.models import Contact
from connector.db.operations import DeadLetter
from connector.errors import BadInput
from destinations.hubspot.mapper import DEFAULT_MAPPING, as_text, current_lines
from sync.retry import retry
from tests.destinations.helpers import (
    add_hubspot,
    assert_optout_read,
    churn,
    destination_letters,
    edit_lines,
    faults,
    forget,
    held,
    live_views,
    marks_left,
    push_until_done,
    pushed,
    receipt_result,
    reconnect,
    score,
    someone_with_orders,
    spoil_an_email,
    sync_everything,
)
from tests.rig import Rig


def expected(rig: Rig) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]], set[tuple[str, str]]]:
    """What HubSpot should hold, from the store: each field mapped, as text; and the links."""
    people, orders = live_views(rig)
    want = {
        obj: {
            str(i): {crm: as_text(v.get(ours)) for crm, ours in DEFAULT_MAPPING[obj].items()}
            for i, v in found.items()
        }
        for obj, found in (("contacts", people), ("orders", orders))
    }
    links = {(str(i), str(v["contact_id"])) for i, v in orders.items() if v["contact_id"]}
    return want["contacts"], want["orders"], links


def assert_hubspot_matches(rig: Rig) -> None:
    want_contacts, want_orders, links = expected(rig)
    contacts, orders = held(rig, "contacts"), held(rig, "orders")
    assert set(contacts) == set(want_contacts)
    assert set(orders) == set(want_orders)
    for key, want in want_contacts.items():
        got = {crm: contacts[key].get(crm, "") for crm in want}
        assert got == {**want, "email": want["email"].lower()}, key
    for key, want in want_orders.items():
        assert {crm: orders[key].get(crm, "") for crm in want} == want, key
    by_hubspot_id = {c["hs_object_id"]: k for k, c in contacts.items()}
    order_ids = {o["hs_object_id"]: k for k, o in orders.items()}
    pairs = {(order_ids[o], by_hubspot_id[c]) for o, c in rig.sandbox.world.hubspot.associations}
    assert pairs == links
    assert_lines_match(rig)


def expected_lines(rig: Rig) -> dict[str, tuple[str, dict[str, str]]]:
    """Each current line of each live order, by its connector id: its order's id and properties."""
    _people, orders = live_views(rig)
    mapping = DEFAULT_MAPPING["line_items"]
    return {
        str(line["id"]): (str(i), {crm: as_text(line.get(ours)) for crm, ours in mapping.items()})
        for i, view in orders.items()
        for line in current_lines(view)
    }


def held_lines(rig: Rig) -> dict[str, tuple[str | None, dict[str, str]]]:
    """HubSpot's line items by the connector's line id: the connector id of the order each is
    associated with (None: no parent), and their properties."""
    portal = rig.sandbox.world.hubspot
    order_of = {r.id: r.properties["connector_order_id"] for r in portal.records["orders"].values()}
    return {
        r.properties["connector_line_id"]: (order_of.get(portal.parents.get(r.id, "")), r.properties)
        for r in portal.records["line_items"].values()
    }


def assert_lines_match(rig: Rig) -> None:
    """HubSpot holds exactly each order's current lines (name, SKU, quantity, unit price, total),
    each line item associated with its own order; nothing else."""
    want, got = expected_lines(rig), held_lines(rig)
    assert want and set(got) == set(want)
    assert len(rig.sandbox.world.hubspot.records["line_items"]) == len(want)  # each line once
    for key, (order, props) in want.items():
        assert got[key][0] == order, key
        assert {crm: got[key][1].get(crm, "") for crm in props} == props, key


def test_hubspot_holds_exactly_the_accounts_contacts_and_orders_through_faults(rig: Rig) -> None:
    # given a HubSpot destination on the account, then a backfill of the shop and the site
    dest = add_hubspot(rig)
    sync_everything(rig)
    # and a push through 429s and 5xx
    faults(rig, statuses=[429, 503, 429, 502, 500])
    first = push_until_done(rig.app, dest)
    assert first[-1].outcome == "done" and first[-1].pacing["retries"] >= 5
    assert_hubspot_matches(rig)
    # and the hourly scoring's RFM, segments and predictions follow in the next push
    score(rig)
    assert push_until_done(rig.app, dest)[-1].pushed["contacts"] > 0
    assert_hubspot_matches(rig)
    assert any(c.get("connector_segment") for c in held(rig, "contacts").values())
    # when the stores change (new, updated and deleted customers and orders) and the token is revoked
    churn(rig)
    faults(rig, rotate_token=True)
    stopped = push_until_done(rig.app, dest, tries=1)
    # then the destination needs reconnecting, and nothing was lost: once reconnected it matches again
    assert stopped[-1].outcome == "needs_reconnect" and marks_left(rig)
    reconnect(rig, dest)
    faults(rig, statuses=[429, 503])
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    assert_hubspot_matches(rig)
    assert not marks_left(rig)


def test_an_optout_in_hubspot_reaches_the_ledger_in_one_push(rig: Rig) -> None:
    # given a pushed account
    dest = pushed(rig, add_hubspot(rig))
    person = next(c for c in held(rig, "contacts").values() if c.get("email"))
    contact_id = int(person["connector_contact_id"])
    # when the person unsubscribes from e-mail in HubSpot
    answer = requests.post(
        rig.sandbox.url + "/hubspot/communication-preferences/v3/unsubscribe",
        json={"emailAddress": person["email"], "subscriptionId": "1"},
        headers={"Authorization": f"Bearer {rig.sandbox.world.hubspot.token}"},
        timeout=10,
    )
    assert answer.status_code == 200
    # then after one push the ledger holds the refusal, from HubSpot, at the time HubSpot says
    event = assert_optout_read(rig, dest, contact_id, "hubspot")
    said = rig.sandbox.world.hubspot.records["contacts"][person["hs_object_id"]].history["hs_email_optout"][
        -1
    ]
    assert event.occurred_at == datetime.fromisoformat(said["timestamp"].replace("Z", "+00:00"))
    # and the next push sends the connector's consent back, and reads nothing new
    again = push_until_done(rig.app, dest)[-1]
    assert again.optouts == 0
    assert held(rig, "contacts")[str(contact_id)]["connector_email_consent"] == "unsubscribed"


def test_an_erasure_leaves_no_trace_in_hubspot_and_the_receipt_says_so(rig: Rig) -> None:
    # given a pushed account and one of its people who has orders
    dest = pushed(rig, add_hubspot(rig))
    contact_id, email, their_orders = someone_with_orders(rig)
    # when they are erased, and the destination pushed
    receipt = forget(rig, contact_id)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then HubSpot has nothing of them: no contact, no order, nothing with their e-mail
    portal = rig.sandbox.world.hubspot
    assert str(contact_id) not in held(rig, "contacts")
    assert email.lower() not in {r.properties.get("email") for r in portal.records["contacts"].values()}
    assert their_orders and not their_orders & set(held(rig, "orders"))
    # and no line item of their orders, nor one without its order
    assert_lines_match(rig)
    assert all(order is not None for order, _props in held_lines(rig).values())
    assert receipt_result(rig, receipt)["destinations"] == {str(dest): "deleted in hubspot"}


def test_a_record_hubspot_refuses_is_a_dead_letter_in_its_words_and_the_rest_go(rig: Rig) -> None:
    # given a contact whose e-mail HubSpot will not take
    dest = add_hubspot(rig)
    sync_everything(rig)
    bad, _good = spoil_an_email(rig)
    # when the account is pushed
    summary = push_until_done(rig.app, dest)[-1]
    # then that one is refused with HubSpot's reason, in words, and every other contact is there
    assert summary.outcome == "done" and summary.refused["contacts"] == 1
    [letter] = destination_letters(rig)
    assert letter.platform_id == bad
    assert "Email address not an e-mail is invalid" in letter.reason
    assert str(bad) not in held(rig, "contacts")
    assert len(held(rig, "contacts")) == len(expected(rig)[0]) - 1


def test_a_refused_record_retried_after_its_fix_is_pushed_and_its_letter_resolved(rig: Rig) -> None:
    # given a contact HubSpot refused (its e-mail), then the e-mail put right
    dest = add_hubspot(rig)
    sync_everything(rig)
    bad, good = spoil_an_email(rig)
    push_until_done(rig.app, dest)
    with get_engine(rig.app).begin() as conn:
        conn.execute(update(Contact).where(Contact.id == bad).values(email=good))
    [row] = destination_letters(rig)
    letter = row.id
    # when the merchant retries the letter (another account cannot) and the destination is pushed
    with pytest.raises(BadInput):
        retry(rig.app, letter, account_id=999)
    assert retry(rig.app, letter)["outcome"] == "the record was marked to be pushed again"
    assert push_until_done(rig.app, dest)[-1].pushed["contacts"] == 1
    # then HubSpot has the contact, and the letter is resolved
    assert held(rig, "contacts")[str(bad)]["email"] == good.lower()
    with get_engine(rig.app).connect() as conn:
        assert (
            conn.execute(select(DeadLetter.resolved_at).where(DeadLetter.id == letter)).scalar_one()
            is not None
        )


def test_an_order_whose_lines_change_ends_with_exactly_its_current_lines_in_hubspot(rig: Rig) -> None:
    # given a pushed account
    dest = pushed(rig, add_hubspot(rig))
    before = held_lines(rig)
    # when one of its orders is refunded a line, edited (a line bought more, one removed, one added)
    order_id = edit_lines(rig, dest)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then HubSpot holds exactly that order's current lines, the others untouched
    assert_lines_match(rig)
    after = held_lines(rig)
    theirs = {k for k, (order, _p) in after.items() if order == str(order_id)}
    assert theirs and theirs != {k for k, (order, _p) in before.items() if order == str(order_id)}
    assert theirs == {k for k, (order, _p) in expected_lines(rig).items() if order == str(order_id)}
    assert {k: v for k, v in before.items() if v[0] != str(order_id)} == {
        k: v for k, v in after.items() if v[0] != str(order_id)
    }
    # and no line item is left without its order
    assert len(rig.sandbox.world.hubspot.records["line_items"]) == len(after)


def test_hubspots_own_client_reads_an_orders_line_items_as_pushed(rig: Rig) -> None:
    # given a pushed account, and HubSpot's own client (hubspot-api-client) pointed at the sandbox
    pushed(rig, add_hubspot(rig))
    api = HubSpot(access_token=rig.sandbox.world.hubspot.token, host=rig.sandbox.url + "/hubspot", retry=None)
    want = expected_lines(rig)
    order_key, _props = next(iter(want.values()))
    order = held(rig, "orders")[order_key]["hs_object_id"]
    # when it lists the order's line items (v4 associations) and reads them (v3 batch read)
    page = api.crm.associations.v4.basic_api.get_page("orders", order, "line_items")
    batch = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=str(a.to_object_id)) for a in page.results],
        properties=list(DEFAULT_MAPPING["line_items"]),
    )
    read = api.crm.line_items.batch_api.read(batch)
    # then it finds exactly the order's lines, each with its properties as the connector has them
    theirs = {k: props for k, (o, props) in want.items() if o == order_key}
    got = {r.properties["connector_line_id"]: r.properties for r in read.results}
    assert set(got) == set(theirs)
    for key, props in theirs.items():
        assert {crm: got[key].get(crm) or "" for crm in props} == props
    assert {t.type_id for a in page.results for t in a.association_types} == {513}
