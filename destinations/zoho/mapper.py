"""A contact's or an order's fields as Zoho CRM record fields: the mapping is data (Zoho api_name
→ connector field, per object), overridable per destination; values become what Zoho stores
(text, numbers plain, times ISO 8601 in UTC, flags true/false, nothing as null). Contacts go to
Contacts, orders to Sales_Orders with their lines as Ordered_Items over Products; the fields
the connector owns (`CUSTOM`) are made by `connect.prepare`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

MODULE = {"contacts": "Contacts", "orders": "Sales_Orders"}
ID_FIELD = {"contacts": "Connector_Contact_Id", "orders": "Connector_Order_Id"}
REQUIRED = {"Last_Name": "(no last name)", "Subject": "(no order name)"}  # Zoho's mandatory fields
NO_LINES = "(order without line items)"  # Ordered_Items is mandatory: such an order gets one line

DEFAULT_MAPPING: dict[str, dict[str, str]] = {
    "contacts": {
        "Connector_Contact_Id": "id",
        "Email": "email",
        "First_Name": "first_name",
        "Last_Name": "last_name",
        "Phone": "phone_e164",
        "Mailing_Street": "address",
        "Mailing_City": "city",
        "Mailing_Zip": "zip",
        "Mailing_Country": "country",
        "Connector_Email_Consent": "email_consent",
        "Connector_Email_Consent_At": "email_consent_at",
        "Connector_Sms_Consent": "sms_consent",
        "Connector_Sms_Consent_At": "sms_consent_at",
        "Connector_Rfm": "rfm",
        "Connector_Segment": "segment",
        "Connector_Predicted_Value": "predicted_value",
        "Connector_Prediction": "prediction",
        "Connector_Advocate": "advocate",
        "Connector_Inactive": "inactive",
        "Connector_First_Order_At": "first_order_at",
        "Connector_Last_Order_At": "last_order_at",
        "Connector_Orders": "orders",
        "Connector_Spend": "spend",
        "Connector_First_Channel": "first_channel",
        "Connector_Stores": "stores",
        "Connector_Platforms": "platforms",
        "Connector_Subscriptions": "subscriptions",
    },
    "orders": {
        "Connector_Order_Id": "id",
        "Subject": "name",
        "Connector_Currency": "currency",
        "Connector_Subtotal": "subtotal",
        "Connector_Tax": "total_tax",
        "Connector_Discounts": "total_discounts",
        "Connector_Shipping": "total_shipping",
        "Connector_Total": "total_price",
        "Connector_Refunded": "total_refunded",
        "Connector_Fulfillment_Status": "fulfillment_status",
        "Connector_Payment_Status": "financial_status",
        "Connector_Created_At": "created_at",
        "Connector_Store": "store",
        "Shipping_City": "shipping_city",
        "Shipping_State": "shipping_region",
        "Shipping_Country": "shipping_country",
        "Connector_Channel": "channel",
        "Connector_Line_Items": "line_items",
    },
}

LONG = ("Connector_Prediction", "Connector_Subscriptions", "Connector_Stores", "Connector_Line_Items")

# the fields Zoho does not have until the connector makes them: api_name → the fields API's spec
CUSTOM: dict[str, dict[str, dict[str, Any]]] = {
    obj: {
        name: {
            "field_label": name.replace("_", " "),
            "data_type": "textarea" if name in LONG else "text",
            "length": 32000 if name in LONG else 255,
        }
        | ({"unique": {"casesensitive": False}} if name == ID_FIELD[obj] else {})
        for name in fields
        if name.startswith("Connector_")
    }
    for obj, fields in DEFAULT_MAPPING.items()
}


def values(fields: dict[str, Any], mapping: dict[str, str]) -> dict[str, str | None]:
    """The Zoho fields of one record, from its connector fields (a mandatory one never empty)."""
    out = {crm: as_text(fields.get(ours)) for crm, ours in mapping.items()}
    for name, fallback in REQUIRED.items():
        if name in out and not out[name]:
            out[name] = fallback
    return out


def product_name(line: dict[str, Any]) -> str:
    """A line's product in Zoho (its Product_Name, unique there): the title, else the SKU."""
    return (str(line.get("title") or "").strip() or str(line.get("sku") or "").strip() or NO_LINES)[:200]


def ordered_items(fields: dict[str, Any], products: dict[str, str]) -> list[dict[str, Any]]:
    """Ordered_Items of an order, each line naming its Product's Zoho id (`products`: lower-cased
    name → id); a line whose Product Zoho refused is left out (none left: Zoho refuses the order)."""
    lines = [line for line in fields.get("lines") or [] if (line.get("quantity") or 0) > 0]
    if not lines:
        lines = [{"title": NO_LINES, "quantity": 1, "price": fields.get("total_price")}]
    return [
        {
            "Product_Name": {"id": found},
            "Quantity": int(line["quantity"]),
            "List_Price": float(line.get("price") or 0),
        }
        for line in lines
        if (found := products.get(product_name(line).lower()))
    ]


def products_of(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """The Products an order's lines need, as Zoho records (named, with their SKU)."""
    lines = [line for line in fields.get("lines") or [] if (line.get("quantity") or 0) > 0]
    if not lines:
        return [{"Product_Name": NO_LINES}]
    return [
        {"Product_Name": product_name(line)}
        | ({"Product_Code": str(line["sku"])[:40]} if line.get("sku") else {})
        for line in lines
    ]


def as_text(value: Any) -> str | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, (list, tuple)):
        return ";".join(t for v in value if (t := as_text(v)))
    return str(value)
