"""The consent ledger: append-only, the current state derived, and a re-sync never
upgrading consent the person did not give; on a backfilled shop, nobody is subscribed
without a grant the generator recorded."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from connector.crm import consent
from connector.db import get_engine
from connector.db.models import Contact, Customer, Order
from connector.db.people import ConsentEvent
from connector.write.apply import apply_batch
from platforms.base import Batch
from tests.builders import customer_row, later, make_store, order_batch
from tests.crm.conftest import sandbox_store, truth_order
from tests.rig import Rig

T1 = datetime(2026, 3, 1, tzinfo=UTC)


def write_customer(conn: Connection, store: int, **changes: Any) -> None:
    batch = Batch()
    batch.rows["customers"] = [
        customer_row(store, email="eve@example.com", email_normalized="eve@example.com", **changes)
    ]
    apply_batch(conn, store, batch)


def ledger(conn: Connection) -> list[tuple[str, str, datetime]]:
    rows = conn.execute(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    return [(e.state, e.source, e.occurred_at) for e in rows]


def test_a_resync_never_undoes_an_unsubscribe(engine: Engine) -> None:
    with engine.begin() as conn:
        shop = make_store(conn)
        # given a customer who subscribed on the platform at T1
        base = customer_row(shop, email="eve@example.com", email_normalized="eve@example.com")
        write_customer(conn, shop, email_consent="subscribed", email_consent_at=T1)
        eve = conn.execute(select(Contact.id)).scalar_one()
        # when they unsubscribe through our link a week later
        t2 = T1 + timedelta(days=7)
        consent.record(conn, [consent.Claim(eve, shop, "email", consent.REFUSAL, "unsubscribe_link", t2, t2)])
        # then re-syncs that replay the old grant, or grant without saying when, change nothing
        newer = later(base, 86400 * 30)
        for consent_at in (T1, None):
            write_customer(
                conn,
                shop,
                source_updated_at=newer["source_updated_at"],
                email_consent="subscribed",
                email_consent_at=consent_at,
            )
            assert consent.state_of(conn, eve) == consent.REFUSAL
        # and a platform "not subscribed" is no refusal of its own
        write_customer(
            conn, shop, source_updated_at=newer["source_updated_at"], email_consent="not_subscribed"
        )
        # but the person subscribing again on the platform, after the unsubscribe, is honoured
        t4 = t2 + timedelta(days=1)
        topic = Batch()
        topic.consents.append((base["platform_id"], "subscribed", t4))
        apply_batch(conn, shop, topic)
        assert consent.state_of(conn, eve) == consent.GRANT
        assert ledger(conn) == [
            ("subscribed", "platform", T1),
            ("unsubscribed", "unsubscribe_link", t2),
            ("subscribed", "platform", t4),
        ]


def test_a_checkout_opt_in_grants_and_an_unticked_box_refuses_nothing(engine: Engine) -> None:
    with engine.begin() as conn:
        shop = make_store(conn)
        apply_batch(
            conn, shop, order_batch(1, created=T1, email="gus@example.com", buyer_accepts_marketing=True)
        )
        gus = conn.execute(select(Contact.id)).scalar_one()
        assert consent.state_of(conn, gus) == consent.GRANT
        later_order = order_batch(
            2, created=T1 + timedelta(days=5), email="gus@example.com", buyer_accepts_marketing=False
        )
        apply_batch(conn, shop, later_order)
        assert consent.state_of(conn, gus) == consent.GRANT
        assert ledger(conn) == [("subscribed", "checkout", T1)]


def test_a_refusal_older_than_the_grant_does_not_win(engine: Engine) -> None:
    with engine.begin() as conn:
        shop = make_store(conn)
        write_customer(conn, shop, email_consent="subscribed", email_consent_at=T1)
        eve = conn.execute(select(Contact.id)).scalar_one()
        before = T1 - timedelta(days=1)
        consent.record(conn, [consent.Claim(eve, shop, "email", consent.REFUSAL, "platform", before, before)])
        assert consent.state_of(conn, eve) == consent.GRANT
        assert consent.consented(conn, [eve]) == {eve}


@pytest.mark.slow
def test_nobody_is_subscribed_without_a_grant_the_generator_recorded(synced: Rig) -> None:
    shop = sandbox_store(synced, synced.shop.id)
    with get_engine(synced.app).connect() as conn:
        customers = [
            (platform_id, contact)
            for platform_id, contact in conn.execute(
                select(Customer.platform_id, Customer.contact_id).where(Customer.store_id == synced.shop.id)
            )
            if contact is not None  # consent is a contact's; a customer without one holds none
        ]
        orders = [
            (store_id, platform_id, contact)
            for store_id, platform_id, contact in conn.execute(
                select(Order.store_id, Order.platform_id, Order.contact_id)
            )
            if contact is not None
        ]
        contacts = {c for _p, c in customers} | {c for _s, _p, c in orders}
        states = {c: consent.state_of(conn, c) for c in contacts}
        appended = conn.execute(select(ConsentEvent.id)).all()
    granted: dict[int, set[str]] = defaultdict(set)
    refused: set[int] = set()
    for platform_id, contact in customers:
        index = shop.index_of("customers", platform_id)
        assert index is not None, platform_id
        said = shop.get("customers", index).data["email_consent"]
        if said == "subscribed":
            granted[contact].add("platform")
        if said == "unsubscribed":
            refused.add(contact)
    for store_id, platform_id, contact in orders:
        if truth_order(synced, store_id, platform_id)["accepts_marketing"]:
            granted[contact].add("checkout")
    subscribed = {c for c, s in states.items() if s == consent.GRANT}
    assert subscribed and appended
    assert subscribed <= set(granted)  # nobody without a recorded grant
    assert {c for c in refused if not granted[c] - {"platform"}} <= {
        c for c, s in states.items() if s == consent.REFUSAL
    }
    assert {c for c, how in granted.items() if "platform" in how} <= subscribed
