"""The neutral rows a mapper produces, one TypedDict per CRM table, so mypy refuses a
misspelled column. Each field carries its kind (text its length), what `platforms.storable`
checks a value against; tests/platforms/test_rows.py holds them to the SQLAlchemy columns.
Only `platform_id` and `source_updated_at` are required: a field the payload lacks is left
out of the row (so an update never blanks it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Required, TypedDict

MONEY_SCALE = Decimal("10000")  # amounts are kept in ten-thousandths, as 64-bit integers


@dataclass(frozen=True)
class Kind:
    """What a column holds, as the store keeps it: id, count, amount, flag, time, json or
    text (with the most characters kept)."""

    name: str
    limit: int = 0


def text(limit: int | None = None) -> Kind:
    """Text of at most `limit` characters (None: unbounded)."""
    return Kind("text", limit or sys.maxsize)


Id = Annotated[int, Kind("id")]  # a platform id: 1 to 2^63 - 1
RefId = Annotated[int | None, Kind("id")]  # a reference to another record, if any
Count = Annotated[int | None, Kind("count")]  # 32 bits
Amount = Annotated[Decimal | None, Kind("amount")]
Flag = Annotated[bool | None, Kind("flag")]
Time = Annotated[datetime | None, Kind("time")]
Version = Annotated[datetime, Kind("time")]
Json = Annotated[dict[str, Any] | None, Kind("json")]
Text = Annotated[str | None, text()]
Email = Annotated[str | None, text(320)]
Phone = Annotated[str | None, text(64)]
E164 = Annotated[str | None, text(20)]
PersonName = Annotated[str | None, text(200)]
Code = Annotated[str | None, text(32)]  # a state, status or channel
Currency = Annotated[str | None, text(3)]
Country = Annotated[str | None, text(2)]
Label = Annotated[str | None, text(255)]  # a handle, SKU, vendor, domain


class Record(TypedDict, total=False):
    """What every synced record carries: its platform id and its version."""

    platform_id: Required[Id]
    source_updated_at: Required[Version]


class ContactFields(TypedDict):
    """How a platform customer can be reached, as kept and as matched (normalised)."""

    email: Email
    email_normalized: Email
    phone: Phone
    phone_e164: E164


class Utm(TypedDict):
    utm_source: Annotated[str | None, text(200)]
    utm_medium: Annotated[str | None, text(200)]
    utm_campaign: Annotated[str | None, text(200)]


class Attribution(TypedDict):
    """Where an order came from: its sales channel, the platform's own source name, and the
    buyer's visit (UTM tags, referring domain, landing page)."""

    channel: Code
    source_name: Annotated[str | None, text(100)]
    utm_source: Annotated[str | None, text(200)]
    utm_medium: Annotated[str | None, text(200)]
    utm_campaign: Annotated[str | None, text(200)]
    referrer_domain: Label
    landing_page: Text


class CustomerRow(Record, total=False):
    email: Email
    email_normalized: Email
    phone: Phone
    phone_e164: E164
    first_name: PersonName
    last_name: PersonName
    state: Code
    tags: Text
    orders_count: Count
    total_spent: Amount
    currency: Currency
    email_consent: Code
    email_consent_at: Time
    sms_consent: Code
    default_address: Json
    source_created_at: Time
    raw: Json


class OrderRow(Record, total=False):
    name: Annotated[str | None, text(64)]  # "#1001"
    customer_platform_id: RefId
    email: Email
    email_normalized: Email
    phone: Phone
    currency: Currency
    subtotal: Amount
    total_tax: Amount
    total_discounts: Amount
    total_shipping: Amount
    total_price: Amount
    total_refunded: Amount
    status: Code
    financial_status: Code
    fulfillment_status: Code
    cancelled_at: Time
    processed_at: Time
    buyer_accepts_marketing: Flag
    channel: Code
    source_name: Annotated[str | None, text(100)]
    utm_source: Annotated[str | None, text(200)]
    utm_medium: Annotated[str | None, text(200)]
    utm_campaign: Annotated[str | None, text(200)]
    referrer_domain: Label
    landing_page: Text
    shipping_country: Country
    shipping_region: Annotated[str | None, text(100)]
    shipping_city: Annotated[str | None, text(200)]
    tags: Text
    source_created_at: Time
    raw: Json


class LineItemRow(Record, total=False):
    order_platform_id: Required[Id]
    product_platform_id: RefId
    variant_platform_id: RefId
    sku: Label
    title: Text
    quantity: Annotated[int, Kind("count")]
    price: Amount
    total: Amount
    currency: Currency


class FulfillmentRow(Record, total=False):
    order_platform_id: Required[Id]
    status: Code
    shipment_status: Code
    carrier: Annotated[str | None, text(100)]
    tracking_number: Annotated[str | None, text(200)]
    tracking_url: Text
    shipped_at: Time
    delivered_at: Time


class RefundRow(Record, total=False):
    order_platform_id: Required[Id]
    amount: Amount
    currency: Currency
    reason: Text
    refunded_at: Time


class ProductRow(Record, total=False):
    title: Text
    handle: Label
    status: Code
    vendor: Label
    product_type: Label
    tags: Text
    collections: Json  # collection / category names, for subscriptions
    published_at: Time
    source_created_at: Time
    raw: Json


class VariantRow(Record, total=False):
    product_platform_id: Required[Id]
    sku: Label
    title: Text
    price: Amount
    inventory_quantity: Count
    inventory_item_id: RefId


class InventoryLevelRow(Record, total=False):
    """Stock of one inventory item (the platform id) at one location."""

    location_id: Annotated[int, Kind("id")]
    location_name: Label
    country: Country
    region: Annotated[str | None, text(100)]
    available: Count


class CheckoutRow(Record, total=False):
    name: Annotated[str | None, text(64)]
    customer_platform_id: RefId
    email: Email
    email_normalized: Email
    currency: Currency
    total_price: Amount
    channel: Code
    recovery_url: Text
    completed_at: Time
    source_created_at: Time
    raw: Json
