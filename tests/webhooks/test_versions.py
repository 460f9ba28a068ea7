"""Contacts are versioned like records: webhooks arriving out of order never move a
contact's fields backwards, whatever order they are processed in."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from connector.db.models import Contact, Customer
from tests.builders import fixture
from tests.webhooks.conftest import Stores, one, post_shopify, work

T1 = datetime.fromisoformat("2026-11-20T10:00:00+00:00")


def customer_named(name: str, at: datetime) -> dict[str, object]:
    payload = fixture("shopify/webhook-customers-update.json")
    payload.update(first_name=name, updated_at=at.isoformat())
    return payload


@pytest.mark.parametrize(
    ("arrivals", "expected"),
    [
        ((("Two", 2), ("One", 1), ("Three", 3)), "Three"),
        ((("Two", 2), ("One", 1)), "Two"),
    ],
)
def test_out_of_order_names_leave_customer_and_contact_at_the_newest(
    hook_app: Flask,
    stores: Stores,
    redis_conn: redis.Redis,
    arrivals: tuple[tuple[str, int], ...],
    expected: str,
) -> None:
    # given customer updates that arrive out of order, each processed before the next arrives
    for name, hour in arrivals:
        assert (
            post_shopify(
                hook_app, "customers/update", customer_named(name, T1 + timedelta(hours=hour))
            ).status_code
            == 200
        )
        work(hook_app, redis_conn)
    # then the customer and its contact both hold the newest name
    customer = one(hook_app, select(Customer.first_name, Customer.contact_id))
    contact = one(hook_app, select(Contact.first_name).where(Contact.id == customer.contact_id))
    assert (customer.first_name, contact.first_name) == (expected, expected)


def test_out_of_order_names_in_one_round_leave_both_at_the_newest(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    # given the same three updates stored before any is processed (one inbox round)
    for name, hour in (("Two", 2), ("One", 1), ("Three", 3)):
        post_shopify(hook_app, "customers/update", customer_named(name, T1 + timedelta(hours=hour)))
    work(hook_app, redis_conn)
    customer = one(hook_app, select(Customer.first_name, Customer.contact_id))
    contact = one(hook_app, select(Contact.first_name).where(Contact.id == customer.contact_id))
    assert (customer.first_name, contact.first_name) == ("Three", "Three")
