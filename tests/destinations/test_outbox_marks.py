"""The outbox misses nothing: a destination added to an account that already holds contacts
and orders gets them all on its first plain push; a store removed or redacted, and consent
given or withdrawn through the storefront's links (none of which go through the write path),
reach the destination on the next push, and a person no store knows any more is deleted there."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from connector.accounts.stores import remove_store
from connector.crm import destination_outbox, privacy, subscriptions
from connector.db import get_engine, session
from connector.db.models import Contact, Customer, Order, Store
from connector.db.operations import DestinationMark
from tests.destinations.helpers import (
    add_hubspot,
    faults,
    held,
    push_until_done,
    pushed,
    reconnect,
    sync_everything,
)
from tests.destinations.test_push import assert_hubspot_matches
from tests.rig import Rig


def known_only_from(rig: Rig, store_id: int) -> set[int]:
    """Contacts with a customer or order in this store and in no other."""
    with get_engine(rig.app).connect() as conn:
        here: set[int] = set()
        elsewhere: set[int] = set()
        for model in (Customer, Order):
            for contact, store in conn.execute(select(model.contact_id, model.store_id)).all():
                if contact is not None:
                    (here if store == store_id else elsewhere).add(contact)
    return here - elsewhere


def orders_of(rig: Rig, store_id: int) -> set[str]:
    with get_engine(rig.app).connect() as conn:
        return {str(o) for o in conn.execute(select(Order.id).where(Order.store_id == store_id)).scalars()}


def test_a_destination_added_after_the_backfill_gets_everything_on_its_first_plain_push(rig: Rig) -> None:
    # given an account whose shop and site are backfilled
    sync_everything(rig)
    # when a HubSpot destination is added and pushed without --full
    dest = add_hubspot(rig)
    summary = push_until_done(rig.app, dest)[-1]
    # then HubSpot holds exactly the account's contacts and orders, field by field
    assert summary.outcome == "done" and summary.pushed["contacts"] > 0 and summary.pushed["orders"] > 0
    assert_hubspot_matches(rig)


def test_changes_made_while_a_destination_needs_reconnecting_all_arrive_after_it(rig: Rig) -> None:
    # given a pushed account whose HubSpot token is then revoked
    sync_everything(rig)
    dest = add_hubspot(rig)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    faults(rig, rotate_token=True)
    assert push_until_done(rig.app, dest, tries=1)[-1].outcome == "needs_reconnect"
    # when the stores keep changing, rounds of pushes are refused
    for round_ in range(3):
        for platform in ("shopify", "woocommerce"):
            rig.mutate(platform, "customers", "update", 3)
            rig.mutate(platform, "orders", "create", 2 + round_)
        sync_everything(rig)
        assert push_until_done(rig.app, dest, tries=1)[-1].outcome == "needs_reconnect"
    # then once reconnected, one push brings HubSpot back to exactly the account
    reconnect(rig, dest)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    assert_hubspot_matches(rig)


def test_a_removed_store_takes_its_orders_and_its_only_people_out_of_hubspot(rig: Rig) -> None:
    # given a pushed account whose site knows some people the shop does not
    dest = pushed(rig, add_hubspot(rig))
    only_site, site_orders = known_only_from(rig, rig.site.id), orders_of(rig, rig.site.id)
    assert only_site and site_orders and {str(c) for c in only_site} <= set(held(rig, "contacts"))
    # when the site is removed (`stores remove`) and the destination pushed
    with session(rig.app) as s, s.begin():
        remove_store(s, s.get_one(Store, rig.site.id))
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then HubSpot has none of the site's orders nor the people only it knew, and the others
    # no longer name the site among their stores
    contacts = held(rig, "contacts")
    assert not site_orders & set(held(rig, "orders"))
    assert not {str(c) for c in only_site} & set(contacts)
    assert all(rig.site.domain not in c.get("connector_stores", "") for c in contacts.values())
    assert_hubspot_matches(rig)


def test_a_redacted_shop_is_gone_from_hubspot_after_the_next_push(rig: Rig) -> None:
    # given a pushed account
    dest = pushed(rig, add_hubspot(rig))
    only_shop, shop_orders = known_only_from(rig, rig.shop.id), orders_of(rig, rig.shop.id)
    assert only_shop and shop_orders
    # when Shopify's shop/redact erases the shop
    with get_engine(rig.app).begin() as conn:
        privacy.redact_shop(conn, rig.shop.id, rig.shop.domain, Path(rig.app.instance_path))
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then neither its orders nor the people it alone knew are in HubSpot, and the rest match
    assert not shop_orders & set(held(rig, "orders"))
    assert not {str(c) for c in only_shop} & set(held(rig, "contacts"))
    assert_hubspot_matches(rig)


def test_consent_given_and_withdrawn_by_the_storefront_links_reaches_hubspot(rig: Rig) -> None:
    # given a pushed account and one of its people with an e-mail
    dest = pushed(rig, add_hubspot(rig))
    with get_engine(rig.app).connect() as conn:
        contact_id, email = conn.execute(
            select(Contact.id, Contact.email)
            .join(Customer, Customer.contact_id == Contact.id)
            .where(Customer.store_id == rig.shop.id, Contact.email.is_not(None))
            .limit(1)
        ).one()
        store = conn.execute(select(Store).where(Store.id == rig.shop.id)).one()
    # when they subscribe from the storefront form and confirm by the link
    with get_engine(rig.app).begin() as conn:
        sub, _ = subscriptions.subscribe(conn, store, str(email), "vendor", "Acme <b>")
    with get_engine(rig.app).begin() as conn:
        assert subscriptions.confirm(conn, sub.token) is not None
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then HubSpot has the subscription and the form's grant
    person = held(rig, "contacts")[str(contact_id)]
    assert person["connector_subscriptions"] == "vendor:Acme <b>"
    assert person["connector_email_consent"] == "subscribed"
    assert_hubspot_matches(rig)
    # and when they unsubscribe by the e-mail's link, HubSpot has the refusal after the next push
    with get_engine(rig.app).begin() as conn:
        assert subscriptions.unsubscribe(conn, sub.id) is not None
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    person = held(rig, "contacts")[str(contact_id)]
    assert person["connector_email_consent"] == "unsubscribed"
    assert person.get("connector_subscriptions", "") == ""
    assert_hubspot_matches(rig)


def test_a_full_mark_right_after_adding_marks_each_record_once(rig: Rig) -> None:
    # given a destination just added to a backfilled account (everything marked with it)
    sync_everything(rig)
    dest = add_hubspot(rig)
    engine = get_engine(rig.app)

    def marks() -> list[tuple[str, int]]:
        with engine.connect() as conn:
            query = select(DestinationMark.object, DestinationMark.record_id)
            rows = conn.execute(query.where(DestinationMark.destination_id == dest)).all()
            return [(obj, record) for obj, record in rows]

    first = marks()
    # when everything is marked again before any push (`push --full`)
    with engine.begin() as conn:
        store = conn.execute(select(Store.account_id)).scalars().first()
        assert store is not None
        destination_outbox.mark_everything(conn, dest, store)
    # then each contact and order is still marked once, and the push sends them all
    again = marks()
    assert sorted(again) == sorted(first) and len(set(again)) == len(again)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    assert_hubspot_matches(rig)
