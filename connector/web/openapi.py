"""The OpenAPI 3 document of `/api/v1`, served at `/api/v1/openapi.json`. The test suite
runs schemathesis over it against the real app, so an answer that strays from it fails.
"""

from __future__ import annotations

from typing import Any

import platforms
from connector.crm.insights import SEGMENTS
from platforms.base import CHANNELS


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


STR, INT, NUM, BOOL = ({"type": t} for t in ("string", "integer", "number", "boolean"))
NSTR, NINT, NNUM = _nullable("string"), _nullable("integer"), _nullable("number")
ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
WINDOW_DAYS = {"type": "integer", "minimum": 1, "maximum": 365}


def _object(props: dict[str, Any], required: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = list(props)
    return out


def _list(item: dict[str, Any], paged: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {"items": {"type": "array", "items": item}}
    if paged:
        props["next_cursor"] = NSTR
    return _object(props)


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": {"description": "bad parameter (named in the message)", **_json(_ref("Error"))},
    "401": {"description": "missing or invalid token", **_json(_ref("Error"))},
    "404": {"description": "no such record in this account", **_json(_ref("Error"))},
}
UNREACHABLE = {"502": {"description": "platform unreachable", **_json(_ref("Error"))}}
PAGE = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "page size (default 50)"),
    _query("cursor", {"type": "string", "pattern": "^[0-9]{1,18}$"}, "the next_cursor of the previous page"),
]
DATE = {"type": "string", "format": "date"}
SINCE = "start (ISO 8601, 1970-01-01 to 9000-01-01), default {} days before until"
UNTIL = _query("until", DATE, "end (ISO 8601, excluded, 1970-01-01 to 9000-01-01), default now")
CHANNEL_RANGE = [_query("since", DATE, SINCE.format(365)), UNTIL]  # queries.reports.CHANNEL_DAYS
SALES_RANGE = [_query("since", DATE, SINCE.format(90)), UNTIL]
TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}  # NUL is answered 400: no database holds it
TRUE_FALSE = {"type": "string", "enum": ["true", "false"]}


def _get(
    summary: str, ok: dict[str, Any], params: list[dict[str, Any]] | None = None, **more: Any
) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": params or [],
            "responses": {"200": {"description": "OK", **ok}, **ERRORS},
            **more,
        }
    }


def _post(summary: str, ok: dict[str, Any], params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": params or [],
            "responses": {"200": {"description": "OK", **ok}, **ERRORS, **UNREACHABLE},
        }
    }


SCHEMAS: dict[str, Any] = {
    "Error": _object({"status": INT, "message": STR}),
    "Progress": {
        "type": ["object", "null"],
        "properties": {"phase": STR, "done": INT, "total": NINT, "rate_per_s": NNUM, "eta_s": NINT},
    },
    "EntityState": _object(
        {"count": INT, "state": STR, "last_synced_at": NSTR, "last_error": NSTR, "progress": _ref("Progress")}
    ),
    "Store": _object(
        {
            "id": INT,
            "platform": {"type": "string", "enum": list(platforms.names())},
            "domain": STR,
            "account": STR,
            "status": STR,
            "entities": {"type": "object", "additionalProperties": _ref("EntityState")},
        }
    ),
    "WebhookHealth": {
        "type": "object",
        "required": ["store_id", "ok"],
        "properties": {"store_id": INT, "ok": BOOL},
    },
    "ContactSummary": _object(
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
    "Shipment": _object(
        {
            "status": NSTR,
            "carrier": NSTR,
            "tracking_number": NSTR,
            "tracking_url": NSTR,
            "shipped_at": NSTR,
            "delivered_at": NSTR,
        }
    ),
    "Contact360": _object(
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
                "items": _object({"channel": STR, "state": STR, "source": STR, "occurred_at": STR}),
            },
            "orders": {
                "type": "array",
                "items": _object(
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
                        "shipments": {"type": "array", "items": _ref("Shipment")},
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
            _ref("Order"),
            {
                "type": "object",
                "required": ["line_items", "shipments"],
                "properties": {
                    "line_items": {"type": "array", "items": {"type": "object"}},
                    "shipments": {"type": "array", "items": _ref("Shipment")},
                },
            },
        ]
    },
    "Product": _object(
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
    "ChannelRow": _object(
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
    "ChannelReport": _object(
        {
            "since": STR,
            "until": STR,
            "credit_formula": STR,
            "channels": {"type": "array", "items": _ref("ChannelRow")},
        }
    ),
    "RegionSales": _object(
        {
            "since": STR,
            "until": STR,
            "period": STR,
            "rows": {
                "type": "array",
                "items": _object(
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
    "Segment": _object({"store_id": INT, "segment": STR, "contacts": INT, "spend": STR}),
    "Reengage": _object(
        {"contact_id": INT, "store_id": INT, "reason": STR, "recovery_url": NSTR, "email": NSTR}
    ),
    "DeadLetter": _object(
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
    "RetryResult": _object({"id": INT, "outcome": STR}),
}


def document(server_url: str = "/") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "crm-connector API",
            "version": "1.0.0",
            "description": "Per-account CRM data; every request needs `Authorization: Bearer crm_…`.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {**_store_paths(), **_contact_paths(), **_report_paths(), **_dead_letter_paths()},
    }


def _store_paths() -> dict[str, Any]:
    return {
        "/api/v1/stores": _get(
            "Stores with sync state and progress",
            _json(_object({"stores": {"type": "array", "items": _ref("Store")}})),
        ),
        "/api/v1/stores/{store_id}": _get("One store", _json(_ref("Store")), [_path_id("store_id")]),
        "/api/v1/stores/{store_id}/webhooks": _get(
            "Webhook health: what the platform has against what is needed",
            _json(_ref("WebhookHealth")),
            [_path_id("store_id")],
            responses={"200": {"description": "OK", **_json(_ref("WebhookHealth"))}, **ERRORS, **UNREACHABLE},
        ),
        "/api/v1/stores/{store_id}/webhooks/repair": _post(
            "Create missing subscriptions, replace disabled ones",
            _json(_ref("WebhookHealth")),
            [_path_id("store_id")],
        ),
    }


def _contact_paths() -> dict[str, Any]:
    """Contacts, then orders (the order of the paths is the document's)."""
    contact_filters = [
        _query("q", TEXT, "name, e-mail or phone contains (no NUL character)"),
        _query("segment", {"type": "string", "enum": [n for n, _r in SEGMENTS]}, "RFM segment"),
        _query("advocate", TRUE_FALSE, "brand advocates (or not)"),
        _query("inactive", TRUE_FALSE, "no order within the inactivity window (or not)"),
        _query("channel", {"type": "string", "enum": list(CHANNELS)}, "bought through this channel"),
        _query("subscribed", TRUE_FALSE, "has a confirmed product subscription (or not)"),
        _query("across_stores", TRUE_FALSE, "has records in two or more of the account's stores (or not)"),
        _query("format", {"type": "string", "enum": ["json", "csv"]}, "csv: the whole filtered list as CSV"),
    ]
    csv_or_json = {
        "content": {
            "application/json": {"schema": _list(_ref("ContactSummary"), paged=True)},
            "text/csv": {"schema": STR},
        }
    }
    return {
        "/api/v1/contacts": _get(
            "Contacts (search, filters, cursor pages, CSV)", csv_or_json, [*contact_filters, *PAGE]
        ),
        "/api/v1/contacts/{contact_id}": _get(
            "A contact's 360° view", _json(_ref("Contact360")), [_path_id("contact_id")]
        ),
        "/api/v1/orders": _get(
            "Orders, by id",
            _json(_list(_ref("Order"), paged=True)),
            [_query("store_id", ID, "only this store"), *PAGE],
        ),
        "/api/v1/orders/{order_id}": _get(
            "An order with line items and tracking", _json(_ref("OrderDetail")), [_path_id("order_id")]
        ),
    }


def _report_paths() -> dict[str, Any]:
    return {
        "/api/v1/products": _get(
            "A store's products with inventory cover",
            _json(_list(_ref("Product"))),
            [
                {"name": "store_id", "in": "query", "required": True, "schema": ID},
                _query("window_days", WINDOW_DAYS, "sales window for cover"),
            ],
        ),
        "/api/v1/reports/channels": _get("The channel report", _json(_ref("ChannelReport")), CHANNEL_RANGE),
        "/api/v1/reports/sales-by-region": _get(
            "Units and revenue per product per region per period",
            _json(_ref("RegionSales")),
            [*SALES_RANGE, _query("period", {"type": "string", "enum": ["day", "week", "month"]}, "bucket")],
        ),
        "/api/v1/segments": _get("Contacts and spend per RFM segment", _json(_list(_ref("Segment")))),
        "/api/v1/reengagement": _get(
            "People to re-engage (with consent), each with the reason", _json(_list(_ref("Reengage")))
        ),
    }


def _dead_letter_paths() -> dict[str, Any]:
    return {
        "/api/v1/dead-letters": _get(
            "Open dead letters, with plain-language reasons", _json(_list(_ref("DeadLetter")))
        ),
        "/api/v1/dead-letters/{letter_id}/retry": _post(
            "Retry one", _json(_ref("RetryResult")), [_path_id("letter_id")]
        ),
        "/api/v1/dead-letters/retry-all": _post("Retry every open one", _json(_list(_ref("RetryResult")))),
    }
