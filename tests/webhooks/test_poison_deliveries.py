"""A delivery that cannot be read or written is dead-lettered alone: the deliveries around it
are applied, and the store's later deliveries are processed. Signed deliveries go through
the real receivers into the inbox and a real RQ worker on real Redis drains it; 61 of them
make one round, written together (the COPY path on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from connector.db.models import Order, OrderLineItem
from connector.db.operations import DeadLetter, WebhookInbox
from tests.builders import database_refusing, fixture, shopify_order, woo_order
from tests.webhooks.conftest import SHOP, Stores, post_shopify, post_woo, work

DELIVERIES = 61
POISONED = 3030  # the 31st of the 61 orders


def nul_in_names(o: dict[str, Any]) -> None:
    o["line_items"][0]["title"] = "Aviator\x00 sunglasses"
    o["billing_address"]["first_name"] = "Bo\x00b"


POISONS: dict[str, tuple[Callable[[dict[str, Any]], Any], str | None]] = {
    "nul-in-a-name": (nul_in_names, None),  # free text: written without the NUL
    "infinity-total": (
        lambda o: o.update(total_price="Infinity"),
        f"the delivery could not be read: orders {POISONED}: total_price is not a finite amount ('Infinity')",
    ),
    "id-2^63": (
        lambda o: o.update(id=2**63),
        "the delivery could not be read: orders 9223372036854775808: id 9223372036854775808 is not a "
        "platform id (a whole number from 1 to 2^63 - 1)",
    ),
    "negative-id": (
        lambda o: o.update(id=-5),
        "the delivery could not be read: orders -5: id -5 is not a platform id (a whole number from 1 "
        "to 2^63 - 1)",
    ),
    "negative-customer": (
        lambda o: o["customer"].update(id=-9),
        f"the delivery could not be read: orders {POISONED}: customer.id -9 is not a platform id (a whole "
        "number from 1 to 2^63 - 1)",
    ),
}


def orders_held(app: Flask, store_id: int) -> set[int]:
    with app.extensions["crm.engine"].connect() as conn:
        return set(conn.execute(select(Order.platform_id).where(Order.store_id == store_id)).scalars())


def inbox_of(app: Flask, store_id: int) -> list[Any]:
    with app.extensions["crm.engine"].connect() as conn:
        query = select(WebhookInbox).where(WebhookInbox.store_id == store_id).order_by(WebhookInbox.id)
        return list(conn.execute(query))


def letters_of(app: Flask, store_id: int) -> list[Any]:
    with app.extensions["crm.engine"].connect() as conn:
        return list(conn.execute(select(DeadLetter).where(DeadLetter.store_id == store_id)))


@pytest.mark.parametrize("kind", POISONS)
def test_one_poisoned_delivery_of_61_is_dead_lettered_and_the_store_goes_on(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis, kind: str
) -> None:
    # given 61 order deliveries received and acknowledged, one of them poisoned
    poison, reason = POISONS[kind]
    orders = [shopify_order(3000 + i) for i in range(DELIVERIES)]
    poison(orders[30])
    for o in orders:
        assert post_shopify(hook_app, "orders/create", o).status_code == 200
    # when the store's inbox is processed
    work(hook_app, redis_conn)
    # then the 60 good ones are applied and the poisoned one alone is failed, with its reason
    good = {o["id"] for o in orders} - {orders[30]["id"]}
    inbox = inbox_of(hook_app, stores.shopify_id)
    letters = letters_of(hook_app, stores.shopify_id)
    if reason is None:
        assert orders_held(hook_app, stores.shopify_id) == good | {POISONED}
        assert {r.status for r in inbox} == {"done"} and letters == []
        with hook_app.extensions["crm.engine"].connect() as conn:
            title = conn.execute(
                select(OrderLineItem.title).where(OrderLineItem.platform_id == POISONED * 10)
            )
            raw = conn.execute(select(Order.raw).where(Order.platform_id == POISONED)).scalar_one()
        assert title.scalar_one() == "Aviator sunglasses" and raw["billing_address"]["first_name"] == "Bob"
    else:
        assert orders_held(hook_app, stores.shopify_id) == good
        assert [r.status for r in inbox].count("done") == DELIVERIES - 1
        (failed,) = [r for r in inbox if r.status == "failed"]
        assert failed.last_error == reason
        assert [(d.kind, d.entity, d.reason, d.payload) for d in letters] == [
            ("webhook", "orders/create", reason, {"inbox_id": failed.id})
        ]
    # and a later delivery for the store is processed
    post_shopify(hook_app, "orders/create", shopify_order(4000))
    work(hook_app, redis_conn)
    assert 4000 in orders_held(hook_app, stores.shopify_id)
    assert [r.status for r in inbox_of(hook_app, stores.shopify_id)].count("pending") == 0


def test_a_delivery_the_database_refuses_is_dead_lettered_alone(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    # given 61 order deliveries, one of which the database itself refuses (a rule of its own)
    orders = [shopify_order(3000 + i) for i in range(DELIVERIES)]
    for o in orders:
        post_shopify(hook_app, "orders/create", o)
    # when the inbox is processed
    with database_refusing(hook_app.extensions["crm.engine"], (f"#{POISONED}",)):
        work(hook_app, redis_conn)
    # then the 60 others are applied and the refused one is failed with a sentence, not the driver's text
    assert orders_held(hook_app, stores.shopify_id) == {o["id"] for o in orders} - {POISONED}
    (letter,) = letters_of(hook_app, stores.shopify_id)
    assert letter.reason.startswith("the CRM store refused this delivery: ")
    assert "Error" not in letter.reason and "constraint" not in letter.reason.lower()
    (failed,) = [r for r in inbox_of(hook_app, stores.shopify_id) if r.status == "failed"]
    assert failed.last_error == letter.reason and letter.payload == {"inbox_id": failed.id}
    # and once the database accepts it, retrying the letter applies it
    from sync.retry import retry

    assert retry(hook_app, letter.id)["outcome"] == "the delivery was queued to be processed again"
    work(hook_app, redis_conn)
    assert POISONED in orders_held(hook_app, stores.shopify_id)


def test_a_poisoned_woocommerce_delivery_does_not_hold_back_the_site(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    # given a site's order deliveries, one with a total of "Infinity" and one with a NUL in a name
    orders = [woo_order(800 + i) for i in range(DELIVERIES)]
    orders[10]["total"] = "Infinity"
    orders[20]["billing"]["first_name"] = "Ja\x00ne"
    for o in orders:
        assert post_woo(hook_app, stores, "order.created", o).status_code == 200
    # when the inbox is processed
    work(hook_app, redis_conn)
    # then all but the infinite one are applied, and that one is dead-lettered with its reason
    assert orders_held(hook_app, stores.woo_id) == {o["id"] for o in orders} - {810}
    (letter,) = letters_of(hook_app, stores.woo_id)
    assert (
        letter.reason
        == "the delivery could not be read: orders 810: total is not a finite amount ('Infinity')"
    )


def test_a_privacy_request_the_database_refuses_is_dead_lettered_and_the_orders_after_it_apply(
    hook_app: Flask, stores: Stores, redis_conn: redis.Redis
) -> None:
    # given a data request naming a customer and orders by ids no database holds, then two orders
    request = fixture("shopify/webhook-customers-data_request.json")
    request.update(shop_domain=SHOP, customer={**request["customer"], "id": 2**63}, orders_requested=[2**63])
    post_shopify(hook_app, "orders/create", shopify_order(5001))
    assert post_shopify(hook_app, "customers/data_request", request).status_code == 200
    post_shopify(hook_app, "orders/create", shopify_order(5002))
    # when the inbox is processed
    work(hook_app, redis_conn)
    # then the request alone is failed with a sentence, and both orders are applied
    assert orders_held(hook_app, stores.shopify_id) == {5001, 5002}
    (letter,) = letters_of(hook_app, stores.shopify_id)
    assert letter.entity == "customers/data_request"
    assert letter.reason == (
        "the CRM store refused this delivery: a number in it is out of the range the CRM store keeps"
    )
    statuses = [(r.topic, r.status) for r in inbox_of(hook_app, stores.shopify_id)]
    assert statuses == [
        ("orders/create", "done"),
        ("customers/data_request", "failed"),
        ("orders/create", "done"),
    ]
