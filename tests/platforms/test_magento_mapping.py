"""Magento 2 payloads as Adobe publishes them (tests/fixtures/magento/, SOURCES.md) → CRM rows:
times in UTC without an offset, configurable and bundle items counted once, shipments with
tracks as fulfilments, credit memos as refunds, consent from `is_subscribed`, products with
their type, status, visibility and stock."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from platforms.base import MapContext, MappingError
from platforms.magento import mapper

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "magento"
CTX = MapContext(country="US", received_at=datetime(2026, 12, 1, tzinfo=UTC))


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def with_parents(order: dict[str, Any]) -> dict[str, Any]:
    """The published order with a configurable line (parent 10, its chosen child 11, sharing
    the child's SKU) and a bundle line (parent 12, components 13 and 14) added as Magento
    stores them: children name their parent in `parent_item_id`."""
    o = copy.deepcopy(order)
    base = o["items"][0]

    def item(item_id: int, **fields: Any) -> dict[str, Any]:
        return {**base, "item_id": item_id, "discount_amount": 0, **fields}

    o["items"] += [
        item(
            10,
            product_id=2000,
            product_type="configurable",
            sku="MS-Champ-S",
            name="Champ Tee",
            qty_ordered=2,
            price=25,
            row_total=50,
        ),
        item(
            11,
            product_id=2001,
            product_type="simple",
            sku="MS-Champ-S",
            name="Champ Tee-S",
            qty_ordered=2,
            price=0,
            row_total=0,
            parent_item_id=10,
        ),
        item(
            12,
            product_id=3000,
            product_type="bundle",
            sku="Sprite-Kit",
            name="Sprite Kit",
            qty_ordered=1,
            price=40,
            row_total=40,
        ),
        item(
            13,
            product_id=3001,
            product_type="simple",
            sku="Ball",
            qty_ordered=1,
            price=15,
            row_total=15,
            parent_item_id=12,
        ),
        item(
            14,
            product_id=3002,
            product_type="simple",
            sku="Rope",
            qty_ordered=1,
            price=25,
            row_total=25,
            parent_item_id=12,
        ),
    ]
    return o


def test_a_customer_keeps_its_contact_fields_and_utc_times() -> None:
    # given the published customer; when mapped
    [row] = mapper.customer_rows(fixture("customer.json"), CTX).rows["customers"]
    # then its identity, its default address's phone (as E.164) and its times in UTC are kept
    assert row["platform_id"] == 2 and row["email_normalized"] == "jdoe@example.com"
    assert (row["first_name"], row["last_name"]) == ("Jane", "Doe")
    assert row["phone_e164"] == "+15125551111"
    assert row["source_updated_at"] == datetime(2017, 1, 31, 1, 18, 13, tzinfo=UTC)
    assert row["default_address"]["city"] == "Purchase"
    assert "email_consent" not in row  # the payload says nothing of the newsletter


@pytest.mark.parametrize(("subscribed", "state"), [(True, "subscribed"), (False, "not_subscribed")])
def test_consent_comes_from_is_subscribed(subscribed: bool, state: str) -> None:
    c = {**fixture("customer.json"), "extension_attributes": {"is_subscribed": subscribed}}
    [row] = mapper.customer_rows(c, CTX).rows["customers"]
    assert row["email_consent"] == state


def test_an_order_is_mapped_with_its_totals_and_one_line() -> None:
    batch = mapper.order_rows(fixture("order.json"), CTX)
    [order] = batch.rows["orders"]
    assert order["platform_id"] == 3 and order["name"] == "#000000003"
    assert (order["total_price"], order["subtotal"], order["total_shipping"]) == (165, 160, 5)
    assert order["currency"] == "USD" and order["financial_status"] == "pending"
    assert order["source_updated_at"] == datetime(2017, 8, 21, 22, 22, 20, tzinfo=UTC)
    assert order["customer_platform_id"] == 3 and order["shipping_country"] == "US"
    assert order["channel"] == "draft_manual"  # no remote_ip, no ext_order_id: made in the admin
    [line] = batch.rows["order_line_items"]
    assert (line["quantity"], line["price"], line["variant_platform_id"]) == (1, 22, 1553)
    # read without its shipments and credit memos: the ones held are kept
    assert batch.unpruned == {"fulfillments", "refunds"}


def test_configurable_and_bundle_items_are_counted_once() -> None:
    batch = mapper.order_rows(with_parents(fixture("order.json")), CTX)
    lines = {line["platform_id"]: line for line in batch.rows["order_line_items"]}
    assert sorted(lines) == [3, 10, 12]  # parents and the lone item; no child line
    assert sum(line["quantity"] for line in lines.values()) == 4
    assert sum(line["total"] for line in lines.values()) == Decimal("112")
    assert lines[10]["variant_platform_id"] == 2001  # a configurable line's variant: its chosen child
    assert lines[12]["variant_platform_id"] == 3000


def test_shipments_and_credit_memos_become_fulfilments_and_refunds() -> None:
    o = {
        **fixture("order.json"),
        "_shipments": [fixture("shipment.json")],
        "_creditmemos": [fixture("creditmemo.json")],
    }
    batch = mapper.order_rows(o, CTX)
    [fulfilment] = batch.rows["fulfillments"]
    assert fulfilment["tracking_number"] == "1Y-9876543210"
    assert fulfilment["carrier"] == "United Parcel Service"
    assert fulfilment["shipped_at"] == datetime(2017, 8, 22, 9, 15, 2, tzinfo=UTC)
    [refund] = batch.rows["refunds"]
    assert (refund["platform_id"], refund["amount"], refund["reason"]) == (3, 22, "Returned: wrong size")
    [order] = batch.rows["orders"]
    assert order["total_refunded"] == 22 and order["financial_status"] == "partially_refunded"
    assert order["fulfillment_status"] == "partial"
    assert "_shipments" not in order["raw"] and batch.unpruned == set()


@pytest.mark.parametrize(
    ("parts", "processed"),
    [
        # read with its invoices: the first invoice's time, or none while it has none
        ({"_invoices": [{"entity_id": 9, "created_at": "2017-08-23 10:00:00"},
                        {"entity_id": 8, "created_at": "2017-08-22 08:30:00"}]},
         datetime(2017, 8, 22, 8, 30, tzinfo=UTC)),
        ({"_invoices": []}, None),
        # read without them: invoiced or not, by its own total
        ({"total_invoiced": 36.39}, datetime(2017, 8, 21, 22, 22, 19, tzinfo=UTC)),
        ({"total_invoiced": 0}, None),
    ],
)  # fmt: skip
def test_an_orders_processed_time_is_its_first_invoice(parts: dict[str, Any], processed: Any) -> None:
    [order] = mapper.order_rows({**fixture("order.json"), **parts}, CTX).rows["orders"]
    assert order["processed_at"] == processed and "_invoices" not in order["raw"]


@pytest.mark.parametrize(
    ("fields", "channel"),
    [
        ({"ext_order_id": "ERP-114-3941689"}, "api_other"),
        ({"remote_ip": "203.0.113.9"}, "online_store"),
    ],
)
def test_the_channel_comes_from_the_orders_fields(fields: dict[str, Any], channel: str) -> None:
    [order] = mapper.order_rows({**fixture("order.json"), **fields}, CTX).rows["orders"]
    assert order["channel"] == channel


def test_a_configurable_product_has_no_variant_of_its_own() -> None:
    batch = mapper.product_rows(fixture("product_configurable.json"), CTX)
    [product] = batch.rows["products"]
    assert (product["product_type"], product["status"]) == ("configurable", "active")
    assert product["collections"]["visibility"] == "catalog_search"
    assert "product_variants" not in batch.rows


def test_a_simple_product_is_its_own_variant_with_its_stock() -> None:
    p = fixture("product_simple.json")
    [variant] = mapper.product_rows(p, CTX).rows["product_variants"]
    assert variant["platform_id"] == p["id"] == variant["product_platform_id"]
    assert variant["inventory_quantity"] == 10 and variant["sku"] == p["sku"]
    # MSI source items, where read, are the stock across sources
    sources = [{"sku": p["sku"], "source_code": "default", "quantity": 4, "status": 1}, {"quantity": 3.0}]
    [variant] = mapper.product_rows({**p, "_source_items": sources}, CTX).rows["product_variants"]
    assert variant["inventory_quantity"] == 7
    disabled = mapper.product_rows({**p, "status": 2}, CTX).rows["products"][0]
    assert disabled["status"] == "draft" and disabled["collections"]["visibility"] == "not_visible"


def test_bad_payloads_are_refused_naming_the_record() -> None:
    order = fixture("order.json")
    broken = copy.deepcopy(order)
    broken["items"][0]["qty_ordered"] = 1.5
    with pytest.raises(MappingError, match=r"orders 3: line item qty_ordered is not a whole number"):
        mapper.order_rows(broken, CTX)
    undated = {k: v for k, v in order.items() if k not in ("updated_at", "created_at")}
    with pytest.raises(MappingError, match=r"orders 3: the payload has no updated_at"):
        mapper.order_rows(undated, CTX)
    with pytest.raises(MappingError, match=r"products .*: 'soon' is not a timestamp"):
        mapper.product_rows({**fixture("product_simple.json"), "updated_at": "soon"}, CTX)
