"""The OpenAPI 3 document's vocabulary: the JSON Schema building blocks (nullable kinds,
objects whose every property is required, lists and pages) and the named components every
answer of `/api/v1` is described by (`SCHEMAS`); the paths are in `openapi`.
"""

from __future__ import annotations

from typing import Any

import platforms
from platforms.base import CHANNELS


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


STR, INT, NUM, BOOL = ({"type": t} for t in ("string", "integer", "number", "boolean"))
NSTR, NINT, NNUM = nullable("string"), nullable("integer"), nullable("number")
ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
WINDOW_DAYS = {"type": "integer", "minimum": 1, "maximum": 365}


def object_of(props: dict[str, Any], required: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = list(props)
    return out


def list_of(item: dict[str, Any], paged: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {"items": {"type": "array", "items": item}}
    if paged:
        props["next_cursor"] = NSTR
    return object_of(props)


SCHEMAS: dict[str, Any] = {
    "Error": object_of({"status": INT, "message": STR}),
    "Progress": {
        "type": ["object", "null"],
        "properties": {"phase": STR, "done": INT, "total": NINT, "rate_per_s": NNUM, "eta_s": NINT},
    },
    "EntityState": object_of(
        {
            "count": INT,
            "state": STR,
            "activity": STR,
            "last_synced_at": NSTR,
            "last_error": NSTR,
            "progress": ref("Progress"),
        }
    ),
    "Health": object_of(
        {
            "state": {"enum": ["active", "syncing", "needs_attention", "needs_reconnect"]},
            "label": STR,
            "reason": NSTR,
        }
    ),
    "Store": object_of(
        {
            "id": INT,
            "platform": {"type": "string", "enum": list(platforms.names())},
            "domain": STR,
            "name": NSTR,  # what the store calls itself (null: not said; show the domain)
            "locale": NSTR,
            "time_zone": NSTR,  # IANA; null: CONNECTOR_TIME_ZONE stands in
            "account": STR,
            "status": STR,
            "health": ref("Health"),
            "entities": {"type": "object", "additionalProperties": ref("EntityState")},
        }
    ),
    "WebhookHealth": {
        "type": "object",
        "required": ["store_id", "ok"],
        "properties": {"store_id": INT, "ok": BOOL},
    },
    "ContactSummary": object_of(
        {
            "id": INT,
            "email": NSTR,
            "phone": NSTR,
            "first_name": NSTR,
            "last_name": NSTR,
            "orders": INT,
            "spend": {"type": "object", "additionalProperties": STR},
            "segment": NSTR,
            "segments": {"type": "array", "items": STR},
            "advocate": BOOL,
            "inactive": BOOL,
            "last_order_at": NSTR,
        }
    ),
    "Shipment": object_of(
        {
            "status": NSTR,
            "carrier": NSTR,
            "tracking_number": NSTR,
            "tracking_url": NSTR,
            "shipped_at": NSTR,
            "delivered_at": NSTR,
        }
    ),
    "Contact360": object_of(
        {
            "id": INT,
            "email": NSTR,
            "phone": NSTR,
            "first_name": NSTR,
            "last_name": NSTR,
            "merged_from": {"type": "array", "items": INT},
            "platform_customers": {"type": "array", "items": {"type": "object"}},
            "consent": {"type": "object", "additionalProperties": STR},
            "consent_history": {
                "type": "array",
                "items": object_of({"channel": STR, "state": STR, "source": STR, "occurred_at": STR}),
            },
            "orders": {
                "type": "array",
                "items": object_of(
                    {
                        "id": INT,
                        "store_id": INT,
                        "store": NSTR,
                        "name": NSTR,
                        "created_at": NSTR,
                        "total": NSTR,
                        "currency": NSTR,
                        "channel": NSTR,
                        "financial_status": NSTR,
                        "fulfillment_status": NSTR,
                        "shipments": {"type": "array", "items": ref("Shipment")},
                    }
                ),
            },
            "subscriptions": {"type": "array", "items": {"type": "object"}},
            "insights": {
                "type": "array",
                "items": {"type": "object", "required": ["store_id", "orders", "spend"]},
            },
        }
    ),
    "Order": {
        "type": "object",
        "required": ["id", "store_id", "platform_id", "total_price", "channel"],
        "properties": {
            "id": INT,
            "store_id": INT,
            "platform_id": INT,
            "total_price": NSTR,
            "channel": NSTR,
            "currency": NSTR,
        },
    },
    "OrderDetail": {
        "allOf": [
            ref("Order"),
            {
                "type": "object",
                "required": ["line_items", "shipments"],
                "properties": {
                    "line_items": {"type": "array", "items": {"type": "object"}},
                    "shipments": {"type": "array", "items": ref("Shipment")},
                },
            },
        ]
    },
    "Product": object_of(
        {
            "id": INT,
            "platform_id": INT,
            "title": NSTR,
            "vendor": NSTR,
            "product_type": NSTR,
            "status": NSTR,
            "stock": NINT,
            "units_sold": INT,
            "cover_days": NNUM,
            "low_stock": BOOL,
        }
    ),
    "ChannelRow": object_of(
        {
            "channel": {"type": "string", "enum": list(CHANNELS)},
            "currency": NSTR,
            "orders": INT,
            "revenue": STR,
            "revenue_share": NUM,
            "customers": INT,
            "new_customers": INT,
            "repeat_rate": NNUM,
            "average_order_value": NSTR,
            "conversion": NNUM,
            "credit": NUM,
        }
    ),
    "ChannelReport": object_of(
        {
            "since": STR,
            "until": STR,
            "credit_formula": STR,
            "channels": {"type": "array", "items": ref("ChannelRow")},
        }
    ),
    "RegionSales": object_of(
        {
            "since": STR,
            "until": STR,
            "period": STR,
            "rows": {
                "type": "array",
                "items": object_of(
                    {
                        "store_id": INT,
                        "product_id": NINT,
                        "title": NSTR,
                        "country": NSTR,
                        "region": NSTR,
                        "period": STR,
                        "currency": NSTR,
                        "units": INT,
                        "revenue": STR,
                    }
                ),
            },
        }
    ),
    "Segment": object_of({"store_id": INT, "segment": STR, "contacts": INT, "spend": STR, "currency": NSTR}),
    "Reengage": object_of(
        {"contact_id": INT, "store_id": INT, "reason": STR, "recovery_url": NSTR, "email": NSTR}
    ),
    "DeadLetter": object_of(
        {
            "id": INT,
            "store_id": NINT,
            "kind": STR,
            "entity": NSTR,
            "platform_id": NINT,
            "reason": STR,
            "attempts": INT,
            "created_at": STR,
        }
    ),
    "RetryResult": object_of({"id": INT, "outcome": STR}),
}
