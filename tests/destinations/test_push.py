"""Done-when of issue 20 for HubSpot: after a backfill and a stream of changes pushed through
429s, 5xx and a revoked token, HubSpot holds exactly the account's contacts and orders with
every pushed field equal to the connector's; an opt-out made in HubSpot reaches the ledger in
one push; an erasure leaves no trace there; a refused record is a dead letter, the rest go."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from sqlalchemy import select, update

from connector.crm import consent, destination_views, insights, privacy
from connector.db import get_engine
from connector.db.models import Account, Contact, Order, Store
from connector.db.operations import DeadLetter, DestinationMark, PrivacyRequest
from connector.errors import BadInput
from destinations.hubspot.mapper import DEFAULT_MAPPING, as_text
from sync.retry import retry
from tests.destinations.helpers import add_hubspot, faults, held, push_until_done, reconnect, sync_everything
from tests.rig import Rig


def expected(rig: Rig) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]], set[tuple[str, str]]]:
    """What HubSpot should hold, from the store: each field mapped, as text; and the links."""
    with get_engine(rig.app).connect() as conn:
        account = conn.execute(select(Account.id).where(Account.name == "test")).scalar_one()
        ids = list(
            conn.execute(
                select(Contact.id).where(Contact.account_id == account, Contact.merged_into_id.is_(None))
            ).scalars()
        )
        order_ids = list(
            conn.execute(
                select(Order.id)
                .join(Store, Store.id == Order.store_id)
                .where(Store.account_id == account, Order.deleted_at.is_(None))
            ).scalars()
        )
        with rig.app.app_context():
            people = destination_views.contacts(
                conn, account, ids, insights.Rules.of(rig.app), datetime.now(UTC)
            )
        orders = destination_views.orders(conn, account, order_ids)
    want_contacts = {
        str(i): {crm: as_text(v.get(ours)) for crm, ours in DEFAULT_MAPPING["contacts"].items()}
        for i, v in people.items()
        if v
    }
    want_orders = {
        str(i): {crm: as_text(v.get(ours)) for crm, ours in DEFAULT_MAPPING["orders"].items()}
        for i, v in orders.items()
        if v
    }
    links = {(str(i), str(v["contact_id"])) for i, v in orders.items() if v and v["contact_id"]}
    return want_contacts, want_orders, links


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
    with get_engine(rig.app).begin() as conn:
        assert all(insights.score(conn, s.id) for s in (rig.shop, rig.site))
    assert push_until_done(rig.app, dest)[-1].pushed["contacts"] > 0
    assert_hubspot_matches(rig)
    assert any(c.get("connector_segment") for c in held(rig, "contacts").values())
    # when the stores change (new, updated and deleted customers and orders) and the token is revoked
    for platform in ("shopify", "woocommerce"):
        rig.mutate(platform, "customers", "update", 5)
        rig.mutate(platform, "orders", "create", 6)
        rig.mutate(platform, "orders", "update", 4)
    sync_everything(rig)
    faults(rig, rotate_token=True)
    stopped = push_until_done(rig.app, dest, tries=1)
    # then the destination needs reconnecting, and nothing was lost: once reconnected it matches again
    assert stopped[-1].outcome == "needs_reconnect"
    with get_engine(rig.app).connect() as conn:
        assert conn.execute(select(DestinationMark.id)).first() is not None
    reconnect(rig, dest)
    faults(rig, statuses=[429, 503])
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    assert_hubspot_matches(rig)
    with get_engine(rig.app).connect() as conn:
        assert conn.execute(select(DestinationMark.id)).first() is None


def test_an_optout_in_hubspot_reaches_the_ledger_in_one_push(rig: Rig) -> None:
    # given a pushed account
    dest = add_hubspot(rig)
    sync_everything(rig)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
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
    summary = push_until_done(rig.app, dest)[-1]
    # then after one push the ledger holds the refusal, from HubSpot, at the time HubSpot says
    assert summary.optouts == 1
    with get_engine(rig.app).connect() as conn:
        event = consent.current(conn, [contact_id])[(contact_id, "email")]
    assert (event.state, event.source) == ("unsubscribed", "hubspot")
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
    dest = add_hubspot(rig)
    sync_everything(rig)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    with get_engine(rig.app).connect() as conn:
        contact_id, email = conn.execute(
            select(Contact.id, Contact.email)
            .join(Order, Order.contact_id == Contact.id)
            .where(Contact.email.is_not(None))
            .limit(1)
        ).one()
        account = conn.execute(select(Contact.account_id).where(Contact.id == contact_id)).scalar_one()
    # when they are erased, and the destination pushed
    with rig.app.app_context(), get_engine(rig.app).begin() as conn:
        receipt = privacy.forget(
            conn,
            account,
            {contact_id},
            Path(rig.app.instance_path),
            store_id=None,
            subject={"contact": contact_id},
        )
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then HubSpot has nothing of them: no contact, no order, nothing with their e-mail
    portal = rig.sandbox.world.hubspot
    assert str(contact_id) not in held(rig, "contacts")
    assert str(email).lower() not in {r.properties.get("email") for r in portal.records["contacts"].values()}
    with get_engine(rig.app).connect() as conn:
        their_orders = {
            str(o) for o in conn.execute(select(Order.id).where(Order.contact_id == contact_id)).scalars()
        }
        result = conn.execute(select(PrivacyRequest.result).where(PrivacyRequest.id == receipt)).scalar_one()
    assert their_orders and not their_orders & set(held(rig, "orders"))
    assert result["destinations"] == {str(dest): "deleted in hubspot"}


def test_a_record_hubspot_refuses_is_a_dead_letter_in_its_words_and_the_rest_go(rig: Rig) -> None:
    # given a contact whose e-mail HubSpot will not take
    dest = add_hubspot(rig)
    sync_everything(rig)
    with get_engine(rig.app).begin() as conn:
        bad = conn.execute(select(Contact.id).where(Contact.email.is_not(None)).limit(1)).scalar_one()
        conn.execute(update(Contact).where(Contact.id == bad).values(email="not an e-mail"))
    # when the account is pushed
    summary = push_until_done(rig.app, dest)[-1]
    # then that one is refused with HubSpot's reason, in words, and every other contact is there
    assert summary.outcome == "done" and summary.refused["contacts"] == 1
    with get_engine(rig.app).connect() as conn:
        letter = conn.execute(select(DeadLetter).where(DeadLetter.kind == "destination")).one()
    assert letter.platform_id == bad
    assert "Email address not an e-mail is invalid" in letter.reason
    assert str(bad) not in held(rig, "contacts")
    assert len(held(rig, "contacts")) == len(expected(rig)[0]) - 1


def test_a_refused_record_retried_after_its_fix_is_pushed_and_its_letter_resolved(rig: Rig) -> None:
    # given a contact HubSpot refused (its e-mail), then the e-mail put right
    dest = add_hubspot(rig)
    sync_everything(rig)
    with get_engine(rig.app).begin() as conn:
        bad, good = conn.execute(
            select(Contact.id, Contact.email).where(Contact.email.is_not(None)).limit(1)
        ).one()
        conn.execute(update(Contact).where(Contact.id == bad).values(email="not an e-mail"))
    push_until_done(rig.app, dest)
    with get_engine(rig.app).begin() as conn:
        conn.execute(update(Contact).where(Contact.id == bad).values(email=good))
        letter = conn.execute(select(DeadLetter.id).where(DeadLetter.kind == "destination")).scalar_one()
    # when the merchant retries the letter (another account cannot) and the destination is pushed
    with pytest.raises(BadInput):
        retry(rig.app, letter, account_id=999)
    assert retry(rig.app, letter)["outcome"] == "the record was marked to be pushed again"
    assert push_until_done(rig.app, dest)[-1].pushed["contacts"] == 1
    # then HubSpot has the contact, and the letter is resolved
    assert held(rig, "contacts")[str(bad)]["email"] == str(good).lower()
    with get_engine(rig.app).connect() as conn:
        assert (
            conn.execute(select(DeadLetter.resolved_at).where(DeadLetter.id == letter)).scalar_one()
            is not None
        )
