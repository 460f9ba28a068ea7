"""The suppression an erasure leaves, at the write path: it holds keyed hashes and platform
ids, never the person's details; a later record of theirs, in any store of the account and
matched by e-mail or phone alone, is written without them (a customer as a blank tombstone,
an order with its amounts), with no consent and no contact; and it still holds after the
encryption key is rotated (the old key kept listed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from click.testing import CliRunner
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from connector import create_app
from connector.cli import cli
from connector.db import get_engine
from connector.db.models import Contact, Customer, Order, Store
from connector.db.people import ConsentEvent, SuppressionKey
from connector.write.apply import apply_batch
from platforms.base import MapContext
from platforms.shopify.mapper import consent_rows, customer_rows
from tests.builders import fixture, make_store, order_batch

PHONE, WRITTEN_PHONE = "+16135550142", "(613) 555-0142"
BOB = {**fixture("shopify/rest-customer.json")["customer"], "phone": PHONE}
EMAIL = BOB["email"]
LATER = datetime(2026, 11, 20, 10, tzinfo=UTC)


def second_store(engine: Engine, store_id: int) -> int:
    """Another shop of the same merchant account."""
    with engine.begin() as conn:
        account = conn.execute(select(Store.account_id).where(Store.id == store_id)).scalar_one()
        values = {"account_id": account, "platform": "shopify", "domain": "bob-other.myshopify.com"}
        return int(
            conn.execute(
                insert(Store).values(**values, store_key="key-other").returning(Store.id)
            ).scalar_one()
        )


def bob_erased(app_env: dict[str, str], engine: Engine) -> tuple[int, int]:
    """Bob, a customer of the first shop with an order there, erased by `privacy forget`;
    the two shops' ids."""
    with engine.begin() as conn:
        shop = make_store(conn)
        apply_batch(conn, shop, customer_rows(BOB, MapContext(country="CA")))
        apply_batch(conn, shop, order_batch(5001, created=LATER, email=EMAIL))
    other = second_store(engine, shop)
    forgotten = CliRunner().invoke(cli, ["privacy", "forget", "--email", EMAIL], env=app_env)
    assert forgotten.exit_code == 0, forgotten.output
    return shop, other


def test_a_suppression_holds_no_detail_of_the_person(app: Flask, app_env: dict[str, str]) -> None:
    engine = get_engine(app)
    bob_erased(app_env, engine)
    with engine.connect() as conn:
        keys = conn.execute(select(SuppressionKey.scope, SuppressionKey.kind, SuppressionKey.value)).all()
    text = json.dumps([v for _s, _k, v in keys]).lower()
    assert {k for _s, k, _v in keys} == {"email", "phone", "customers", "orders"}
    assert "bob" not in text and "norman" not in text and "6135550142" not in text
    assert all(len(v) == 64 for _s, k, v in keys if k in ("email", "phone"))  # HMACs, in hex


def guests(*orders: tuple[int, str, dict[str, Any]]) -> Any:
    """Guest orders (number, e-mail, other fields) in one batch."""
    batch = order_batch(orders[0][0], created=LATER, email=orders[0][1], **orders[0][2])
    for number, email, changes in orders[1:]:
        batch.extend(order_batch(number, created=LATER, email=email, **changes))
    return batch


def test_later_records_of_an_erased_person_are_written_without_them_even_after_a_key_rotation(
    app: Flask, app_env: dict[str, str]
) -> None:
    engine = get_engine(app)
    shop, other = bob_erased(app_env, engine)
    with engine.connect() as conn:
        contacts_before = conn.execute(select(func.count()).select_from(Contact)).scalar_one()
    # given the encryption key rotated, the old one still listed
    rotated = {
        **app_env,
        "CONNECTOR_ENCRYPTION_KEY": f"{Fernet.generate_key().decode()},{app_env['CONNECTOR_ENCRYPTION_KEY']}",
    }
    later_app = create_app(rotated)
    # when the other shop sends Bob's guest orders (by his e-mail written otherwise, by his phone
    # alone), a stranger's order, and his own shop a newer version of his customer record
    with later_app.app_context(), get_engine(later_app).begin() as conn:
        apply_batch(
            conn,
            other,
            guests(
                (6001, f"  {EMAIL.upper()} ", {"buyer_accepts_marketing": True}),
                (
                    6002,
                    "someone.else@example.com",
                    {"phone": WRITTEN_PHONE, "shipping_address": {"country_code": "CA"}},
                ),
                (6003, "stranger@example.com", {}),
            ),
        )
        apply_batch(
            conn,
            shop,
            customer_rows(
                {**BOB, "updated_at": LATER.isoformat(), "accepts_marketing": True}, MapContext(country="CA")
            ),
        )
    later_app.extensions["crm.engine"].dispose()
    # then Bob's orders are kept with their amounts and nothing of him; the stranger's is whole
    with engine.connect() as conn:
        orders = {o.platform_id: o for o in conn.execute(select(Order).where(Order.store_id == other))}
        customer = conn.execute(select(Customer).where(Customer.platform_id == BOB["id"])).one()
        contacts_after = conn.execute(select(func.count()).select_from(Contact)).scalar()
        bob_contacts = conn.execute(select(func.count()).where(Contact.email_normalized == EMAIL)).scalar()
        consented = set(conn.execute(select(ConsentEvent.contact_id)).scalars())
    for number in (6001, 6002):
        kept = orders[number]
        assert kept.total_price is not None and (kept.email, kept.phone, kept.raw) == (None, None, None)
        assert kept.buyer_accepts_marketing is None
    assert orders[6003].email == "stranger@example.com" and orders[6003].raw is not None
    assert (customer.email, customer.first_name, customer.raw, customer.email_consent) == (
        None,
        None,
        None,
        None,
    )
    assert customer.deleted_at is not None
    assert bob_contacts == 0 and contacts_after == contacts_before + 1  # the stranger's contact only
    assert consented <= {orders[6003].contact_id}  # the stranger's yes at checkout, if any


def test_a_consent_change_for_an_erased_customer_records_nothing(app: Flask, app_env: dict[str, str]) -> None:
    engine = get_engine(app)
    shop, _other = bob_erased(app_env, engine)
    payload = {
        **fixture("shopify/webhook-customers_email_marketing_consent-update.json"),
        "customer_id": BOB["id"],
        "email_marketing_consent": {"state": "subscribed", "consent_updated_at": LATER.isoformat()},
    }
    with engine.begin() as conn:
        apply_batch(conn, shop, consent_rows(payload, MapContext()))
    with engine.connect() as conn:
        consents = conn.execute(select(func.count()).select_from(ConsentEvent)).scalar()
        customer = conn.execute(select(Customer).where(Customer.platform_id == BOB["id"])).one()
    assert consents == 0 and customer.email_consent is None


def test_forgetting_an_address_not_held_yet_suppresses_it_in_the_account(
    app: Flask, app_env: dict[str, str]
) -> None:
    engine = get_engine(app)
    with engine.begin() as conn:
        shop = make_store(conn)  # the account "test", which holds nothing on Bob yet
    runner = CliRunner()
    # when the merchant is asked to forget Bob before any record of his has arrived
    unknown = runner.invoke(cli, ["privacy", "forget", "--email", EMAIL, "--account", "nobody"], env=app_env)
    assert unknown.exit_code == 2 and "--account" in unknown.output
    asked = runner.invoke(cli, ["privacy", "forget", "--email", EMAIL, "--account", "test"], env=app_env)
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.output)
    assert answer["found"] is False and answer["receipts"][0]["kind"] == "customer_redact"
    # then his first order, when it comes, is kept without him, and no contact is made
    with engine.begin() as conn:
        apply_batch(conn, shop, order_batch(7001, created=LATER, email=EMAIL))
    with engine.connect() as conn:
        kept = conn.execute(select(Order).where(Order.platform_id == 7001)).one()
        contacts = conn.execute(select(func.count()).select_from(Contact)).scalar()
    assert (kept.email, kept.raw, kept.contact_id) == (None, None, None) and kept.total_price is not None
    assert contacts == 0


def test_a_customer_suppressed_by_email_keeps_its_orders_suppressed_whatever_they_say(
    app: Flask, app_env: dict[str, str]
) -> None:
    engine = get_engine(app)
    _shop, other = bob_erased(app_env, engine)
    # given Bob's customer record on the other shop, first seen after his erasure
    with engine.begin() as conn:
        apply_batch(conn, other, customer_rows({**BOB, "id": 9001, "phone": None}, MapContext()))
    # when an order of that customer arrives later, with an e-mail that is not his
    with engine.begin() as conn:
        apply_batch(
            conn, other, order_batch(9101, created=LATER, email="gift.for@example.com", customer={"id": 9001})
        )
    # then the order is kept without its personal fields: the customer is suppressed by its id now
    with engine.connect() as conn:
        customer = conn.execute(select(Customer).where(Customer.platform_id == 9001)).one()
        kept = conn.execute(select(Order).where(Order.platform_id == 9101)).one()
    assert (customer.email, customer.contact_id) == (None, None) and customer.deleted_at is not None
    assert (kept.email, kept.raw) == (None, None) and kept.total_price is not None
