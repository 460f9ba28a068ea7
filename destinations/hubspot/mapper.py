"""A contact's, an order's or an order line's fields as HubSpot properties: the mapping is data
(HubSpot property → connector field, per object: contacts, orders, line_items), overridable per
destination; the values become the strings HubSpot stores (numbers plain, times ISO 8601 in UTC,
flags true/false, nothing as ""). The properties the connector owns (`CUSTOM`) are made by
`connect.prepare`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

ID_PROPERTY = {
    "contacts": "connector_contact_id",
    "orders": "connector_order_id",
    "line_items": "connector_line_id",
}
NO_TITLE = "(line without a title)"

DEFAULT_MAPPING: dict[str, dict[str, str]] = {
    "contacts": {
        "connector_contact_id": "id",
        "email": "email",
        "firstname": "first_name",
        "lastname": "last_name",
        "phone": "phone_e164",
        "address": "address",
        "city": "city",
        "zip": "zip",
        "country": "country",
        "connector_email_consent": "email_consent",
        "connector_email_consent_at": "email_consent_at",
        "connector_sms_consent": "sms_consent",
        "connector_sms_consent_at": "sms_consent_at",
        "connector_rfm": "rfm",
        "connector_segment": "segment",
        "connector_predicted_value": "predicted_value",
        "connector_prediction": "prediction",
        "connector_advocate": "advocate",
        "connector_inactive": "inactive",
        "connector_first_order_at": "first_order_at",
        "connector_last_order_at": "last_order_at",
        "connector_orders": "orders",
        "connector_spend": "spend",
        "connector_first_channel": "first_channel",
        "connector_stores": "stores",
        "connector_platforms": "platforms",
        "connector_subscriptions": "subscriptions",
    },
    "orders": {
        "connector_order_id": "id",
        "hs_order_name": "name",
        "hs_currency_code": "currency",
        "hs_subtotal_price": "subtotal",
        "hs_tax": "total_tax",
        "hs_order_discount": "total_discounts",
        "hs_shipping_cost": "total_shipping",
        "hs_total_price": "total_price",
        "hs_refund_amount": "total_refunded",
        "hs_fulfillment_status": "fulfillment_status",
        "hs_payment_status": "financial_status",
        "hs_external_created_date": "created_at",
        "hs_source_store": "store",
        "hs_shipping_address_city": "shipping_city",
        "hs_shipping_address_state": "shipping_region",
        "hs_shipping_address_country": "shipping_country",
        "connector_channel": "channel",
    },
    # an order's lines, each its own line item associated with the order (`lines` of its view)
    "line_items": {
        "connector_line_id": "id",
        "name": "title",
        "hs_sku": "sku",
        "quantity": "quantity",
        "price": "price",
        "amount": "total",
    },
}

# the properties HubSpot does not have until the connector makes them: name → (type, fieldType)
CUSTOM: dict[str, dict[str, tuple[str, str]]] = {
    obj: {
        name: ("number", "number") if name in ("connector_orders", "connector_spend") else ("string", "text")
        for name in fields
        if name.startswith("connector_")
    }
    for obj, fields in DEFAULT_MAPPING.items()
}


def properties(fields: dict[str, Any], mapping: dict[str, str]) -> dict[str, str]:
    """The HubSpot properties of one record, from its connector fields."""
    return {crm: as_text(fields.get(ours)) for crm, ours in mapping.items()}


def current_lines(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """An order's lines as it stands: those still bought (a line refunded or edited away to
    quantity 0 is not one), each named (its title, else its SKU)."""
    return [
        {**line, "title": str(line.get("title") or "").strip() or line.get("sku") or NO_TITLE}
        for line in fields.get("lines") or []
        if (line.get("quantity") or 0) > 0 and line.get("id") is not None
    ]


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, (list, tuple)):
        return ";".join(as_text(v) for v in value)
    return str(value)
