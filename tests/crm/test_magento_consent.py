"""Magento newsletter consent into the ledger: `extension_attributes.is_subscribed` (Magento
Open Source has no REST list of newsletter subscribers) is a platform claim that never says
when. The first "subscribed" grants; a later opt-out through our link survives every re-read
of the customer; the store's own `is_subscribed` turning false takes its grant back; and a
Magento store that never had the person subscribed takes nothing from another store's grant."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine

from connector.crm import consent
from connector.db.models import Contact, Customer, Store
from connector.db.people import ConsentEvent
from connector.write.apply import apply_batch
from platforms.base import MapContext
from platforms.magento import mapper
from tests.builders import customer_row, make_store

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "magento" / "customer.json"
CTX = MapContext(country="US", received_at=datetime(2026, 12, 1, tzinfo=UTC))
UPDATED = datetime(2017, 1, 31, 1, 18, 13, tzinfo=UTC)  # the fixture's updated_at, in UTC


def magento_customer(subscribed: bool | None, updated: datetime = UPDATED) -> dict[str, Any]:
    """The published customer, as the store answers with its newsletter flag at `updated`."""
    c: dict[str, Any] = copy.deepcopy(json.loads(FIXTURE.read_text()))
    c["updated_at"] = updated.strftime("%Y-%m-%d %H:%M:%S")
    if subscribed is not None:
        c["extension_attributes"] = {"is_subscribed": subscribed}
    return c


def read(conn: Connection, store: int, subscribed: bool | None, updated: datetime = UPDATED) -> None:
    apply_batch(conn, store, mapper.customer_rows(magento_customer(subscribed, updated), CTX))


def beside(conn: Connection, store: int) -> int:
    """A Magento store in the same merchant account as `store`."""
    account = conn.execute(select(Store.account_id).where(Store.id == store)).scalar_one()
    values = {"platform": "magento", "domain": "https://magento.example", "store_key": "key-magento"}
    return int(
        conn.execute(insert(Store).values(account_id=account, **values).returning(Store.id)).scalar_one()
    )


def ledger(conn: Connection) -> list[tuple[str, str]]:
    return [(e.state, e.source) for e in conn.execute(select(ConsentEvent).order_by(ConsentEvent.id))]


def test_an_opt_out_survives_every_re_read_of_a_subscribed_magento_customer(engine: Engine) -> None:
    with engine.begin() as conn:
        store = make_store(conn, "magento", "https://magento.example")
        # given a Magento customer the store says is subscribed: a grant, dated by the record
        read(conn, store, True)
        jane = conn.execute(select(Contact.id)).scalar_one()
        assert consent.state_of(conn, jane) == consent.GRANT
        # when they unsubscribe through our link
        out = UPDATED + timedelta(days=3)
        consent.record(
            conn, [consent.Claim(jane, store, "email", consent.REFUSAL, "unsubscribe_link", out, out)]
        )
        # then the store's "subscribed", re-read as it was and after later edits, changes nothing
        for updated in (UPDATED, out + timedelta(days=1), out + timedelta(days=30)):
            read(conn, store, True, updated)
            assert consent.state_of(conn, jane) == consent.REFUSAL
        assert ledger(conn) == [("subscribed", "platform"), ("unsubscribed", "unsubscribe_link")]
        held = conn.execute(select(Customer.email_consent)).scalar_one()
        assert held == "subscribed"  # the store's own view is kept as the store says it


def test_is_subscribed_turning_false_takes_the_stores_grant_back(engine: Engine) -> None:
    with engine.begin() as conn:
        store = make_store(conn, "magento", "https://magento.example")
        read(conn, store, True)
        jane = conn.execute(select(Contact.id)).scalar_one()
        # given a re-read of the same version (a full re-sync): nothing changes
        read(conn, store, False, UPDATED)
        assert consent.state_of(conn, jane) == consent.GRANT
        # when the store's record, changed later, says the person is no longer subscribed
        read(conn, store, False, UPDATED + timedelta(days=2))
        # then they are not subscribed; and the store saying "subscribed" again without a
        # time does not grant (Magento never says when: the withdrawal stands)
        assert consent.state_of(conn, jane) == consent.NONE
        read(conn, store, True, UPDATED + timedelta(days=5))
        assert consent.consented(conn, [jane]) == set()
        assert ledger(conn) == [("subscribed", "platform"), ("not_subscribed", "platform")]


def test_a_magento_store_that_never_had_them_subscribed_takes_nothing_from_another(engine: Engine) -> None:
    with engine.begin() as conn:
        shop = make_store(conn)
        magento = beside(conn, shop)
        # given the person subscribed on the Shopify shop, saying when
        t1 = UPDATED - timedelta(days=1)
        shop_row = customer_row(
            shop, email="jdoe@example.com", email_normalized="jdoe@example.com", email_consent="subscribed"
        )
        batch = mapper.Batch()
        batch.rows["customers"] = [{**shop_row, "email_consent_at": t1}]
        apply_batch(conn, shop, batch)
        jane = conn.execute(select(Contact.id)).scalar_one()
        # when the Magento store, later, says it has them not subscribed
        read(conn, magento, False, UPDATED + timedelta(days=10))
        # then the shop's grant stands: one contact, still subscribed
        assert conn.execute(select(Customer.contact_id).where(Customer.store_id == magento)).scalar() == jane
        assert consent.state_of(conn, jane) == consent.GRANT
