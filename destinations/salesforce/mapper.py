"""A contact's or an order's fields as Salesforce field values: the mapping is data (Salesforce
field → connector field, per object), overridable per destination; each value becomes what the
field's type takes in JSON (Number a number, Checkbox true/false, DateTime ISO 8601 in UTC, Date
a day, text as text, nothing as null). The fields the connector owns (`CUSTOM`, all `Connector_…__c`)
are made by `connect.prepare` with the Tooling API; the rest are Salesforce's standard fields.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

ID_FIELD = {
    "contacts": "Connector_Contact_Id__c",
    "orders": "Connector_Order_Id__c",
    "line_items": "Connector_Line_Id__c",
}
ACCOUNT_ID_FIELD = "Connector_Account_Id__c"  # the person's own Account (one per contact)
PRODUCT_ID_FIELD = "Connector_Product_Id__c"  # a line's Product2: by its SKU, else its title
SOBJECT = {"contacts": "Contact", "orders": "Order", "line_items": "OrderItem"}
NO_TITLE = "(line without a title)"
NOT_PROVIDED = "[not provided]"  # LastName is required; Salesforce's own web-to-lead fills this
ORDER_STATUS = "Draft"  # an Activated order needs order products (Salesforce refuses it without)

DEFAULT_MAPPING: dict[str, dict[str, str]] = {
    "contacts": {
        "Connector_Contact_Id__c": "id",
        "Email": "email",
        "FirstName": "first_name",
        "LastName": "last_name",
        "Phone": "phone_e164",
        "MailingStreet": "address",
        "MailingCity": "city",
        "MailingPostalCode": "zip",
        "MailingCountry": "country",
        "Connector_Email_Consent__c": "email_consent",
        "Connector_Email_Consent_At__c": "email_consent_at",
        "Connector_SMS_Consent__c": "sms_consent",
        "Connector_SMS_Consent_At__c": "sms_consent_at",
        "Connector_RFM__c": "rfm",
        "Connector_Segment__c": "segment",
        "Connector_Predicted_Value__c": "predicted_value",
        "Connector_Prediction__c": "prediction",
        "Connector_Advocate__c": "advocate",
        "Connector_Inactive__c": "inactive",
        "Connector_First_Order_At__c": "first_order_at",
        "Connector_Last_Order_At__c": "last_order_at",
        "Connector_Orders__c": "orders",
        "Connector_Spend__c": "spend",
        "Connector_First_Channel__c": "first_channel",
        "Connector_Stores__c": "stores",
        "Connector_Platforms__c": "platforms",
        "Connector_Subscriptions__c": "subscriptions",
    },
    "orders": {
        "Connector_Order_Id__c": "id",
        "Name": "name",
        "EffectiveDate": "created_at",
        "Connector_Created_At__c": "created_at",
        "Connector_Currency__c": "currency",
        "Connector_Subtotal__c": "subtotal",
        "Connector_Tax__c": "total_tax",
        "Connector_Discounts__c": "total_discounts",
        "Connector_Shipping__c": "total_shipping",
        "Connector_Total__c": "total_price",
        "Connector_Refunded__c": "total_refunded",
        "Connector_Fulfillment_Status__c": "fulfillment_status",
        "Connector_Payment_Status__c": "financial_status",
        "Connector_Store__c": "store",
        "ShippingCity": "shipping_city",
        "ShippingState": "shipping_region",
        "ShippingCountry": "shipping_country",
        "Connector_Channel__c": "channel",
    },
    # an order's lines as its OrderItems (`lines` of its view); Product2 and PricebookEntry
    # are the writer's, from the line's SKU and title
    "line_items": {
        "Connector_Line_Id__c": "id",
        "Quantity": "quantity",
        "UnitPrice": "price",
        "Description": "title",
    },
}
STANDARD_NUMBERS = {"Quantity": {"type": "Number"}, "UnitPrice": {"type": "Number"}}

_NUMBER: dict[str, Any] = {"type": "Number", "precision": 18, "scale": 2}
_TEXT: dict[str, Any] = {"type": "Text", "length": 255}
_LONG: dict[str, Any] = {"type": "LongTextArea", "length": 32768, "visibleLines": 3}
_WHEN: dict[str, Any] = {"type": "DateTime"}
_FLAG: dict[str, Any] = {"type": "Checkbox", "defaultValue": "false"}
_KEY: dict[str, Any] = {
    "type": "Text",
    "length": 64,
    "externalId": True,
    "unique": True,
    "caseSensitive": False,
}
_LONG_FIELDS = ("Prediction", "Stores", "Subscriptions")
_NUMBER_FIELDS = (
    "Predicted_Value", "Orders", "Spend", "Subtotal", "Tax", "Discounts", "Shipping", "Total", "Refunded"
)  # fmt: skip


def _metadata(name: str) -> dict[str, Any]:
    stem = name.removeprefix("Connector_").removesuffix("__c")
    if stem.endswith("_Id"):
        kind = _KEY
    elif stem.endswith("_At"):
        kind = _WHEN
    elif stem in ("Advocate", "Inactive"):
        kind = _FLAG
    elif stem in _NUMBER_FIELDS:
        kind = _NUMBER
    else:
        kind = _LONG if stem in _LONG_FIELDS else _TEXT
    return {**kind, "label": stem.replace("_", " ") + " (connector)"}


# the fields Salesforce does not have until the connector makes them: object → name → Tooling Metadata
CUSTOM: dict[str, dict[str, dict[str, Any]]] = {
    SOBJECT[obj]: {name: _metadata(name) for name in fields if name.startswith("Connector_")}
    for obj, fields in DEFAULT_MAPPING.items()
}
CUSTOM["Account"] = {ACCOUNT_ID_FIELD: _metadata(ACCOUNT_ID_FIELD)}
CUSTOM["Product2"] = {PRODUCT_ID_FIELD: _metadata(PRODUCT_ID_FIELD)}


def values(obj: str, fields: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """The Salesforce field values of one record, from its connector fields."""
    out = {
        crm: value if plain and value.__class__ is str and value else as_value(value, kind, crm)
        for crm, ours, kind, plain in _typed(obj, tuple(mapping.items()))
        for value in (fields.get(ours),)
    }
    if obj == "contacts" and "LastName" in out and not out["LastName"]:
        out["LastName"] = NOT_PROVIDED
    if obj == "orders":
        out["Status"] = ORDER_STATUS
    return out


@functools.lru_cache(maxsize=64)
def _typed(obj: str, mapping: tuple[tuple[str, str], ...]) -> list[tuple[str, str, str, bool]]:
    """Each mapped field with its custom type, looked up once per mapping, not once per record,
    and whether a non-empty text goes as it is (as_value's answer for one, but for these types)."""
    types = CUSTOM[SOBJECT[obj]] | STANDARD_NUMBERS
    kinds = [(crm, ours, str(types.get(crm, {}).get("type", ""))) for crm, ours in mapping]
    return [(crm, ours, kind, kind not in ("Checkbox", "Number")) for crm, ours, kind in kinds]


def current_lines(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """An order's lines as it stands: those still bought (a line refunded or edited away to
    quantity 0 is not one), each titled (its title, else its SKU), priced (none: 0) and with its
    product's key."""
    out = []
    for line in fields.get("lines") or []:
        if (line.get("quantity") or 0) <= 0 or line.get("id") is None:
            continue
        title = (str(line.get("title") or "").strip() or str(line.get("sku") or "") or NO_TITLE)[:255]
        price = line.get("price") if line.get("price") is not None else Decimal(0)  # UnitPrice is required
        out.append({**line, "title": title, "price": price, "product": product_key(line, title)})
    return out


def product_key(line: dict[str, Any], title: str) -> str:
    """A line's Product2 external id: its SKU, else its title (one too long for the field's 64
    characters is kept as its digest)."""
    sku = str(line.get("sku") or "").strip()
    key = f"sku:{sku.lower()}" if sku else f"title:{title.lower()}"
    return key if len(key) <= 64 else key[:5] + hashlib.sha256(key.encode()).hexdigest()[:40]


def product(line: dict[str, Any]) -> dict[str, Any]:
    """The Product2 a line names (made active, so its price book entry can be used)."""
    code = {"ProductCode": str(line["sku"])[:255]} if line.get("sku") else {}
    return {PRODUCT_ID_FIELD: line["product"], "Name": line["title"], "IsActive": True} | code


def account_name(fields: dict[str, Any]) -> str:
    """The person's Account is named for them (Salesforce requires a Name)."""
    named = " ".join(str(p) for p in (fields.get("first_name"), fields.get("last_name")) if p)
    return (named or str(fields.get("email") or "") or f"Customer {fields.get('id')}")[:255]


def as_value(value: Any, custom_type: str, crm_field: str = "") -> Any:
    if value is None or value == [] or value == "":
        return None
    if custom_type == "Checkbox" or isinstance(value, bool):
        return bool(value)
    if custom_type == "Number":
        return float(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        if crm_field == "EffectiveDate":
            return moment.astimezone(UTC).date().isoformat()
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, (list, tuple)):
        return ("\n" if crm_field == "Description" else ";").join(str(v) for v in value)
    return str(value)
