"""Erasing a person who shops on Magento: a sandbox shopper of the Magento store and of the
WooCommerce site (one contact across both) is erased by `crm-connector privacy forget`;
every column and file holds none of their details afterwards, their Magento orders keep
their amounts, and the erasure lasts: a full re-read and a reconcile of both stores, and
a later change to their Magento customer record read by the scheduled re-sync (Magento's
only way to say something changed), bring nothing about them back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
from click.testing import CliRunner
from sqlalchemy import func, select

from connector.cli import cli
from connector.db import get_engine, session
from connector.db.models import Contact, Customer, Order, Store
from connector.db.people import ConsentEvent
from sandbox.generator import Sizes
from sandbox.state import SandboxStore
from sandbox.world import World
from sync.engine import ENTITIES, run_step
from tests.crm.test_privacy import NEW, becomes_new, database_file_traces, resync_in_full_then_reconcile, scan
from tests.rig import Rig, build
from tests.sync.test_magento_sync import connected
from tests.sync.test_resync import time_passes

pytestmark = pytest.mark.slow
SIZES = Sizes(customers=60, orders=250, products=20)


@dataclass
class Erasable:
    rig: Rig
    magento: Store
    index: int  # the person's customer index on the Magento store

    @property
    def store(self) -> SandboxStore:
        return next(iter(self.rig.sandbox.world.magento.values())).store


def a_shopper_of_magento_and_the_site(world: World) -> tuple[int, int]:
    """A person with orders on the Magento store and on the site."""
    mag, site = next(iter(world.magento.values())).store, world.woo["site-1"].store
    ordered = {mag.get("orders", i).data["customer"] for i in range(mag.dataset.sizes.orders)}
    site_ordered = {site.get("orders", i).data["customer"] for i in range(site.dataset.sizes.orders)}
    for index in sorted(ordered - {None}):
        there = mag.dataset.person_of(index) - site.dataset.person_offset
        if 0 <= there < site.dataset.sizes.customers and there in site_ordered:
            return index, there
    raise AssertionError("the world has no shopper of both stores")


@pytest.fixture
def erasable(app_env: dict[str, str], redis_conn: redis.Redis, redis_url: str) -> Iterator[Erasable]:
    world = World(seed=41, sizes=SIZES, magento_stores=1)
    index, site_index = a_shopper_of_magento_and_the_site(world)
    becomes_new(next(iter(world.magento.values())).store, index)
    becomes_new(world.woo["site-1"].store, site_index)
    for rig in build(app_env, world, redis_url):
        store_id = connected(rig)
        with rig.app.app_context():
            for sid in (store_id, rig.site.id):
                for entity in ENTITIES:
                    assert run_step(rig.app, sid, entity, "test-owner").outcome == "done"
        with session(rig.app) as s:
            magento = s.get_one(Store, store_id)
            s.expunge(magento)
        yield Erasable(rig, magento, index)


def their_magento_records(e: Erasable) -> tuple[list[Customer], list[Order]]:
    customer_id = e.store.id_of("customers", e.index)
    with session(e.rig.app) as s:
        customers = list(
            s.scalars(
                select(Customer).where(Customer.store_id == e.magento.id, Customer.platform_id == customer_id)
            )
        )
        orders = list(
            s.scalars(
                select(Order).where(Order.store_id == e.magento.id, Order.customer_platform_id == customer_id)
            )
        )
        s.expunge_all()
    return customers, orders


def forget(e: Erasable) -> None:
    forgotten = CliRunner().invoke(cli, ["privacy", "forget", "--email", NEW["email"]], env=e.rig.env)
    assert forgotten.exit_code == 0, forgotten.output


def assert_erased(e: Erasable, orders_before: list[Order]) -> None:
    assert scan(e.rig) == []
    assert database_file_traces(e.rig) == []
    customers, orders = their_magento_records(e)
    assert len(customers) == 1 and customers[0].deleted_at is not None and customers[0].email is None
    assert {o.platform_id: o.total_price for o in orders} == {
        o.platform_id: o.total_price for o in orders_before
    }
    assert all(o.email is None and o.raw is None for o in orders)
    owners = {o.contact_id for o in orders}
    assert len(owners) == 1 and None not in owners
    with get_engine(e.rig.app).connect() as conn:
        contact = conn.execute(select(Contact).where(Contact.id.in_(owners))).one()
        consents = conn.execute(select(func.count()).where(ConsentEvent.contact_id.in_(owners))).scalar()
    assert (contact.email, contact.first_name, contact.phone_e164, consents) == (None, None, None, 0)


def test_an_erased_magento_shopper_stays_erased_through_resyncs_and_a_later_change(
    erasable: Erasable,
) -> None:
    e = erasable
    # given the person synced from the Magento store and the site, as one contact
    customers, orders = their_magento_records(e)
    assert len(customers) == 1 and customers[0].email == NEW["email"] and orders
    assert {"customers.raw", "orders.raw", "contacts.email"} <= set(scan(e.rig))
    # when they are erased by e-mail
    forget(e)
    # then nothing says who they were, and their orders are kept with their amounts
    assert_erased(e, orders)
    # when both stores are re-read in full and reconciled
    resync_in_full_then_reconcile(e.rig, [e.magento, e.rig.site])
    assert_erased(e, orders)
    # and later the store changes their customer record and one of their orders, which the
    # scheduled re-sync reads (Magento sends no webhooks to Open Source merchants)
    order_index = e.store.index_of("orders", orders[0].platform_id)
    assert order_index is not None
    later = max(e.store.next_time("customers", e.index), e.store.next_time("orders", order_index))
    e.store.update("customers", e.index, later)
    e.store.update("orders", order_index, later)
    time_passes(e.rig, e.magento.id)
    with e.rig.app.app_context():
        for entity in ENTITIES:
            assert run_step(e.rig.app, e.magento.id, entity, "test-owner").outcome == "done"
    # then the change is read and still nothing about them came back
    _customers, after = their_magento_records(e)
    changed = next(o for o in after if o.platform_id == orders[0].platform_id)
    assert changed.source_updated_at >= later
    assert_erased(e, orders)
