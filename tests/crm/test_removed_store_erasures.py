"""An erasure in a removed store stays with that shop: the store connected next (another
shop, under a new id) is not scrubbed for records that merely share its platform ids.
Suppressions are scoped by the shop's platform and domain, never by the store's id, so
this held before ids stopped being reused too; the test keeps it so."""

from __future__ import annotations

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import insert, select

from connector.accounts.stores import remove_store
from connector.cli import cli
from connector.db import get_engine, session
from connector.db.models import Customer, Store
from connector.write.apply import apply_batch
from platforms.base import MapContext
from platforms.shopify.mapper import customer_rows
from tests.builders import make_store
from tests.crm.test_suppression import BOB, second_store


def test_a_removed_stores_erasures_do_not_scrub_the_next_store(app: Flask, app_env: dict[str, str]) -> None:
    engine = get_engine(app)
    # given Bob, a customer of the merchant's newest shop A, was erased
    with engine.begin() as conn:
        first = make_store(conn)
    a = second_store(engine, first)
    with engine.begin() as conn:
        apply_batch(conn, a, customer_rows(BOB, MapContext(country="CA")))
    forgotten = CliRunner().invoke(cli, ["privacy", "forget", "--email", BOB["email"]], env=app_env)
    assert forgotten.exit_code == 0, forgotten.output
    # when A is removed and the merchant connects shop B, whose customer Alice has Bob's platform id
    with session(app) as s, s.begin():
        remove_store(s, s.get_one(Store, a))
    with engine.begin() as conn:
        account = conn.execute(select(Store.account_id).where(Store.id == first)).scalar_one()
        values = {
            "account_id": account,
            "platform": "shopify",
            "domain": "b.myshopify.com",
            "store_key": "kb",
        }
        b = conn.execute(insert(Store).values(**values).returning(Store.id)).scalar_one()
    alice = {**BOB, "email": "alice@example.com", "phone": None, "first_name": "Alice"}
    with engine.begin() as conn:
        apply_batch(conn, b, customer_rows(alice, MapContext(country="CA")))
    # then B holds Alice as she is: A's erasure named A's record, not B's
    with engine.connect() as conn:
        row = conn.execute(select(Customer.email, Customer.first_name).where(Customer.store_id == b)).one()
    assert b != a and tuple(row) == ("alice@example.com", "Alice")
