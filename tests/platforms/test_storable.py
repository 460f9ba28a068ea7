"""Mappers refuse, with a sentence naming the record, the field and the value, what the CRM
store could not keep; and clean free text of what PostgreSQL cannot hold. Over the
platforms' published payloads, one field changed at a time."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from platforms.base import MapContext, MappingError
from platforms.shopify import mapper as shopify
from platforms.woocommerce import mapper as woocommerce
from tests.builders import fixture, shopify_order, woo_order

CTX = MapContext()


def refusal(mapper: Any, payload: dict[str, Any]) -> str:
    with pytest.raises(MappingError) as raised:
        mapper(payload, CTX)
    return str(raised.value)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"total_price": "NaN"}, "orders 11: total_price is not a finite amount ('NaN')"),
        ({"total_price": "-Infinity"}, "orders 11: total_price is not a finite amount ('-Infinity')"),
        ({"total_price": "inf"}, "orders 11: total_price is not a finite amount ('inf')"),
        ({"total_price": "sNaN"}, "orders 11: total_price is not a finite amount ('sNaN')"),
        ({"total_price": float("nan")}, "orders 11: total_price is not a finite amount (nan)"),
        ({"total_tax": "1e30"}, "orders 11: total_tax is too large an amount to keep ('1e30')"),
        ({"subtotal_price": "twelve"}, "orders 11: subtotal_price is not an amount ('twelve')"),
        ({"id": 2**63}, "orders 9223372036854775808: id 9223372036854775808 is not a platform id"),
        ({"id": 0}, "orders 0: id 0 is not a platform id"),
        ({"id": "١٢"}, "orders '١٢': id '١٢' is not a platform id"),  # digits, but not ASCII ones
        ({"customer": {"id": 2**64}}, "orders 11: customer.id 18446744073709551616 is not a platform id"),
        (
            {"buyer_accepts_marketing": "yes"},
            "orders 11: buyer_accepts_marketing is not true or false ('yes')",
        ),
        (
            {"created_at": "9999-12-31T23:59:59-05:00"},
            "orders 11: '9999-12-31T23:59:59-05:00' is not a timestamp",
        ),
        ({"email": "bob\x00@example.com"}, "orders 11: email contains a NUL character"),
        ({"email": "bob\ud800@example.com"}, "orders 11: email is not valid Unicode text"),
        ({"email": "b" * 400 + "@example.com"}, "orders 11: email is longer than 320 characters"),
    ],
)
def test_a_shopify_order_with_a_value_the_store_cannot_keep_is_refused_in_words(
    change: dict[str, Any], reason: str
) -> None:
    assert refusal(shopify.order_rows, shopify_order(11, **change)).startswith(reason)


def test_child_records_are_checked_as_their_parent_is() -> None:
    # given orders whose line item, refund transaction or variant carries a bad value
    order = shopify_order(12)
    order["line_items"][1]["quantity"] = "a few"
    assert (
        refusal(shopify.order_rows, order) == "orders 12: line item quantity is not a whole number ('a few')"
    )
    order = shopify_order(12)
    order["line_items"][0]["product_id"] = -1
    assert "orders 12: line item product_id -1 is not a platform id" in refusal(shopify.order_rows, order)
    order = shopify_order(12, refunds=[{"id": 5, "transactions": [{"kind": "refund", "amount": "Infinity"}]}])
    assert refusal(shopify.order_rows, order) == (
        "orders 12: refund transaction amount is not a finite amount ('Infinity')"
    )
    order = shopify_order(12, fulfillments=[{"id": -4, "status": "success"}])
    assert refusal(shopify.order_rows, order).startswith("orders 12: fulfillments -4: fulfillment id -4 ")
    product = fixture("shopify/webhook-products-create.json")
    product["variants"][0]["inventory_quantity"] = 2**40
    assert refusal(shopify.product_rows, product).endswith(
        "variant inventory_quantity is too large a number to keep (1099511627776)"
    )
    variation = {**fixture("woocommerce/rest-product-variation.json"), "price": "NaN"}
    assert "variations " in refusal(woocommerce.variation_rows, variation)


def test_graphql_and_woocommerce_records_name_the_fields_they_came_with() -> None:
    order = woo_order(13, total="Infinity")
    assert refusal(woocommerce.order_rows, order) == "orders 13: total is not a finite amount ('Infinity')"
    assert refusal(woocommerce.order_rows, woo_order(13, customer_id=-2)).startswith(
        "orders 13: customer_id -2 is not a platform id"
    )
    gql = {
        "id": "gid://shopify/Order/14",
        "updatedAt": "2026-11-01T00:00:00Z",
        "totalPriceSet": {"shopMoney": {"amount": "Infinity", "currencyCode": "USD"}},
    }
    assert refusal(shopify.order_from_graphql, gql) == (
        "orders 14: totalPriceSet is not a finite amount ('Infinity')"
    )


def test_free_text_loses_what_postgresql_cannot_keep_and_is_cut_to_its_column() -> None:
    # given an order with NUL characters and a lone surrogate in free text, and a name too long
    order = shopify_order(15, note="call\x00 me", tags="vip\ud800, gold", name="#" + "9" * 100)
    order["line_items"][0]["title"] = "Aviator\x00 sunglasses"
    order["billing_address"]["first_name"] = "Bo\x00b"
    # when it is mapped
    batch = shopify.order_rows(order, CTX)
    # then the text is kept without them, cut to the column, and the payload itself is untouched
    row = batch.rows["orders"][0]
    assert row["tags"] == "vip, gold" and row["name"] == "#" + "9" * 63
    assert row["raw"]["note"] == "call me" and row["raw"]["billing_address"]["first_name"] == "Bob"
    assert batch.rows["order_line_items"][0]["title"] == "Aviator sunglasses"
    assert order["note"] == "call\x00 me"  # mappers are pure: the payload is not changed


def test_a_clean_payload_is_kept_as_it_is_and_numbers_json_cannot_hold_become_numerals() -> None:
    order = shopify_order(16)
    assert shopify.order_rows(order, CTX).rows["orders"][0]["raw"] is order  # nothing to clean: no copy
    big = json.loads(json.dumps({**shopify_order(16), "app_id": 2**70}))  # Python's json reads it exactly
    assert shopify.order_rows(big, CTX).rows["orders"][0]["raw"]["app_id"] == str(2**70)


def test_a_woocommerce_order_with_numerals_for_counts_is_read() -> None:
    order = woo_order(17)
    order["line_items"][0]["quantity"] = "3"
    items = woocommerce.order_rows(order, CTX).rows["order_line_items"]
    assert items[0]["quantity"] == 3 and items[0]["total"] == Decimal("6.00")
